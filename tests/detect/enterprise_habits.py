"""Benign enterprise habits that touch many hosts on one port, as Zeek logs them: what the slow scan (~30 hosts on one
port in an hour, detect/scan.py) and the fast one (10 hosts in a minute) might take for a scan (issue #4 precision).

- ``smb_browsing``: a help-desk Windows workstation opening shares on 15 file servers (each now and then) and on 60
  colleagues' workstations (once each: ``\\\\PC\\c$``) over the hour and a quarter. The SMB client tries direct-hosted
  SMB (tcp/445) and NetBIOS (tcp/139) at once and keeps the first to answer (Microsoft, "Direct hosting of SMB over
  TCP/IP"): the 139 connection it completed is reset (Zeek RSTO). 45% of the workstations never answer (Windows
  Defender Firewall drops inbound File and Printer Sharing where it is off; laptops gone home): both SYNs unanswered,
  each retransmitted twice (Windows' TcpMaxConnectRetransmissions 2: Zeek S0, three packets).
- ``blocked_cloud``: two clients of a cloud service whose addresses the enterprise firewall drops (tcp/443), each
  retrying all hour. One races the addresses of each DNS answer 250 ms apart (RFC 8305 §5, Happy Eyeballs v2's
  Connection Attempt Delay), eight a answer (as an AWS load balancer answers) out of a pool of 32 a short TTL rotates
  through, its retries backing off from 2 s to a 60 s cap; the other tries each address in turn, 21 s a connect
  (three SYNs), and retries every minute.
- ``wsd_discovery``: a workstation opening "Add a printer" / the Network folder four times in the hour: WS-Discovery
  Probe to 239.255.255.250:3702 (WS-Discovery 1.1 §5.2), the ProbeMatches of 25 printers and PCs (unicast from their
  3702), each one's metadata fetched over HTTP (WSDAPI tcp/5357 on PCs, the printer's own port 80); SNMP's
  broadcast GetRequest (udp/161 to 255.255.255.255), answered by the printers; and the print queues it already knows
  tried again on 9100 (two of its eight printers switched off: S0).
- ``inventory_agent``: an asset-inventory agent on a workstation probing the devices it has seen on its segment
  (Microsoft Defender for Endpoint's standard device discovery works this way: active probes of observed devices, spread
  over time): 40 neighbours, each once in the hour on tcp/22, 80, 135, 443, 445, 3389 and udp/161, six seconds
  apart; closed ports refuse (REJ), a switched-off neighbour (one in eight) answers nothing (S0). The ports probed and
  the pace are this module's choice, not measured from the product.

Every flow is what a site's sensor logs; nothing here is labelled malicious: any scan alert is a false one. The Zeek
folder holds the dhcp.log of the Windows workstations too (:data:`WINDOWS_HOSTS`): each starts its day within the
capture, its DHCP client asking for its remembered lease (INIT-REBOOT, RFC 2131 §3.2) with the vendor class 'MSFT 5.0'
([MS-DHCPE] §1.8) and its host name, as the lab's Windows hosts send (lab/profiles.py; Zeek logs no parameter
request list); a conn.log alone names no host.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from iotwarden.lab.proto_net import CLASS_IN, TYPE_A, dns_message, rdata_a
from iotwarden.lab.wire import Host, tcp_segment, udp_frame
from iotwarden.model import Flow
from tests.detect.labelled import write_conn_log
from tests.risk.harness import write_pcap

# the workstation running each habit (a Windows PC), whose DHCP the Zeek form logs
WINDOWS_HOSTS = {"smb_browsing": ("10.50.0.21", "HD-PC021"), "wsd_discovery": ("10.50.0.41", "PC-041"),
                 "inventory_agent": ("10.50.0.51", "IT-INV051")}
DURATION_S = 4500.0  # an hour and a quarter: past the slow scan's hour
T0 = 1_700_000_000.0
RESOLVER = "10.50.0.2"  # the site's DNS server
GATEWAY_MAC = "02:00:0a:32:00:01"


@dataclass(frozen=True)
class Lookup:
    """A client's A query and its answer (a dns.log record)."""

    t: float
    client: str
    sport: int
    name: str
    answers: tuple[str, ...]


