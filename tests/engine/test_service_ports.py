"""engine/service_ports.py: named service ports, checked against the system's services database (Debian netbase's
/etc/services, a subset of the IANA registry) where it names the port, and the table's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.engine import service_ports

SERVICES = Path("/etc/services")
DYNAMIC_START = 49152  # RFC 6335 §6
# netbase spells a few IANA service names differently: port -> netbase's name
NETBASE_NAMES = {("tcp", 5061): "sip-tls"}


def netbase() -> dict[tuple[str, int], set[str]]:
    names: dict[tuple[str, int], set[str]] = {}
    for line in SERVICES.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2 or "/" not in words[1]:
            continue
        port, proto = words[1].split("/", 1)
        names.setdefault((proto, int(port)), set()).update(w.lower() for w in (words[0], *words[2:]))
    return names


@pytest.mark.skipif(not SERVICES.exists(), reason="no /etc/services here (Debian: apt-get install netbase)")
def test_names_agree_with_the_services_database_where_it_has_the_port() -> None:
    known = netbase()
    checked = 0
    for proto, table in (("tcp", service_ports.TCP), ("udp", service_ports.UDP)):
        for port, name in table.items():
            names = known.get((proto, port))
            if names is None:
                continue
            checked += 1
            assert NETBASE_NAMES.get((proto, port), name).lower() in names, (proto, port, name, names)
    assert checked >= 60


def test_no_dynamic_port_and_no_common_client_source_port() -> None:
    for table in (service_ports.TCP, service_ports.UDP):
        assert all(0 < p < DYNAMIC_START for p in table)
        assert all(isinstance(n, str) and n for n in table.values())
    # ftp-data (the server's own source port of an active data connection) and bootpc (a DHCP client's)
    assert 20 not in service_ports.TCP and 68 not in service_ports.UDP
