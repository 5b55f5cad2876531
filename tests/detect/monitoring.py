"""Hosts that touch many other hosts' ports all day on purpose, as Zeek logs them and as packets: monitoring
servers and load balancers, the same targets and ports probed again at a fixed interval (issue #4 precision).

- Nagios/Icinga ``check_tcp`` (connect, close, no data: SF) and ``check_ping`` (ICMP echo to every host every
  minute; hosts that are down never answer);
- Zabbix's server polling its agents (``agent.ping`` on tcp/10050, answered ``1``: SF);
- an SNMP poller (GetRequest to udp/161 of 40 switches and printers every 5 minutes; the ones switched off never
  answer);
- load balancers health-checking their backends: HAProxy's TCP check (connect, then close with RST: Zeek conn_state
  RSTO, history ShAR, no bytes), every 5 s on 12 web backends and every 30 s on 40 application backends.

Every cycle starts at a fixed phase with each target a few milliseconds after the one before (a poller's loop).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from iotwarden.lab.wire import Host, TcpStream, icmp_echo, udp_frame
from iotwarden.model import Flow
from tests.detect.labelled import write_conn_log
from tests.risk.harness import write_pcap

DURATION_S = 4500.0  # an hour and a quarter: past the slow scan's hour
T0 = 1_700_000_000.0


@dataclass(frozen=True)
class Check:
    """One check: ``kind`` tcp_close (SF, no data), tcp_data (SF with a request and an answer), tcp_rst (connect,
    then the checker's RST: RSTO), icmp or snmp; ``up`` False: the target is down and never answers."""

    kind: str
    src: str
    dst: str
    port: int
    t: float
    up: bool = True


def _cycles(kind: str, src: str, targets: list[str], port: int, every: float, *, down: frozenset[str] = frozenset(),
            phase: float = 0.0) -> list[Check]:
    out, t = [], T0 + phase
    while t < T0 + DURATION_S:
        out += [Check(kind, src, dst, port, t + i * 0.005, dst not in down) for i, dst in enumerate(targets)]
        t += every
    return out


def _hosts(net: str, n: int, first: int = 10) -> list[str]:
    return [f"{net}.{first + i}" for i in range(n)]


def nagios() -> list[Check]:
    """check_ping of 60 hosts (12 down) every minute, check_tcp of 50 hosts' SSH every 5 minutes."""
    pinged = _hosts("10.40.1", 60)
    return (_cycles("icmp", "10.40.0.5", pinged, 0, 60.0, down=frozenset(pinged[::5]), phase=1.0)
            + _cycles("tcp_close", "10.40.0.5", _hosts("10.40.2", 50), 22, 300.0, phase=7.0))


def zabbix() -> list[Check]:
    """The Zabbix server polling 40 agents (agent.ping) every minute."""
    return _cycles("tcp_data", "10.40.0.6", _hosts("10.40.3", 40), 10050, 60.0, phase=3.0)


def snmp_poller() -> list[Check]:
    """GetRequests to 40 switches and printers every 5 minutes, 12 of them switched off."""
    devices = _hosts("10.40.4", 40)
    return _cycles("snmp", "10.40.0.7", devices, 161, 300.0, down=frozenset(devices[:12]), phase=5.0)


def haproxy() -> list[Check]:
    """TCP checks closed with RST: 12 web backends on 8080 every 5 s, 40 application backends on 9000 every 30 s."""
    return (_cycles("tcp_rst", "10.40.0.8", _hosts("10.40.5", 12), 8080, 5.0, phase=0.5)
            + _cycles("tcp_rst", "10.40.0.8", _hosts("10.40.6", 40), 9000, 30.0, phase=2.0))


HOST_KINDS: dict[str, Callable[[], list[Check]]] = {"nagios": nagios, "zabbix": zabbix, "snmp_poller": snmp_poller,
                                                    "haproxy": haproxy}


def _flow(c: Check, sport: int) -> Flow:
    if c.kind == "icmp":  # Zeek: id.orig_p is the type (8, echo request), id.resp_p the code
        return Flow(0, 1, c.src, 8, c.dst, 0, c.t, c.t + (0.001 if c.up else 0.0), pkts_ab=1, pkts_ba=int(c.up),
                    bytes_ab=84, bytes_ba=84 * c.up, payload_ab=56, payload_ba=56 * c.up,
                    extra={"icmp_type": 8, "conn_state": "OTH"})
    if c.kind == "snmp":
        return Flow(0, 17, c.src, sport, c.dst, 161, c.t, c.t + (0.004 if c.up else 0.0), pkts_ab=1,
                    pkts_ba=int(c.up), bytes_ab=82, bytes_ba=120 * c.up, payload_ab=54, payload_ba=92 * c.up,
                    extra={"conn_state": "SF" if c.up else "S0"})
    data = c.kind == "tcp_data"
    state = "RSTO" if c.kind == "tcp_rst" else "SF"
    return Flow(0, 6, c.src, sport, c.dst, c.port, c.t, c.t + 0.003, pkts_ab=3 if state == "RSTO" else 5,
                pkts_ba=1 if state == "RSTO" else 4, bytes_ab=160, bytes_ba=120, payload_ab=23 if data else 0,
                payload_ba=14 if data else 0, tcp_flags_ab=0x16 if state == "RSTO" else 0x1B,
                tcp_flags_ba=0x12 if state == "RSTO" else 0x1B, extra={"conn_state": state})


def flows(checks: list[Check]) -> list[Flow]:
    """The checks as Zeek's conn.log records them, each connect from the checker's next ephemeral port."""
    return [_flow(c, 32768 + i % 28000) for i, c in enumerate(sorted(checks, key=lambda c: c.t))]


def conn_log(path: Path, checks: list[Check]) -> Path:
    return write_conn_log(path, flows(checks))


SNMP_GET = bytes.fromhex("302602010104067075626c6963a01902044c1e2f7a020100020100300b300906052b06010201050500")


def _frames(c: Check, sport: int, rng: random.Random, hosts: dict[str, Host]) -> list[tuple[float, bytes]]:
    def host(ip: str) -> Host:
        return hosts.setdefault(ip, Host("02:00:" + ":".join(f"{int(x):02x}" for x in ip.split(".")), ip))

    src, dst = host(c.src), host(c.dst)
    if c.kind == "icmp":
        out = [(c.t, icmp_echo(src, dst.mac, dst.ip, reply=False, ident=sport, seq=1, data=bytes(56)))]
        if c.up:
            out.append((c.t + 0.001, icmp_echo(dst, src.mac, src.ip, reply=True, ident=sport, seq=1, data=bytes(56))))
        return out
    if c.kind == "snmp":
        out = [(c.t, udp_frame(src, dst.mac, dst.ip, SNMP_GET, sport=sport, dport=161))]
        if c.up:
            out.append((c.t + 0.004, udp_frame(dst, src.mac, src.ip, SNMP_GET[:-2] + b"\x04\x00", sport=161,
                                               dport=sport)))
        return out
    conn = TcpStream(rng, src, sport, dst, c.port, rtt=0.001)
    if c.kind == "tcp_rst":  # HAProxy: connect, then close with SO_LINGER 0
        return conn.handshake(c.t) + conn.reset(conn.t + 0.0005)
    if c.kind == "tcp_data":
        return conn.session(c.t, [(True, b"ZBXD\x01\x0a\x00\x00\x00\x00\x00\x00\x00agent.ping"), (False, b"1")])
    return conn.handshake(c.t) + conn.close(conn.t + 0.0005)


def pcap(path: Path, checks: list[Check], seed: int = 1) -> Path:
    rng, hosts = random.Random(seed), dict[str, Host]()
    frames = [fr for i, c in enumerate(sorted(checks, key=lambda c: c.t))
              for fr in _frames(c, 32768 + i % 28000, rng, hosts)]
    return write_pcap(path, frames)  # in time order
