"""Test tool: what ``analyze`` concludes of a capture that lost packets (issues #3/#4).

SPAN ports and TAPs drop packets under load (tcpdump's "packets dropped by kernel", a switch's mirror port
oversubscribed): a capture missing 0.1-1 % of its packets is normal. :func:`lose` rewrites a capture without
some of its frames, chosen by a seeded generator so every run drops the same ones (:data:`LOSSES`):

* ``0.5%`` and ``2%``: each frame dropped with that probability;
* ``tcp1``: one payload segment of each TCP flow (not a SYN: the flow's handshake stays), so every TCP
  dissector meets a hole in the middle of its stream.

:func:`check` runs the analyze service over the capture rewritten whole (tests/engine/snapcheck.py's writer,
so timestamps match) and over each loss, and reports:

* conclusions, which loss may cost but never change: a flow's application, each device's
  vendor/type/model/OS/firmware/category, a fact of a device's evidence, the findings and the alerts (a lossy
  capture may raise fewer, none that the whole one does not), analyzer errors (a crash caught);
* the Observations of each dissector as multisets without timestamps (tests/dissect/resegcheck.py's key):
  the share of the whole capture's that survive the loss (what it costs), and those only the lossy capture
  has (a message misread after a hole, or what a dissector reports of the hole itself).

Counters (packets, bytes, a flow's first packet and so its key, the flow's orientation when its SYN was lost)
change by design and are not compared. Accepted differences are in :data:`ALLOWED`, each with its reason.
``bench/losscheck.py`` runs the check over the shared captures and lab scenarios; tests/engine/test_losscheck.py
over a few in the default suite.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Flow, Observation
from iotwarden.services import analyze as analyze_service
from tests.dissect import resegcheck, resegment
from tests.engine import snapcheck

LOSSES = ("0.5%", "2%", "tcp1")
RATES = {"0.5%": 0.005, "2%": 0.02}
# what loss changes by design: packet and byte counts, which packet opens a flow (its key's first timestamp,
# a flow whose every packet was lost), which end opened it when the SYN was lost
NOT_COMPARED = ("counters", "flow.presence", "flow.orientation")

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Allowed:
    """An accepted difference: its kind (``alerts``, ``findings``, ``device.model``...) in a capture and loss."""

    capture: str  # substring of the capture's path ("" any)
    kind: str
    item: str  # substring of the difference's line
    reason: str
    loss: str = "*"

    def covers(self, capture: Path, loss: str, kind: str, line: str) -> bool:
        return (self.capture in str(capture) and self.kind == kind and self.item in line
                and self.loss in (loss, "*"))


ALLOWED: tuple[Allowed, ...] = (
    Allowed("lab-enterprise-ldap", "findings", "risk.cleartext.ldap",
            "the lost segment is a simple bind's answer (invalidCredentials), the last the server sent, so the bind "
            "was sent in cleartext and its answer is not in the capture: risk.cleartext.ldap keeps such a bind at "
            "medium, its answer said cut (dissect/ldap.py bind_response_cut), as for a capture cut by its snap "
            "length; the whole capture's refusal made it nothing. An answer really lost", "tcp1"),
    Allowed("lab-enterprise-recon", "findings", "risk.ot.unauthorized_write",
            "the lost segment is the engineering workstation's COTP connection request naming the TSAP "
            "SIMATIC-ROOT-ES, the one message that said what it is: its Modbus writes then come from a host of no "
            "known type, which risk.ot.unauthorized_write does not trust (it trusts types, not behaviour), as for a "
            "capture that never saw that request (snapcheck.ALLOWED has the same at -s 96)", "tcp1"),
)

# A finding or alert raised only with loss on a device that the whole capture raises the same check on under
# another key (its address rather than its MAC: the message that tied the two was lost, or came later) is the
# same conclusion about the same host.
SAME_HOST = Allowed("", "*", "", "the same check on the same host, keyed by its address in one run, its MAC in "
                    "the other")


def _same_host(whole: snapcheck.Seen, lossy: snapcheck.Seen, kind: str, line: str) -> bool:
    if kind not in ("findings", "alerts"):
        return False
    check, _, key = line.removeprefix("+ ").partition(" ")
    ips = {ip for seen in (whole, lossy) for ip, keys in seen.addresses.items() if key in keys}
    if key.startswith("ip:"):
        ips.add(key.removeprefix("ip:"))
    raised = {item.partition(" ")[2] for item in getattr(whole, kind) if item.partition(" ")[0] == check}
    return any(other == f"ip:{ip}" or other in whole.addresses.get(ip, ()) for other in raised for ip in ips)


Frame = tuple[int, float, bytes, int]  # snapcheck._frames: link type, ts, captured bytes, original length


def dropped(src: Path, frames: list[Frame], loss: str) -> set[int]:
    """Indices of the ``frames`` of ``src`` that ``loss`` drops: the same set on every run."""
    rng = random.Random(f"{src.name}:{loss}")  # str seeds hash with SHA-512: stable across runs and processes
    if loss in RATES:
        return {i for i in range(len(frames)) if rng.random() < RATES[loss]}
    if loss != "tcp1":
        raise ValueError(f"unknown loss {loss!r}")
    by_flow: dict[tuple[Any, ...], list[int]] = {}
    for i, (lt, _, data, wire) in enumerate(frames):
        dec = resegment.decode(lt, data) if len(data) == wire else None
        if dec is None or not dec.tcp.data or dec.tcp.flags & resegment.SYN:
            continue
        a, b = (bytes(dec.ip.src), dec.tcp.sport), (bytes(dec.ip.dst), dec.tcp.dport)
        by_flow.setdefault((min(a, b), max(a, b)), []).append(i)
    return {rng.choice(indices) for _, indices in sorted(by_flow.items())}


def lose(src: Path, dst: Path, loss: str) -> Path:
    """``src`` written to ``dst`` without the frames ``loss`` drops (snapcheck's writer, nothing cut)."""
    frames = list(snapcheck._frames(src))
    gone = dropped(src, frames, loss)
    return snapcheck.write([f for i, f in enumerate(frames) if i not in gone], dst, None)


@dataclass
class Run:
    """One analyze run: what it stored, and the Observations it made per dissector (no timestamps)."""

    seen: snapcheck.Seen
    observations: dict[str, Counter[Key]] = field(default_factory=dict)


@contextmanager
def _tapped(into: list[Observation]) -> Iterator[None]:
    """Every Observation the analyze service hands its analyzers, appended to ``into``."""
    original = analyze_service._Sink.feed

    def feed(self: Any, obs: list[Any], closed: list[Any], ts: float | None) -> None:
        into.extend(obs)
        original(self, obs, closed, ts)

    with mock.patch.object(analyze_service._Sink, "feed", feed):
        yield


def run(path: Path, work: Path) -> Run:
    made: list[Observation] = []
    with _tapped(made):
        seen = snapcheck.analyse(path, work)
    out = Run(seen)
    for o in made:
        if o.proto:
            out.observations.setdefault(o.proto, Counter())[resegcheck._obs_key(o)] += 1
    return out


@dataclass
class Difference:
    capture: Path
    loss: str
    kind: str
    line: str
    allowed: Allowed | snapcheck.Allowed | None = None

    def text(self) -> str:
        why = f" [allowed: {self.allowed.reason}]" if self.allowed else ""
        return f"{self.capture} loss {self.loss} {self.kind}: {self.line}{why}"


@dataclass
class Result:
    capture: Path
    whole: Run
    lossy: dict[str, Run]
    differences: list[Difference]

    def survival(self, loss: str) -> dict[str, tuple[int, int, int]]:
        """Per dissector: (Observations of the whole capture, how many the lossy one also made, how many only
        the lossy one made)."""
        out: dict[str, tuple[int, int, int]] = {}
        lossy = self.lossy[loss].observations
        for proto in sorted(set(self.whole.observations) | set(lossy)):
            want, got = self.whole.observations.get(proto, Counter()), lossy.get(proto, Counter())
            out[proto] = (want.total(), (want & got).total(), (got - want).total())
        return out

    def only_with_loss(self, loss: str) -> list[str]:
        """Findings and alerts the lossy capture raises and the whole one does not."""
        whole, lossy = self.whole.seen, self.lossy[loss].seen
        return ([f"finding {x}" for x in sorted(lossy.findings - whole.findings)]
                + [f"alert {x}" for x in sorted(lossy.alerts - whole.alerts)])


def check(src: Path, work: Path, losses: tuple[str, ...] = LOSSES,
          allowed: tuple[Allowed, ...] = ALLOWED) -> Result:
    """Analyse ``src`` rewritten whole and after each loss; the differences, allowed ones marked."""
    work.mkdir(parents=True, exist_ok=True)
    whole = run(snapcheck.snap(src, work / "whole.pcap", None), work)
    lossy: dict[str, Run] = {}
    diffs: list[Difference] = []
    for loss in losses:
        lossy[loss] = got = run(lose(src, work / "lossy.pcap", loss), work)
        for kind, line in snapcheck.compare(whole.seen, got.seen):
            if kind in NOT_COMPARED:
                continue
            rule: Allowed | snapcheck.Allowed | None = next(
                (a for a in allowed if a.covers(src, loss, kind, line)), None)
            if rule is None and snapcheck._from_fewer_facts(whole.seen, got.seen, kind, line):
                rule = snapcheck.FEWER_FACTS
            if rule is None and _same_host(whole.seen, got.seen, kind, line):
                rule = SAME_HOST
            diffs.append(Difference(src, loss, kind, line, rule))
    return Result(src, whole, lossy, diffs)


def session(messages: list[tuple[bool, bytes]], port: int, lost: tuple[int, ...] = (), *,
            client: str = "192.168.1.10", server: str = "192.168.1.20", segment: int | None = None,
            close: bool = True, acks: bool = False, late: tuple[int, ...] = (), acked: tuple[int, ...] = (),
            batch: int | None = None, closing: tuple[tuple[bool, int], ...] | None = None,
            isn: tuple[int, int] = (1000, 5000)) -> list[Observation]:
    """The Observations the default engine makes of one TCP connection: its handshake, then ``messages`` ((to
    the server?, bytes) in order) each cut into segments of ``segment`` bytes (None: one each), the segments
    numbered from 0 in ``lost`` left out of the capture (their sequence numbers still taken), then FIN both
    ways when ``close``. A built case of what a SPAN port's drop does to a dissector. With ``acks`` every segment
    acknowledges what the other direction sent before it (lost segments included; else its Acknowledgment Number
    is 0, telling nothing); the segments numbered in ``late`` are captured after the next one sent that is not late
    (a SPAN port merging two uplinks' queues), each sent as before and acknowledged so; each segment numbered in
    ``acked`` is followed by the receiver's pure ACK of it (captured or not). ``closing``: the segments without
    payload sent at the end instead, each (to the server?, TCP flags; a FIN taking its sequence number, RFC 9293
    §3.4), what a capture that lost some of them holds. Read in batches of ``batch`` frames (None: one). ``isn``: the
    sequence number of the client's and the server's first data byte (taken modulo 2^32)."""
    from iotwarden.dissect import default_dissectors
    from iotwarden.engine.core import Engine
    from tests.sources.capbuild import ACK, FIN, PSH, SYN, batch_of, ethernet, tcp

    seq = {True: isn[0], False: isn[1]}

    def frame(to_server: bool, flags: int, payload: bytes = b"") -> bytes:
        a, b, sport, dport = (client, server, 40000, port) if to_server else (server, client, port, 40000)
        segment_ = tcp(a, b, sport, dport, flags, seq[to_server], payload, ack=seq[not to_server] if acks else 0)
        return ethernet(segment_, src=1 if to_server else 2, dst=2 if to_server else 1)

    frames = [ethernet(tcp(client, server, 40000, port, SYN, seq[True] - 1)),
              ethernet(tcp(server, client, port, 40000, SYN | ACK, seq[False] - 1, ack=seq[True] if acks else 0),
                       src=2, dst=1),
              frame(True, ACK)]
    n = 0
    held: list[bytes] = []
    for to_server, data in messages:
        size = segment or len(data) or 1
        for off in range(0, len(data), size):
            piece = data[off:off + size]
            sent = frame(to_server, ACK | PSH, piece)
            seq[to_server] += len(piece)
            after = [frame(not to_server, ACK)] if n in acked else []
            if n in late and n not in lost:
                held.append(sent)
            elif n not in lost:
                frames += [sent, *held]
                held = []
            frames += after
            n += 1
    frames += held
    if closing is not None:
        for to_server, flags in closing:
            frames.append(frame(to_server, flags))
            seq[to_server] += flags & FIN
    elif close:
        frames += [frame(True, FIN | ACK), frame(False, FIN | ACK)]
    engine = Engine(default_dissectors())
    out: list[Observation] = []
    size = batch or len(frames)
    for at in range(0, len(frames), size):
        cut = [(1.0 + (at + i) / 1000, f) for i, f in enumerate(frames[at:at + size])]
        out += engine.process(batch_of(cut)).observations
    return out + list(engine.flush().observations)


def segment_count(messages: list[tuple[bool, bytes]], segment: int | None) -> int:
    """How many segments :func:`session` cuts ``messages`` into (numbered from 0 in its ``lost``)."""
    return sum(len(range(0, len(data), segment or len(data) or 1)) for _, data in messages)


def assert_loss_adds_nothing(keys: Callable[[list[Observation]], Counter[Any]], messages: list[tuple[bool, bytes]],
                             port: int, lost: Iterable[tuple[int, ...]] | None = None, *, segment: int | None = None,
                             in_place: Callable[[int], list[Observation]] | None = None, acks: bool = False,
                             late: tuple[int, ...] = ()) -> None:
    """Conclusions may be lost, never made up: for each set of lost segments in ``lost`` (default: every single
    segment), the ``keys`` of what the engine reads of the lossy connection (:func:`session`, with ``acks`` and
    ``late`` segments) are within those of the whole one, and so are those of ``in_place(i)`` for a single lost
    segment ``i`` (the dissector told the hole where it is, tests/dissect/gapfeed.py)."""
    whole = keys(session(messages, port, segment=segment))
    cases = [(i,) for i in range(segment_count(messages, segment))] if lost is None else list(lost)
    for case in cases:
        assert not keys(session(messages, port, case, segment=segment, acks=acks, late=late)) - whole, case
        if in_place is not None and len(case) == 1:
            assert not keys(in_place(case[0])) - whole, case


def segments_of(messages: list[tuple[bool, bytes]], index: int, segment: int | None) -> range:
    """The numbers :func:`session` gives the segments of ``messages[index]``."""
    first = segment_count(messages[:index], segment)
    return range(first, first + segment_count(messages[index : index + 1], segment))


def gaps_among_junk(d: StreamDissector, chunks: Iterable[tuple[bytes, bool, bool]], port: int) -> None:
    """Feeds ``d`` one TCP connection's deliveries of arbitrary bytes ((bytes, a gap before them?, to the
    server?)), each gap told through ``gap`` as the engine does: only ParseError may come out, and each
    direction's buffer stays within ``max_buffer``."""
    state: dict[str, Any] = {}
    for data, gap, to_server in chunks:
        client, server = ("192.168.1.10", 40000), ("192.168.1.20", port)
        src, dst = (client, server) if to_server else (server, client)
        pkt = Packet(ts=1.0, payload=data, src_ip=src[0], dst_ip=dst[0], ip_proto=6, src_port=src[1],
                     dst_port=dst[1], to_server=to_server)
        if gap:
            d.gap(state, to_server)
        with suppress(ParseError):
            d.feed(pkt, data, state)
        assert len(state.get("c2s", b"")) <= d.max_buffer and len(state.get("s2c", b"")) <= d.max_buffer


def datagrams(sent: list[tuple[str, str, int, int, bytes]]) -> list[Flow]:
    """The flows the default engine reports of UDP datagrams (source, destination, source port, destination
    port, payload), one a millisecond: how it orients a flow whose first datagram (a request) the capture lost."""
    from iotwarden.dissect import default_dissectors
    from iotwarden.engine.core import Engine
    from tests.sources.capbuild import batch_of, ethernet, udp

    engine = Engine(default_dissectors())
    frames = [(1.0 + i / 1000, ethernet(udp(src, dst, sport, dport, payload)))
              for i, (src, dst, sport, dport, payload) in enumerate(sent)]
    flows = list(engine.process(batch_of(frames)).flows)
    return flows + list(engine.flush().flows)
