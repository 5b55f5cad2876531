"""Labelled data for recall/precision: lab scenario variants (pcap) and Zeek conn.log with injected
scanners and C2 bots over benign lab traffic (the conn.log path has no payload).

Injected traffic follows what labelled IoT botnet captures show (Mirai/Gafgyt-style scanning of
Telnet, SSH, HTTP and router-exploit ports at 1-50 probes per second; C2 check-ins every 30 s to
15 min with up to 20% jitter to hard-coded addresses). Bots are benign lab devices infected after the
learning phase, so a detector must pick them out of their own normal traffic.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from iotwarden.engine.core import Engine
from iotwarden.model import Flow
from iotwarden.services.analyze import gc_tuned
from iotwarden.sources.capfile import read_capture
from tests.sources.zeek_written import removed_at

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t"
    "resp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\t"
    "resp_ip_bytes\ttunnel_parents\torig_l2_addr\tresp_l2_addr\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\t"
    "count\tstring\tcount\tcount\tcount\tcount\tset[string]\tstring\tstring\n"
)
SCAN_PORTS = (23, 2323, 22, 80, 8080, 5555, 37215, 52869, 7547, 81)
PROTO = {6: "tcp", 17: "udp", 1: "icmp"}


@dataclass
class Truth:
    scanners: set[str] = field(default_factory=set)
    bots: set[str] = field(default_factory=set)


def variant(folder: Path, name: str, attacks: list[dict[str, object]]) -> Path:
    """A scenario file extending enterprise.yaml with ``attacks`` (written beside a copy of the base)."""
    import yaml

    shutil.copy(SCENARIOS / "enterprise.yaml", folder / "enterprise.yaml")
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"extends": "enterprise.yaml", "name": name, "attacks": attacks}))
    return path


def engine_flows(pcap: Path) -> list[Flow]:
    """The engine's flows of ``pcap``, read with the garbage collector set as ``iotwarden analyze`` sets it
    (services/analyze.gc_tuned, as runner.detect does): full collections over the flows kept so far cost a quarter
    of the run."""
    engine, out = Engine(), []
    with gc_tuned():
        for batch in read_capture(pcap):
            out += engine.process(batch).flows
        out += engine.flush().flows
    return out


def _state(f: Flow) -> tuple[str, str]:
    """Zeek conn_state and history of a flow as Zeek would log it (base/protocols/conn/main.zeek)."""
    if f.ip_proto != 6:
        return ("SF" if f.pkts_ba else "S0"), "Dd" if f.pkts_ba else "D"
    if f.tcp_flags_ba & 0x04 and not f.payload_ab:
        return "REJ", "Sr"
    if not f.tcp_flags_ba & 0x02:
        return "S0", "S"
    return "SF", "ShADadFf"


# our dissector names -> Zeek's service names (Zeek's "ssl" analyzer is TLS); a flow nothing recognised
# (or whose bytes the port's dissector rejected) is logged "-", as Zeek does
ZEEK_SERVICES = {"tls": "ssl"}


def _service(f: Flow) -> str:
    return ZEEK_SERVICES.get(f.app, f.app) if f.app else "-"


def _reset_history(f: Flow) -> str:
    """The history of an RSTO connection (answered, then reset by its originator): the SYN, the SYN-ACK, the
    originator's ACK when it completed the handshake, the data each side sent, its RST (Zeek's Conn::Info history,
    upper case the originator's letters). A raw-SYN scanner's kernel resets the SYN-ACK: ShR; a checker completing
    the handshake, then resetting: ShAR."""
    return (f"Sh{'A' if f.tcp_flags_ab & 0x10 else ''}{'D' if f.payload_ab else ''}{'d' if f.payload_ba else ''}"
            "R")


def _logged_state(f: Flow) -> tuple[str, str]:
    """:func:`_state`, or the conn_state the generator gave (with the history that goes with it)."""
    state, history = _state(f)
    if isinstance(f.extra.get("conn_state"), str):  # the generator said how Zeek would log it
        state = f.extra["conn_state"]
        if f.ip_proto == 6:
            history = {"S0": "S", "REJ": "Sr", "RSTO": _reset_history(f)}.get(state, history)
        elif state == "S0":  # a datagram nobody answered
            history = "D"
    return state, history


def _line(i: int, f: Flow) -> str:
    state, history = _logged_state(f)
    proto = PROTO.get(f.ip_proto, "icmp")
    return (f"{f.first_seen:.6f}\tC{i:017d}\t{f.a_ip}\t{f.a_port}\t{f.b_ip}\t{f.b_port}\t{proto}"
            f"\t{_service(f)}\t{f.duration:.6f}\t{f.payload_ab}\t{f.payload_ba}\t{state}\t-\t-\t0\t{history}\t{f.pkts_ab}\t"
            f"{f.bytes_ab}\t{f.pkts_ba}\t{f.bytes_ba}\t(empty)\t{f.a_mac or '-'}\t{f.b_mac or '-'}\n")


def written_at(f: Flow) -> float:
    """When Zeek writes ``f``'s conn.log line: at its removal, its last packet plus the timer that expires it."""
    return removed_at(f.last_seen, PROTO.get(f.ip_proto, "icmp"), _logged_state(f)[0], _service(f))


