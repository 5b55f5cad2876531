"""Test tool: does what the engine reports of a capture depend on how its TCP streams were cut? (issues #3/#4)

:func:`check` runs the engine over a capture and over two rewrites of it (tests/dissect/resegment.py:
``coalesced``, consecutive in-order segments of a direction merged GRO-style into super-packets of up to
64 KiB; ``split``, every payload segment cut into seeded pieces of 1-7 bytes) and lists what differs:

* Observations, per protocol, as multisets of (proto, kind, subject, MACs, addresses, ports, VLAN,
  fields): not their timestamps (a super-packet carries its first segment's time, as GRO's merged skb
  does, so an Observation completed by a later segment is stamped earlier) nor their order across flows
  (coalescing moves a segment's bytes up to its super-packet's place in the capture);
* flows, as multisets of (VLAN, IP protocol, both ends, ``Flow.app``, failed services): which
  application a flow was named, or which dissector rejected it, must not depend on the cut either.

Engine bounds that count packets, not bytes, are lifted so that what is checked is the dissectors'
framing and the probes' recognition, not a cost bound that by design moves with the cut (each is an
accepted difference, :data:`LIFTED`). The stream dissectors' byte budgets (``max_stream_bytes``) are kept:
they read a flow's first bytes whatever its cut. What is left that differs and is accepted is listed in
:data:`ALLOWED` with its reason; anything else is a bug. ``bench/resegment.py`` runs the check over
the shared and lab captures; tests/dissect/test_resegcheck.py over a fast set in the default suite.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Dissector, StreamDissector
from iotwarden.engine.core import Engine, EngineConfig
from iotwarden.errors import CaptureError
from iotwarden.model import CaptureStats, Flow, Observation
from iotwarden.sources.capfile import read_capture
from tests.dissect import resegment

Key = tuple[Any, ...]
CUTS = ("coalesced", "split")

# Engine bounds lifted in every run (original and cuts alike), with why the difference they make is accepted.
LIFTED = {
    "Dissector.max_packets_per_flow": "a cost bound on the packets a dissector reads of a UDP flow, or of a TCP "
    "flow when it has no byte budget (smb's safety net): a flow cut into 1-byte pieces reaches it sooner",
    "StreamDissector.max_stream_packets": "the packet safety net behind a byte budget (dissect/base.py "
    "MIN_MEAN_SEGMENT): pieces of 1-7 bytes average 4 bytes, the net's floor, so a flow past its budget may reach "
    "the net a few bytes before it",
    "EngineConfig.tcp_max_ooo_segments": "a reordered segment cut into hundreds of pieces overflows the count "
    "of out-of-order segments held, which bounds memory by segments, not bytes (tcp_max_ooo_bytes still holds)",
    "EngineConfig.payload_packets_per_flow": "probing happens within a flow's first 8 payload packets: a first "
    "message cut into 1-7 byte pieces spreads its first PROBE_BYTES over more packets than that",
}


@dataclass(frozen=True)
class Allowed:
    """An accepted difference: a protocol's Observations (or ``flow`` for Flow.app) in a capture and cut."""

    capture: str  # substring of the capture's path
    cut: str  # "coalesced", "split" or "*"
    proto: str  # an Observation's proto, or "flow"
    reason: str

    def covers(self, capture: Path, cut: str, proto: str) -> bool:
        return self.capture in str(capture) and self.cut in (cut, "*") and self.proto == proto


_GARBAGE = ("a deliberately malformed stream: bytes that are no PDU header between PDUs. The OT framing "
            "(dissect/otstream.frames) drops a direction's buffer at a framing error and restarts with the next "
            "delivery, so which PDUs after the garbage are lost depends on what shares a delivery with it; no "
            "framing recovers from arbitrary bytes alike at every cut (a scan for the next start byte takes a "
            "start byte inside the garbage for a header, as Wireshark's get_iec104apdu_len does)")
ALLOWED: tuple[Allowed, ...] = (
    Allowed("IEC60870-5-104/TestDissectIec104.pcap", "*", "iec104",
            "Wireshark's dissector test: 1 to 6 stray octets before APDUs (frames 6, 8, 10, 15, 17...); " + _GARBAGE),
    Allowed("bro/modbus/fuzz-72.pcap", "*", "modbus", "Zeek's fuzzed Modbus test capture; " + _GARBAGE),
    Allowed("C37118/c37_pmu_", "split", "c37118",
            "the capture holds two segments overlapping with different bytes (frame 12: 112 bytes at one past the "
            "next expected sequence number, then frame 14: 112 other bytes at it); which copy of an overlapped "
            "byte reassembly keeps depends on where the segments holding it begin (Ptacek & Newsham 1998, "
            "'Insertion, Evasion, and Denial of Service', §3.2 overlap), so a cut changes the frame read there"),
)