class _Ports:
    """A client's ephemeral ports in turn (Windows' dynamic range 49152-65535)."""

    def __init__(self) -> None:
        self.next = 49152

    def __call__(self) -> int:
        self.next = 49152 + (self.next - 49152 + 1) % 16384
        return self.next


def _tcp(src: str, sport: int, dst: str, port: int, t: float, *, state: str, data: tuple[int, int] = (0, 0),
         duration: float = 0.0) -> Flow:
    """A TCP connection as Zeek logs it: S0 (a SYN and two retransmissions, unanswered), REJ (refused), RSTO (the
    client completed the handshake, then reset it: no bytes) or SF (a session carrying ``data``)."""
    if state == "S0":
        return Flow(0, 6, src, sport, dst, port, t, t + 9.0, pkts_ab=3, bytes_ab=156, tcp_flags_ab=0x02,
                    extra={"conn_state": "S0"})
    if state == "REJ":
        return Flow(0, 6, src, sport, dst, port, t, t + 0.001, pkts_ab=1, pkts_ba=1, bytes_ab=52, bytes_ba=40,
                    tcp_flags_ab=0x02, tcp_flags_ba=0x14, extra={"conn_state": "REJ"})
    if state == "RSTO":
        return Flow(0, 6, src, sport, dst, port, t, t + 0.002, pkts_ab=3, pkts_ba=1, bytes_ab=132, bytes_ba=52,
                    tcp_flags_ab=0x16, tcp_flags_ba=0x12, extra={"conn_state": "RSTO"})
    pkts = (4 + data[0] // 1200, 3 + data[1] // 1400)
    return Flow(0, 6, src, sport, dst, port, t, t + duration, pkts_ab=pkts[0], pkts_ba=pkts[1],
                bytes_ab=data[0] + 40 * pkts[0], bytes_ba=data[1] + 40 * pkts[1], payload_ab=data[0],
                payload_ba=data[1], tcp_flags_ab=0x1B, tcp_flags_ba=0x1B, extra={"conn_state": "SF"})


def _udp(src: str, sport: int, dst: str, port: int, t: float, *, data: tuple[int, int]) -> Flow:
    answered = data[1] > 0
    return Flow(0, 17, src, sport, dst, port, t, t + (0.01 if answered else 0.0), pkts_ab=1, pkts_ba=int(answered),
                bytes_ab=data[0] + 28, bytes_ba=(data[1] + 28) * answered, payload_ab=data[0], payload_ba=data[1],
                extra={"conn_state": "SF" if answered else "S0"})


def smb_browsing(rng: random.Random) -> list[Flow]:
    src, ports, out = "10.50.0.21", _Ports(), []
    visits = [(f"10.50.1.{10 + i}", True) for i in range(15) for _ in range(rng.randint(1, 4))]
    visits += [(f"10.50.2.{10 + i}", rng.random() >= 0.45) for i in range(60)]
    for dst, up in visits:
        t = T0 + rng.uniform(0, DURATION_S - 60)
        if up:  # 445 answers and carries the session; the 139 connection, answered too, is reset
            out.append(_tcp(src, ports(), dst, 445, t, state="SF", duration=rng.uniform(5, 300),
                            data=(rng.randint(3_000, 60_000), rng.randint(5_000, 900_000))))
            out.append(_tcp(src, ports(), dst, 139, t + 0.0005, state="RSTO"))
        else:
            out += [_tcp(src, ports(), dst, 445, t, state="S0"), _tcp(src, ports(), dst, 139, t + 0.0005, state="S0")]
    return out


def blocked_cloud(rng: random.Random) -> list[Flow]:
    return [f for f in _blocked_cloud(rng) if isinstance(f, Flow)]


def _blocked_cloud(rng: random.Random) -> list[Flow | Lookup]:
    pool = [f"52.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(32)]
    out: list[Flow | Lookup] = []
    racer, ports, t, wait = "10.50.0.31", _Ports(), T0 + rng.uniform(0, 30), 2.0
    while t < T0 + DURATION_S:
        answer = rng.sample(pool, 8)
        out.append(Lookup(t - 0.02, racer, ports(), "sync.cloud.example", tuple(answer)))
        out += [_tcp(racer, ports(), dst, 443, t + i * 0.25, state="S0") for i, dst in enumerate(answer)]
        t += 9.0 + wait * rng.uniform(0.8, 1.2)  # every attempt gave up: back off
        wait = min(wait * 2, 60.0)
    serial, ports, t = "10.50.0.32", _Ports(), T0 + rng.uniform(0, 30)
    while t < T0 + DURATION_S:
        answer = rng.sample(pool, 8)
        out.append(Lookup(t - 0.02, serial, ports(), "sync.cloud.example", tuple(answer)))
        out += [_tcp(serial, ports(), dst, 443, t + i * 21.0, state="S0") for i, dst in enumerate(answer)]
        t += 8 * 21.0 + 60.0
    return out


def wsd_discovery(rng: random.Random) -> list[Flow]:
    src, ports, out = "10.50.0.41", _Ports(), []
    devices = [(f"10.50.3.{10 + i}", i < 10) for i in range(25)]  # (address, a printer): 10 printers, 15 PCs
    queues = [f"10.50.3.{10 + i}" for i in range(8)]
    for k in range(4):
        t = T0 + 300.0 + k * 1000.0 + rng.uniform(0, 200)
        probe_port = ports()
        out.append(_udp(src, probe_port, "239.255.255.250", 3702, t, data=(700, 0)))  # the multicast Probe
        for dst, printer in devices:
            at = t + rng.uniform(0.01, 0.5)
            out.append(_udp(dst, 3702, src, probe_port, at, data=(1200, 0)))  # its ProbeMatches, unicast to the asker
            port = 80 if printer else 5357
            out.append(_tcp(src, ports(), dst, port, at + 0.2, state="SF", data=(600, 4000), duration=0.1))
        snmp = ports()
        out.append(_udp(src, snmp, "255.255.255.255", 161, t + 1.0, data=(50, 0)))
        out += [_udp(dst, 161, src, snmp, t + 1.01, data=(120, 0)) for dst, printer in devices if printer]
        for i, dst in enumerate(queues):  # the known queues tried again; two printers switched off
            out.append(_tcp(src, ports(), dst, 9100, t + 2.0 + i * 0.1, state="S0" if i < 2 else "RSTO"))
    return out


def inventory_agent(rng: random.Random) -> list[Flow]:
    src, ports, out = "10.50.0.51", _Ports(), []
    neighbours = [f"10.50.4.{10 + i}" for i in range(40)]
    off = set(rng.sample(neighbours, 5))
    t = T0 + rng.uniform(0, 60)
    for dst in rng.sample(neighbours, len(neighbours)):
        for port, is_open in ((22, rng.random() < 0.2), (80, rng.random() < 0.4), (135, rng.random() < 0.5),
                              (443, rng.random() < 0.4), (445, rng.random() < 0.5), (3389, rng.random() < 0.3)):
            state = "S0" if dst in off else "SF" if is_open else "REJ"
            out.append(_tcp(src, ports(), dst, port, t, state=state, data=(200, 400) if state == "SF" else (0, 0),
                            duration=0.05))
            t += 6.0
        out.append(_udp(src, ports(), dst, 161, t, data=(45, 0 if dst in off or rng.random() < 0.5 else 110)))
        t += 6.0 * rng.uniform(0.5, 1.5)
    return out


HABITS: dict[str, Callable[[random.Random], list[Flow]]] = {
    "smb_browsing": smb_browsing, "blocked_cloud": blocked_cloud, "wsd_discovery": wsd_discovery,
    "inventory_agent": inventory_agent}


def conn_log(path: Path, kind: str, seed: int = 1) -> Path:
    """The habit's conn.log alone (IoT-23's form: no DNS answers)."""
    return write_conn_log(path, HABITS[kind](random.Random(seed)))


def zeek_logs(folder: Path, kind: str, seed: int = 1) -> Path:
    """The habit's conn.log and, for the clients that look their cloud up, the dns.log of their lookups (Zeek's JSON
    writer: one record a lookup, its answers and TTLs) in ``folder``."""
    rng = random.Random(seed)
    made = _blocked_cloud(rng) if kind == "blocked_cloud" else list(HABITS[kind](rng))
    write_conn_log(folder / "conn.log", [f for f in made if isinstance(f, Flow)])
    lookups = [x for x in made if isinstance(x, Lookup)]
    if kind in WINDOWS_HOSTS:
        ip, name = WINDOWS_HOSTS[kind]
        (folder / "dhcp.log").write_text(json.dumps({  # Zeek's DHCP::Info with policy/protocols/dhcp/software.zeek
            "ts": T0 - 20.0, "uids": ["CDhcp0000000000001"], "client_addr": ip, "server_addr": RESOLVER,
            "mac": _host(ip).mac, "host_name": name, "client_fqdn": f"{name}.corp.example", "domain": "corp.example",
            "requested_addr": ip, "assigned_addr": ip, "lease_time": 691200.0, "msg_types": ["REQUEST", "ACK"],
            "duration": 0.004, "client_software": "MSFT 5.0"}) + "\n")
    with (folder / "dns.log").open("w") as fh:
        for i, q in enumerate(lookups):
            fh.write(json.dumps({"ts": q.t, "uid": f"D{i:017d}", "id.orig_h": q.client, "id.orig_p": q.sport,
                                 "id.resp_h": RESOLVER, "id.resp_p": 53, "proto": "udp", "trans_id": i % 65536,
                                 "rtt": 0.004, "query": q.name, "qclass": 1, "qclass_name": "C_INTERNET", "qtype": 1,
                                 "qtype_name": "A", "rcode": 0, "rcode_name": "NOERROR", "AA": False, "TC": False,
                                 "RD": True, "RA": True, "Z": 0, "answers": list(q.answers),
                                 "TTLs": [60.0] * len(q.answers), "rejected": False}) + "\n")
    return folder


def _host(ip: str) -> Host:
    """A site host's own MAC; an address outside the site is reached through the gateway's."""
    if ip.startswith("10."):
        return Host("02:00:" + ":".join(f"{int(x):02x}" for x in ip.split(".")), ip)
    return Host(GATEWAY_MAC, ip)


def blocked_cloud_pcap(path: Path, seed: int = 1) -> Path:
    """The blocked cloud's clients as packets: each lookup's query and its answer of A records (RFC 1035 §4.1), and
    each connect's SYN with its two retransmissions 3 s and 9 s later, never answered."""
    frames: list[tuple[float, bytes]] = []
    resolver = _host(RESOLVER)
    for i, x in enumerate(_blocked_cloud(random.Random(seed))):
        if isinstance(x, Lookup):
            client, question = _host(x.client), [(x.name, TYPE_A, CLASS_IN)]
            answers = [(x.name, TYPE_A, CLASS_IN, 60, rdata_a(a)) for a in x.answers]
            frames += [(x.t, udp_frame(client, resolver.mac, RESOLVER, dns_message(i & 0xFFFF, 0x0100, question),
                                       sport=x.sport, dport=53)),
                       (x.t + 0.004, udp_frame(resolver, client.mac, x.client,
                                               dns_message(i & 0xFFFF, 0x8180, question, answers),
                                               sport=53, dport=x.sport))]
            continue
        src, dst = _host(x.a_ip), _host(x.b_ip)
        frames += [(x.first_seen + later, tcp_segment(src, dst, b"", sport=x.a_port, dport=x.b_port, seq=i * 7919,
                                                      ack=0, flags=0x02)) for later in (0.0, 3.0, 9.0)]
    return write_pcap(path, frames)  # in time order