def write_conn_log(path: Path, flows: Iterable[Flow], *, order: str = "ts") -> Path:
    """A conn.log of ``flows`` sorted by ts, or (``order="written"``) in the order Zeek writes the lines."""
    ordered = sorted(flows, key=lambda f: f.first_seen)  # uids numbered in ts order either way
    lines = [(written_at(f) if order == "written" else f.first_seen, _line(i, f)) for i, f in enumerate(ordered)]
    with path.open("w") as fh:
        fh.write(HEADER)
        for _, line in sorted(lines, key=lambda tl: tl[0]):
            fh.write(line)
        fh.write("#close\t2024-03-04-12-00-00\n")
    return path


def write_labelled_conn_log(path: Path, labelled: Iterable[tuple[Flow, str]]) -> Path:
    """A conn.log in Stratosphere IoT-23's ``conn.log.labeled`` layout: the last three columns
    (``tunnel_parents label detailed-label``) separated by three spaces, in the header too."""
    head = HEADER.replace("\ttunnel_parents\torig_l2_addr\tresp_l2_addr\n",
                          "\ttunnel_parents   label   detailed-label\n")
    head = head.replace("\tset[string]\tstring\tstring\n", "\tset[string]   string   string\n")
    with path.open("w") as fh:
        fh.write(head)
        for i, (f, label) in enumerate(sorted(labelled, key=lambda fl: fl[0].first_seen)):
            line = _line(i, f).rsplit("\t", 3)[0]  # drop tunnel_parents and the MAC columns
            verdict = "Benign" if label == "-" else "Malicious"
            fh.write(f"{line}\t(empty)   {verdict}   {label}\n")
        fh.write("#close\t2024-03-04-12-00-00\n")
    return path


def _probe(src: str, dst: str, port: int, ts: float, refused: bool) -> Flow:
    return Flow(0, 6, src, 30000 + int(ts * 1000) % 30000, dst, port, ts, ts + (0.001 if refused else 3.0),
                pkts_ab=1 if refused else 2, pkts_ba=1 if refused else 0, bytes_ab=60, bytes_ba=40 if refused else 0,
                tcp_flags_ab=0x02, tcp_flags_ba=0x14 if refused else 0)


def _checkin(src: str, dst: str, port: int, ts: float, rng: random.Random) -> Flow:
    out, back = rng.randint(40, 200), rng.randint(20, 120)
    return Flow(0, 6, src, rng.randint(32768, 60999), dst, port, ts, ts + 0.3, pkts_ab=5, pkts_ba=4,
                bytes_ab=out + 260, bytes_ba=back + 200, payload_ab=out, payload_ba=back, tcp_flags_ab=0x1B,
                tcp_flags_ba=0x1B)


def inject(benign: list[Flow], *, n_scanners: int = 20, n_bots: int = 20, seed: int = 4,
           infected_from: float = 3700.0) -> tuple[list[Flow], Truth]:
    """Benign flows plus scans and C2 check-ins from benign internal hosts, from ``infected_from``
    seconds into the capture (default: after their learning hour; 0: infected before monitoring)."""
    rng = random.Random(seed)
    start = min(f.first_seen for f in benign)
    end = max(f.last_seen for f in benign)
    first: dict[str, float] = {}
    for f in benign:
        first[f.a_ip] = min(first.get(f.a_ip, f.first_seen), f.first_seen)
    # hosts on the wire from the start: infected once their learning hour is over
    hosts = sorted(h for h, t in first.items() if h.startswith("10.10.") and not h.endswith(".1") and t < start + 600)
    rng.shuffle(hosts)
    truth, out = Truth(), list(benign)
    for src in hosts[:n_scanners]:
        truth.scanners.add(src)
        rate, t0 = rng.choice((1.0, 5.0, 20.0, 50.0)), rng.uniform(start + infected_from, end - 400)
        port = rng.choice(SCAN_PORTS)
        for k in range(int(rate * rng.uniform(30, 300))):
            dst = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" if rng.random() < 0.5 \
                else f"{rng.randint(11, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            out.append(_probe(src, dst, port, t0 + k / rate, refused=rng.random() < 0.3))
    for src in hosts[n_scanners:n_scanners + n_bots]:
        truth.bots.add(src)
        period, jitter = rng.uniform(30, 900), rng.uniform(0.0, 0.2)
        c2, port = f"{rng.randint(11, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}", \
            rng.choice((23, 443, 1883, 6667, 48101, 8080))
        t = start + infected_from + rng.uniform(0, 600)
        while t < end:
            out.append(_checkin(src, c2, port, t, rng))
            t += period * (1 + rng.uniform(-jitter, jitter))
    return out, truth