@dataclass
class Seen:
    """What the engine made of one capture, comparable across cuts."""

    observations: dict[str, Counter[Key]] = field(default_factory=dict)
    flows: Counter[Key] = field(default_factory=Counter)
    stats: CaptureStats = field(default_factory=CaptureStats)


@dataclass
class Difference:
    capture: Path
    cut: str
    proto: str  # an Observation's proto, or "flow"
    missing: list[Key]  # in the original, not in the cut
    extra: list[Key]  # in the cut, not in the original
    allowed: Allowed | None = None

    def line(self, limit: int = 2) -> str:
        why = f" [allowed: {self.allowed.reason}]" if self.allowed else ""
        return (f"{self.capture} {self.cut} {self.proto}: {len(self.missing)} missing {self.missing[:limit]}, "
                f"{len(self.extra)} extra {self.extra[:limit]}{why}")


def dissectors() -> list[Dissector]:
    out = default_dissectors()
    for d in out:
        d.max_packets_per_flow = None  # type: ignore[misc]  # LIFTED: an instance attribute shadows the bound
        if isinstance(d, StreamDissector):
            d.max_stream_packets = None  # type: ignore[misc]  # LIFTED
    return out


def config() -> EngineConfig:
    return EngineConfig(tcp_max_ooo_segments=1 << 20, payload_packets_per_flow=1 << 20)  # LIFTED


def _obs_key(o: Observation) -> Key:
    return (o.proto, o.kind, o.subject, o.src_mac, o.dst_mac, o.src_ip, o.dst_ip, o.src_port, o.dst_port, o.vlan,
            json.dumps(o.fields, sort_keys=True, default=repr))


def _flow_key(f: Flow) -> Key:
    return (f.vlan, f.ip_proto, f.a_ip, f.a_port, f.b_ip, f.b_port, f.app, tuple(f.extra.get("failed_services", ())))


def observe(path: Path) -> Seen:
    """The engine's Observations and flows of a capture, as comparable multisets."""
    engine = Engine(dissectors(), config())
    seen = Seen()
    observations: list[Observation] = []
    flows: list[Flow] = []
    try:
        for batch in read_capture(path, batch_size=65536):
            result = engine.process(batch)
            observations += result.observations
            flows += result.flows
    except CaptureError:
        pass  # a damaged capture: what was read counts, the same in every cut
    result = engine.flush()
    observations += result.observations
    flows += result.flows
    for o in observations:
        seen.observations.setdefault(o.proto, Counter())[_obs_key(o)] += 1
    seen.flows.update(_flow_key(f) for f in flows)
    seen.stats = engine.stats
    return seen


def cuts(src: Path, tmp: Path, which: Iterable[str] = CUTS) -> dict[str, Path]:
    """``src`` rewritten by each cut in ``which``, into ``tmp``."""
    linktype, frames = resegment.read_frames(src)
    out: dict[str, Path] = {}
    for cut in which:
        if cut == "coalesced":
            rewritten = resegment.coalesce(linktype, frames)
        else:
            rewritten = resegment.split(linktype, frames, sizes=(1, 7), seed=len(frames))
        out[cut] = tmp / f"{cut}.pcap"
        resegment.write_frames(out[cut], linktype, rewritten)
    return out


def compare(capture: Path, cut: str, original: Seen, other: Seen,
            allowed: Iterable[Allowed] = ALLOWED) -> list[Difference]:
    """Every protocol (and the flows) whose multiset differs between ``original`` and ``other``."""
    rules = list(allowed)
    pairs = {p: (original.observations.get(p, Counter()), other.observations.get(p, Counter()))
             for p in set(original.observations) | set(other.observations)}
    pairs["flow"] = (original.flows, other.flows)
    out: list[Difference] = []
    for proto in sorted(pairs):
        want, got = pairs[proto]
        if want != got:
            rule = next((r for r in rules if r.covers(capture, cut, proto)), None)
            out.append(Difference(capture, cut, proto, sorted((want - got).elements(), key=repr),
                                  sorted((got - want).elements(), key=repr), rule))
    return out


def check(src: Path, tmp: Path, which: Iterable[str] = CUTS,
          allowed: Iterable[Allowed] = ALLOWED) -> tuple[Seen, list[Difference]]:
    """The original's Seen and every difference each cut makes (allowed ones marked)."""
    original = observe(src)
    rules = list(allowed)
    diffs: list[Difference] = []
    for cut, path in cuts(src, tmp, which).items():
        diffs += compare(src, cut, original, observe(path), rules)
    return original, diffs


def tcp_protocols(seen: Seen) -> set[str]:
    """The applications named on TCP flows (the stream dissectors this capture exercised)."""
    return {k[6] for k in seen.flows if k[1] == 6 and k[6]}
