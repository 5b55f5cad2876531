"""risk.firmware.outdated: banners naming software older than the data file's thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.risk.checks.firmware_outdated import FirmwareOutdated
from tests.conftest import shared
from tests.risk.checks.test_cleartext_ftp import ftp_capture
from tests.risk.harness import analyse, found

ID = "risk.firmware.outdated"


def test_real_ssh_server_banner_below_the_openssh_threshold() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "ssh-banner-only", "input.pcap"))
    (finding,) = found(ctx, ID).values()
    assert finding.evidence["software"][0].startswith("OpenSSH ")
    assert finding.evidence["fixed_in"] == ["OpenSSH 7.8"]
    assert "CVE-2018-15473" in finding.evidence["advisories"]


def test_ftp_greeting_of_an_old_proftpd(tmp_path: Path) -> None:
    ctx, _ = analyse(ftp_capture(tmp_path / "ftp.pcap", "u", "p", greeting=b"220 ProFTPD 1.3.5 Server (Debian)\r\n"))
    finding = found(ctx, ID)["mac:02:00:00:00:00:15"]
    assert finding.evidence["software"] == ["ProFTPD 1.3.5"]
    assert finding.severity == "high"


@pytest.mark.parametrize(("proto", "kind", "fields", "software"), [
    ("telnet", "banner", {"banner": "BusyBox v1.19.4 (2013-03-12) built-in shell (ash)"}, "BusyBox 1.19.4"),
    ("http", "response", {"server": "Boa/0.94.14rc21"}, "Boa 0.94.14"),
    ("http", "response", {"server": "lighttpd/1.4.35"}, "lighttpd 1.4.35"),
    ("ssh", "banner", {"role": "server", "software": "dropbear_2014.63"}, "Dropbear 2014.63"),
    ("ssdp", "notify", {"server": "Linux/2.6 UPnP/1.0 Portable SDK for UPnP devices/1.6.6"},
     "libupnp (Portable SDK for UPnP devices) 1.6.6"),
])
def test_each_listed_product_is_recognised(proto: str, kind: str, fields: dict[str, str], software: str) -> None:
    check = FirmwareOutdated()
    check.on_observation(Context(), Observation(ts=1.0, proto=proto, kind=kind, src_ip="10.0.0.2", fields=fields))
    assert check.hits[(None, "10.0.0.2")].facts["software"] == {software}


@pytest.mark.parametrize(("proto", "kind", "fields"), [
    ("ssh", "banner", {"role": "server", "software": "OpenSSH_9.6p1"}),
    ("ssh", "banner", {"role": "client", "software": "OpenSSH_5.3"}),  # client banners are not listed sources
    ("http", "response", {"server": "lighttpd/1.4.73"}),
    ("http", "response", {"server": "nginx"}),
])
def test_current_or_unlisted_software_is_fine(proto: str, kind: str, fields: dict[str, str]) -> None:
    check = FirmwareOutdated()
    check.on_observation(Context(), Observation(ts=1.0, proto=proto, kind=kind, src_ip="10.0.0.2", fields=fields))
    assert check.hits == {}


def test_a_repeated_banner_counts_every_time_and_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each distinct banner is searched once; every sighting still counts, and a full memo starts again."""
    from iotwarden.risk.checks import firmware_outdated

    check = FirmwareOutdated()
    banner = {"server": "Boa/0.94.14rc21"}
    for ts in (1.0, 2.0, 3.0):
        check.on_observation(Context(), Observation(ts=ts, proto="http", kind="response", src_ip="10.0.0.2",
                                                    fields=banner))
    hit = check.hits[(None, "10.0.0.2")]
    assert hit.facts["software"] == {"Boa 0.94.14"} and hit.count == 3
    monkeypatch.setattr(firmware_outdated, "MAX_BANNER_MEMO", 2)
    for n in range(5):
        check.on_observation(Context(), Observation(ts=4.0 + n, proto="http", kind="response", src_ip="10.0.0.3",
                                                    fields={"server": f"lighttpd/1.4.{30 + n}"}))
        assert len(check._found) <= 2
    assert check.hits[(None, "10.0.0.3")].facts["software"] == {f"lighttpd 1.4.{30 + n}" for n in range(5)}


def test_lab_servers_run_current_software() -> None:
    # the lab's OpenSSH_8.9p1 and libupnp 1.14.0 are above their thresholds
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "sip-ssdp-pm", "ssdp.pcap"))  # MiniUPnPd/1.6 >= 1.4
    assert found(ctx, ID) == {}
