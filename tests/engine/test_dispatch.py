"""Tier-2 dispatch: by ethertype, LLC/SNAP, port and probe; budgets; stream reassembly; errors counted."""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Any, ClassVar

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors, streambuf
from iotwarden.dissect.base import APP_STATE_KEY, Dissector, Packet, StreamDissector, confirm, flip_roles
from iotwarden.dissect.tls import TlsDissector
from iotwarden.engine.core import Engine, EngineConfig
from iotwarden.engine.decode import VNI_FIELD, VNI_PRESENT
from iotwarden.engine.dispatch import MAX_VNI_TEXTS, _vnis
from iotwarden.errors import CaptureError, ParseError
from iotwarden.model import Flow, Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.sources.capbuild import ACK, PSH, SYN, batch_of, ethernet, mac, tcp, udp

C, S = "192.168.1.10", "192.168.1.20"


class Recorder(Dissector):
    """Remembers every packet it is handed."""

    name = "rec"

    def __init__(self) -> None:
        self.seen: list[Packet] = []

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        self.seen.append(pkt)
        state["n"] = state.get("n", 0) + 1
        return [pkt.observation(self.name, "seen", {"n": state["n"]})]


class Arp(Recorder):
    name = "arp"
    ethertypes: ClassVar[tuple[int, ...]] = (0x0806,)


class Cdp(Recorder):
    name = "cdp"
    llc_snap: ClassVar[tuple[tuple[int, int], ...]] = ((0x00000C, 0x2000),)


class Dns(Recorder):
    name = "dns"
    udp_ports: ClassVar[tuple[int, ...]] = (53,)


class Mdns(Recorder):
    name = "mdns"
    udp_ports: ClassVar[tuple[int, ...]] = (53, 5353)  # 53 also declared by dns, which is earlier


class FirstOnly(Recorder):
    name = "first"
    udp_ports: ClassVar[tuple[int, ...]] = (161,)
    max_packets_per_flow: ClassVar[int | None] = 2


class Magic(Recorder):
    name = "magic"

    def __init__(self) -> None:
        super().__init__()
        self.probes: list[bytes] = []

    def probe(self, payload: bytes, to_server: bool) -> bool:
        self.probes.append(payload)
        return payload.startswith(b"MAGIC")


class Lines(StreamDissector):
    """Collects the client byte stream; done after ``stop_after`` bytes if set."""

    name = "lines"
    tcp_ports: ClassVar[tuple[int, ...]] = (7000,)
    stop_after: int | None = None

    def __init__(self) -> None:
        self.client = b""
        self.server = b""

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.to_server:
            self.client += data
        else:
            self.server += data
        state["bytes"] = state.get("bytes", 0) + len(data)
        if self.stop_after is not None and state["bytes"] >= self.stop_after:
            state["done"] = True
        return []


class Broken(Recorder):
    name = "broken"
    udp_ports: ClassVar[tuple[int, ...]] = (9999,)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if pkt.payload == b"bad":
            raise ParseError("malformed")
        raise KeyError("bug")


def _run(dissectors: list[Dissector], frames: list[tuple[float, bytes]],
         config: EngineConfig | None = None) -> tuple[Engine, list[Observation], list[Flow]]:
    engine = Engine(dissectors, config)
    out = engine.process(batch_of(frames))
    end = engine.flush()
    return engine, out.observations, out.flows + end.flows


def test_ethertype_dispatch_builds_a_layer2_packet() -> None:
    arp = bytes(dpkt.arp.ARP(sha=mac(1), spa=b"\xc0\xa8\1\x0a", tha=b"\0" * 6, tpa=b"\xc0\xa8\1\1"))
    d = Arp()
    engine, obs, flows = _run([d], [(5.0, ethernet(arp, src=1, dst=0xFFFF, ethertype=0x0806, vlans=(7,)))])
    [pkt] = d.seen
    assert pkt.payload == arp
    assert (pkt.src_mac, pkt.dst_mac, pkt.vlan, pkt.ethertype, pkt.src_ip) == (
        "02:00:00:00:00:01", "02:00:00:00:ff:ff", 7, 0x0806, None)
    assert [o.kind for o in obs] == ["seen"]
    assert engine.stats.protocols["arp"] == 1
    assert flows == []


def test_llc_snap_dispatch_hands_the_pdu_after_the_snap_header() -> None:
    pdu = b"\x02\xb4\x00\x00device-id"
    llc = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + pdu
    frame = bytes.fromhex("01000ccccccc") + mac(3) + struct.pack(">H", len(llc)) + llc
    d = Cdp()
    _run([d], [(1.0, frame)])
    assert [p.payload for p in d.seen] == [pdu]


def test_port_dispatch_both_directions_first_registry_match_wins() -> None:
    dns, mdns = Dns(), Mdns()
    frames = [(1.0, ethernet(udp(C, S, 33000, 53, b"query"))), (1.1, ethernet(udp(S, C, 53, 33000, b"answer"))),
              (2.0, ethernet(udp(C, S, 5353, 5353, b"mdns")))]
    _, _, flows = _run([dns, mdns], frames)
    assert [(p.payload, p.to_server, p.src_ip, p.src_port) for p in dns.seen] == [
        (b"query", True, C, 33000), (b"answer", False, S, 53)]
    assert [p.payload for p in mdns.seen] == [b"mdns"]
    assert {f.b_port: f.app for f in flows} == {53: "dns", 5353: "mdns"}


def test_max_packets_per_flow_is_respected_across_batches() -> None:
    d = FirstOnly()
    engine = Engine([d])
    for i in range(5):
        engine.process(batch_of([(float(i), ethernet(udp(C, S, 40000, 161, b"get%d" % i)))]))
    assert [p.payload for p in d.seen] == [b"get0", b"get1"]
    assert engine.stats.protocols["first"] == 2


def test_probe_recognises_an_unlisted_port_once_per_direction() -> None:
    d = Magic()
    frames = [(1.0, ethernet(tcp(C, S, 41000, 12345, SYN, 1))),
              (1.1, ethernet(tcp(C, S, 41000, 12345, PSH | ACK, 2, b"MAGIC hello"))),
              (1.2, ethernet(tcp(S, C, 12345, 41000, PSH | ACK, 9, b"reply"))),
              (1.3, ethernet(tcp(C, S, 41000, 12345, PSH | ACK, 13, b"more")))]
    _, _, [flow] = _run([d], frames)
    assert d.probes == [b"MAGIC hello"]
    assert [p.payload for p in d.seen] == [b"MAGIC hello", b"reply", b"more"]
    assert flow.app == "magic"


def test_unrecognised_flow_is_probed_on_each_direction_then_left_alone() -> None:
    d = Magic()
    frames = [(1.0 + i / 10, ethernet(udp(C, S, 41000, 4444, b"x%d" % i) if i % 2 == 0 else
                                      udp(S, C, 4444, 41000, b"y%d" % i))) for i in range(6)]
    _, _, [flow] = _run([d], frames)
    assert d.probes == [b"x0", b"y1"]
    assert d.seen == []
    assert flow.app is None


def test_non_first_fragments_are_never_dissected() -> None:
    d = Dns()
    frag = dpkt.ip.IP(src=b"\xc0\xa8\1\x0a", dst=b"\xc0\xa8\1\x14", p=17, offset=1480, data=b"\x00\x35" * 20)
    _run([d], [(1.0, ethernet(bytes(frag)))])
    assert d.seen == []


def _stream(segments: list[tuple[int, bytes]], syn: bool = True) -> list[tuple[float, bytes]]:
    frames = [(0.0, ethernet(tcp(C, S, 50000, 7000, SYN, 999)))] if syn else []
    frames += [(0.1 + i / 100, ethernet(tcp(C, S, 50000, 7000, PSH | ACK, 1000 + off, data)))
               for i, (off, data) in enumerate(segments)]
    return frames


def test_stream_dissector_gets_reassembled_bytes_in_order() -> None:
    d = Lines()
    # out of order (before the first in-order one, known from the SYN), retransmission, overlap
    segments = [(5, b"fghij"), (0, b"abcde"), (0, b"abcde"), (8, b"ijklmn"), (14, b"op")]
    frames = _stream(segments)
    frames.append((0.5, ethernet(tcp(S, C, 7000, 50000, PSH | ACK, 77, b"server says"))))
    _run([d], frames)
    assert d.client == b"abcdefghijklmnop"
    assert d.server == b"server says"


class ResyncingLines(Lines):
    """Lines that carries on after a gap, noting where each one was."""

    name = "lines"

    def __init__(self) -> None:
        super().__init__()
        self.gaps: list[bool] = []

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        confirm(state)  # every byte is a valid "line": the flow is this protocol's
        return super().feed(pkt, data, state)

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        self.gaps.append(to_server)
        self.client += b"|" if to_server else b""


def test_stream_gap_that_never_fills_is_counted_and_ends_a_dissector_that_cannot_resync() -> None:
    d = Lines()
    cfg = EngineConfig(tcp_max_ooo_segments=3)
    segments = [(0, b"ab")] + [(10 * i, b"zz") for i in range(1, 6)]
    engine, _, _ = _run([d], _stream(segments), cfg)
    assert d.client == b"ab"
    assert engine.stats.decode_errors["tcp_gap"] == 1


def test_a_dissector_that_resyncs_gets_the_bytes_after_each_gap_and_the_rest_when_the_flow_ends() -> None:
    d = ResyncingLines()
    cfg = EngineConfig(tcp_max_ooo_segments=3)
    segments = [(0, b"ab")] + [(10 * i, b"zz") for i in range(1, 6)]
    engine, _, flows = _run([d], _stream(segments), cfg)
    # the fourth early segment overflows: the hole before 10 is skipped, 10 is delivered; the holes
    # between the later ones are skipped when the flow ends (flush), each reported through gap()
    assert d.client == b"ab|zz|zz|zz|zz|zz"
    assert d.gaps == [True] * 5
    assert engine.stats.decode_errors["tcp_gap"] == 5
    assert [f.app for f in flows] == ["lines"]


def test_done_state_stops_the_feed() -> None:
    d = Lines()
    d.stop_after = 4
    engine, _, _ = _run([d], _stream([(0, b"abcd"), (4, b"efgh"), (8, b"ijkl")]))
    assert d.client == b"abcd"
    assert engine.stats.protocols["lines"] == 1


class Strict(StreamDissector):
    """The port's dissector: rejects any stream that does not open with b"OK"."""

    name = "strict"
    tcp_ports: ClassVar[tuple[int, ...]] = (7443,)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if not data.startswith(b"OK"):
            state["done"] = True
            raise ParseError("not OK")
        return [pkt.observation(self.name, "ok", {})]


class Banner(StreamDissector):
    """A prober that describes a flow once both sides sent a line starting b"HI"; rejects other lines."""

    name = "banner"

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return payload.startswith(b"HI")

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if not data.startswith(b"HI"):
            raise ParseError("no banner")
        state[pkt.to_server] = data
        return [pkt.observation(self.name, "both", {})] if len(state) == 2 else []


def _exchange(client: bytes, server: bytes, more: bytes = b"") -> list[tuple[float, bytes]]:
    frames = [(0.0, ethernet(tcp(C, S, 50000, 7443, SYN, 999))),
              (0.1, ethernet(tcp(C, S, 50000, 7443, PSH | ACK, 1000, client))),
              (0.2, ethernet(tcp(S, C, 7443, 50000, PSH | ACK, 5000, server)))]
    if more:
        frames.append((0.3, ethernet(tcp(C, S, 50000, 7443, PSH | ACK, 1000 + len(client), more))))
    return frames


def test_bytes_the_ports_dissector_rejects_go_to_a_prober_that_must_describe_them_to_name_the_flow() -> None:
    # Zeek's dynamic protocol detection: the port's analyzer fails, a signature-enabled one confirms
    engine, obs, [flow] = _run([Strict(), Banner()], _exchange(b"HI client", b"HI server", b"more"))
    assert ([o.proto for o in obs], flow.app, flow.extra.get("failed_services")) == (["banner"], "banner", None)
    assert engine.stats.rejected_before_confirmation["strict"] == 1 and engine.stats.protocols["banner"] >= 1
    # claimed by the probe but never described (the answer is not a banner): still the port's failure
    engine, obs, [flow] = _run([Strict(), Banner()], _exchange(b"HI client", b"garbage"))
    assert (obs, flow.app, flow.extra.get("failed_services")) == ([], None, ["strict"])
    assert engine.stats.rejected_before_confirmation["banner"] == 1
    # no prober claims the bytes; bytes the port's dissector accepted are never offered
    _, _, [flow] = _run([Strict(), Banner()], _exchange(b"zz", b"HI server"))
    assert (flow.app, flow.extra.get("failed_services")) == (None, ["strict"])
    _, obs, [flow] = _run([Strict(), Banner()], _exchange(b"OK", b"HI server"))
    assert ([o.proto for o in obs], flow.app) == (["strict"], "strict")


def test_dissector_errors_are_counted_never_raised() -> None:
    frames = [(1.0, ethernet(udp(C, S, 1, 9999, b"bad"))), (2.0, ethernet(udp(C, S, 2, 9999, b"crash")))]
    engine, obs, _ = _run([Broken()], frames)
    assert obs == []
    # the ParseError is the flow's first datagram, refused before confirmation; a crash is always an error
    assert (engine.stats.parse_errors["broken"], engine.stats.rejected_before_confirmation["broken"]) == (1, 1)
    assert engine.stats.analyzer_errors["dissect.broken"] == 1
    assert engine.stats.protocols["broken"] == 2


def test_observations_carry_packet_addresses() -> None:
    _, [obs], _ = _run([Dns()], [(3.0, ethernet(udp(C, S, 33000, 53, b"q"), src=1, dst=2))])
    assert (obs.ts, obs.src_ip, obs.dst_ip, obs.src_port, obs.dst_port, obs.ip_proto, obs.src_mac) == (
        3.0, C, S, 33000, 53, 17, "02:00:00:00:00:01")


# -- the datagram memo (contract in dissect/base.py) ---------------------------------------------

class Echo(Dissector):
    """Opts into the memo: fields from the payload alone, the first byte left out of the key."""

    name = "echo"
    udp_ports: ClassVar[tuple[int, ...]] = (4000,)
    tcp_ports: ClassVar[tuple[int, ...]] = (4000,)

    def __init__(self) -> None:
        self.calls = 0

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload[1:] if payload else None

    def memo_restamp(self, payload: bytes, fields: dict[str, Any]) -> None:
        fields["tag"] = payload[0]

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        self.calls += 1
        if pkt.payload.endswith(b"bad"):
            raise ParseError("malformed")
        return [pkt.observation(self.name, "said", {"tag": pkt.payload[0], "text": pkt.payload[1:].decode(),
                                                    "list": [1, 2]})]


class Elsewhere(Echo):
    """Stamps its Observations with another address: never kept, every packet dissected."""

    name = "elsewhere"

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        self.calls += 1
        return [Observation(ts=pkt.ts, proto=self.name, kind="said", src_ip="10.9.9.9")]


def test_memo_dissects_each_key_once_and_replays_with_each_packets_stamp() -> None:
    echo = Echo()
    frames = [(1.0, ethernet(udp(C, S, 1000, 4000, b"\x01hello"), src=1)),
              (2.0, ethernet(udp(S, C, 4000, 1000, b"\x02hello"), src=2)),
              (3.0, ethernet(udp("10.0.0.7", S, 1001, 4000, b"\x03hello"), src=3))]
    engine, obs, flows = _run([echo], frames)
    assert echo.calls == 1
    assert [(o.ts, o.src_ip, o.dst_ip, o.src_port, o.src_mac, o.fields["tag"]) for o in obs] == [
        (1.0, C, S, 1000, "02:00:00:00:00:01", 1), (2.0, S, C, 4000, "02:00:00:00:00:02", 2),
        (3.0, "10.0.0.7", S, 1001, "02:00:00:00:00:03", 3)]
    assert all(o.fields["text"] == "hello" for o in obs)
    assert engine.stats.protocols["echo"] == 3
    assert {f.app for f in flows} == {"echo"}
    assert engine.memo.stats()["hits"] == 2
    obs[1].fields["list"].append(3)  # replays never share mutable values
    assert obs[2].fields["list"] == [1, 2]


def test_memo_output_equals_plain_dissection() -> None:
    frames = [(float(i), ethernet(udp(C, S, 1000 + i % 3, 4000, bytes([i]) + b"msg%d" % (i % 4))))
              for i in range(40)]
    with_memo = _run([Echo()], frames)[1]
    without = _run([Echo()], frames, EngineConfig(memo_entries=0))[1]
    assert [o.to_dict() for o in with_memo] == [o.to_dict() for o in without]


def test_memo_never_keeps_a_rejected_payload() -> None:
    echo = Echo()
    frames = [(1.0, ethernet(udp(C, S, 1000, 4000, b"\x01bad"))), (2.0, ethernet(udp(C, S, 1000, 4000, b"\x02bad")))]
    engine, obs, _ = _run([echo], frames)
    assert (obs, echo.calls, engine.stats.rejected_before_confirmation["echo"]) == ([], 2, 2)


def test_memo_skips_tcp_and_observations_it_could_not_restamp() -> None:
    echo, other = Echo(), Elsewhere()
    tcp_frames = [(float(i), ethernet(tcp(C, S, 1000, 4000, PSH | ACK, seq=100 + 6 * i, payload=b"\x01hello")))
                  for i in range(3)]
    _run([echo], tcp_frames)
    assert echo.calls == 3
    _, obs, _ = _run([other], [(float(i), ethernet(udp(C, S, 1000, 4000, b"\x01x"))) for i in range(3)])
    assert other.calls == 3
    assert [o.src_ip for o in obs] == ["10.9.9.9"] * 3


def test_memo_is_bounded_by_its_configured_entries() -> None:
    echo = Echo()
    frames = [(float(i), ethernet(udp(C, S, 1000, 4000, b"\x00key%d" % (i % 5)))) for i in range(20)]
    engine, obs, _ = _run([echo], frames, EngineConfig(memo_entries=3))
    assert len(engine.memo) == 3
    assert echo.calls == 20  # five keys cycling through three slots: every one evicted before it recurs
    assert engine.memo.evictions == 17
    assert len(obs) == 20


def _observations(engine: Engine, path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    obs: list[Observation] = []
    flows: list[Flow] = []
    try:
        for batch in read_capture(path):
            got = engine.process(batch)
            obs += got.observations
            flows += got.flows
    except CaptureError:
        pass  # damaged captures: what was read is compared
    flows += engine.flush().flows
    return [o.to_dict() for o in obs], [f.to_dict() for f in flows]


@pytest.mark.parametrize("corpus", ["suricata_verify", "labeled_locks_cams"])
def test_memos_change_nothing_on_real_captures(corpus: str) -> None:
    """Every capture of the set with the datagram and TLS memos on (one TLS memo across the whole
    set) and off: the same Observations, in the same order, the same flows and statistics."""
    root = shared("pcaps", corpus)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and ".pcap" in p.name)
    assert paths
    memo_dissectors = default_dissectors()
    replayed = 0
    for path in paths:
        plain = [TlsDissector(memo_entries=0) if d.name == "tls" else d for d in default_dissectors()]
        with_memo = Engine(memo_dissectors)
        without = Engine(plain, EngineConfig(memo_entries=0))
        assert _observations(with_memo, path) == _observations(without, path), path.name
        assert with_memo.stats.to_dict() == without.stats.to_dict(), path.name
        replayed += with_memo.memo.hits
    tls = next(d for d in memo_dissectors if isinstance(d, TlsDissector))
    assert replayed + tls.memo.hits > 0  # the memos were exercised, not bypassed


class TwoApps(Lines):
    """One port, two applications: the flow is named after what its bytes turn out to be."""

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if data.startswith(b"B:"):
            state[APP_STATE_KEY] = "other-app"
        if data[1:2] == b":":
            confirm(state)  # a valid message that describes nothing
        return super().feed(pkt, data, state)


def test_a_dissector_serving_two_applications_names_the_flows_application() -> None:
    _, _, flows = _run([TwoApps()], _stream([(0, b"B:hello")]))
    assert [f.app for f in flows] == ["other-app"]
    _, _, flows = _run([TwoApps()], _stream([(0, b"A:hello")]))
    assert [f.app for f in flows] == ["lines"]


class OkLines(StreamDissector):
    """One Observation per line; a line that is not b"ok" is malformed, and the next line is still read."""

    name = "ok-lines"
    tcp_ports: ClassVar[tuple[int, ...]] = (7443,)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        buf = streambuf.append(state, pkt.to_server, data, 64)
        out: list[Observation] = []
        error: ParseError | None = None
        while (end := buf.find(b"\n")) >= 0:
            line = bytes(buf[:end])
            del buf[: end + 1]
            if line == b"ok":
                out.append(pkt.observation(self.name, "line", {}))
            else:
                error = error or ParseError("not ok")
        if error is not None:
            raise streambuf.failed(error, out)
        return out


def test_a_malformed_message_costs_only_itself_whether_or_not_it_shares_a_delivery() -> None:
    # as one super-packet (GRO/TSO) or in three: the good lines are observed, the bad one counted
    for cut in ([b"ok\nbad\nok\n"], [b"ok\n", b"bad\n", b"ok\n"]):
        frames, seq = [(0.0, ethernet(tcp(C, S, 50000, 7443, SYN, 999)))], 1000
        for i, piece in enumerate(cut):
            frames.append((0.1 * (i + 1), ethernet(tcp(C, S, 50000, 7443, PSH | ACK, seq, piece))))
            seq += len(piece)
        engine, obs, [flow] = _run([OkLines()], frames)
        assert ([o.kind for o in obs], engine.stats.parse_errors["ok-lines"], flow.app) == (["line", "line"], 1,
                                                                                          "ok-lines")


# -- naming a flow on confirmation (dissect/base.py CONFIRMED_STATE_KEY; Zeek's AnalyzerConfirmation) ---------

class Framed(StreamDissector):
    """Length-prefixed messages on tcp/7000: b"D" describes (an Observation), b"K" is a valid keep-alive that
    describes nothing but confirms, anything else is malformed; a partial message is only buffered."""

    name = "framed"
    tcp_ports: ClassVar[tuple[int, ...]] = (7000,)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        buf = streambuf.append(state, pkt.to_server, data, 64)
        out: list[Observation] = []
        while buf and len(buf) >= 1 + buf[0]:
            message = bytes(buf[1 : 1 + buf[0]])
            del buf[: 1 + len(message)]
            if message == b"D":
                out.append(pkt.observation(self.name, "described", {}))
            elif message == b"K":
                confirm(state)
            else:
                raise streambuf.failed(ParseError("not a message"), out)
        return out


def _named(segments: list[bytes]) -> tuple[list[str], str | None, list[str] | None]:
    frames, off = [], 0
    for piece in segments:
        frames.append((off, piece))
        off += len(piece)
    _, obs, [flow] = _run([Framed()], _stream(frames))
    return [o.kind for o in obs], flow.app, flow.extra.get("failed_services")


def test_a_flow_is_named_only_once_its_dissector_confirms_it() -> None:
    # a 1-byte keep-alive the dissector only buffers (an incomplete message) names nothing
    assert _named([b"\x05"]) == ([], None, None)
    # an Observation confirms; so does a valid message that describes nothing
    assert _named([b"\x01D"]) == (["described"], "framed", None)
    assert _named([b"\x01K"]) == ([], "framed", None)
    # confirmation holds whatever comes after it; a rejection before it is the port's failed service
    assert _named([b"\x01K", b"\x01x"]) == ([], "framed", None)
    assert _named([b"\x01", b"x"]) == ([], None, ["framed"])
    # a whole message split over segments confirms when it is complete
    assert _named([b"\x01", b"D"]) == (["described"], "framed", None)


def test_bytes_a_ports_dissector_accepted_are_never_offered_to_probers_when_later_bytes_fail() -> None:
    # the port's dissector accepted the start of the stream; its later rejection is a failure, not a fallback
    engine, _, [flow] = _run([Strict(), Banner()], _exchange(b"OK", b"HI server"))
    assert (flow.app, engine.stats.protocols["banner"]) == ("strict", 0)
    frames = [(0.0, ethernet(tcp(C, S, 50000, 7000, SYN, 999))),
              (0.1, ethernet(tcp(C, S, 50000, 7000, PSH | ACK, 1000, b"\x05"))),
              (0.2, ethernet(tcp(C, S, 50000, 7000, PSH | ACK, 1001, b"HI there, ok")))]
    engine, obs, [flow] = _run([Framed(), Banner()], frames)
    assert (obs, flow.app, flow.extra.get("failed_services")) == ([], None, ["framed"])
    assert engine.stats.protocols["banner"] == 0


class Claimer(Magic):
    """Claims b"MAGIC" flows by its probe; describes only a b"MAGIC!" payload, accepts others silently."""

    name = "claimer"

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        self.seen.append(pkt)
        if pkt.payload == b"bad":
            raise ParseError("not this protocol")
        return [pkt.observation(self.name, "seen", {})] if pkt.payload.endswith(b"!") else []


def test_a_probe_claims_a_flow_but_only_its_dissectors_confirmation_names_it() -> None:
    def run(*payloads: bytes) -> tuple[str | None, list[str] | None]:
        frames = [(1.0 + i / 10, ethernet(tcp(C, S, 41000, 12345, PSH | ACK, 2 + 10 * i, p)))
                  for i, p in enumerate(payloads)]
        _, _, [flow] = _run([Claimer()], frames)
        return flow.app, flow.extra.get("failed_services")

    assert run(b"MAGIC") == (None, None)
    assert run(b"MAGIC", b"MAGIC!") == ("claimer", None)
    assert run(b"MAGIC", b"bad") == (None, ["claimer"])
    assert run(b"MAGIC!", b"bad") == ("claimer", None)


def test_a_memoised_datagram_names_its_flow_by_its_observations_replayed_or_not() -> None:
    frames = [(1.0, ethernet(udp(C, S, 1000, 4000, b"\x01hi"))),
              (2.0, ethernet(udp("10.0.0.7", S, 1001, 4000, b"\x02hi")))]
    engine, _, flows = _run([Echo()], frames)
    assert engine.memo.stats()["hits"] == 1
    assert [f.app for f in flows] == ["echo", "echo"]


# -- probing a TCP direction's first bytes over its first segments (dispatch.PROBE_BYTES) ---------------

class SplitBanner(StreamDissector):
    """A prober whose signature is 8 bytes (b"BANNER:\\n"); it describes every whole line it is fed."""

    name = "split-banner"

    def __init__(self) -> None:
        self.probes: list[bytes] = []

    def probe(self, payload: bytes, to_server: bool) -> bool:
        self.probes.append(payload)
        return payload.startswith(b"BANNER:\n")

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        buf = streambuf.append(state, pkt.to_server, data, 256)
        out = []
        while (end := buf.find(b"\n")) >= 0:
            out.append(pkt.observation(self.name, "line", {"line": bytes(buf[:end]).decode()}))
            del buf[: end + 1]
        return out


def _pieces(pieces: list[bytes], *, syn: bool = True, seqs: list[int] | None = None) -> list[tuple[float, bytes]]:
    frames = [(1.0, ethernet(tcp(C, S, 41000, 12345, SYN, 99)))] if syn else []
    seq = 100
    for i, piece in enumerate(pieces):
        at = seqs[i] if seqs else seq
        frames.append((1.1 + i / 100, ethernet(tcp(C, S, 41000, 12345, PSH | ACK, at, piece))))
        seq = at + len(piece)
    return frames


def test_a_signature_cut_across_the_first_segments_is_recognised_and_its_bytes_all_dissected() -> None:
    for batch in (64, 2, 1):  # wherever batches are cut
        d = SplitBanner()
        engine = Engine([d])
        frames = _pieces([b"BAN", b"NER", b":\nfirst\nsec", b"ond\n"])
        obs, flows = [], []
        for lo in range(0, len(frames), batch):
            got = engine.process(batch_of(frames[lo : lo + batch]))
            obs, flows = obs + got.observations, flows + got.flows
        flows += engine.flush().flows
        assert d.probes == [b"BAN", b"BANNER", b"BANNER:\nfirst\nsec"], batch
        assert [o.fields["line"] for o in obs] == ["BANNER:", "first", "second"], batch
        assert [f.app for f in flows] == ["split-banner"]


def test_a_datagram_protocol_claiming_accumulated_bytes_gets_them_as_one_payload() -> None:
    d = Magic()
    _, _, [flow] = _run([d], _pieces([b"MA", b"GIC hello"]))
    assert d.probes == [b"MA", b"MAGIC hello"]
    assert [p.payload for p in d.seen] == [b"MAGIC hello"] and d.seen[0].tcp_seq == 100
    assert flow.app == "magic"


def test_probing_accumulates_in_order_bytes_only_and_stops_at_the_bound() -> None:
    # a retransmission adds nothing; a hole (a segment the capture lost) ends probing of that direction
    d = SplitBanner()
    _run([d], _pieces([b"BAN", b"BAN", b"NER:\n"], seqs=[100, 100, 103]))
    assert d.probes == [b"BAN", b"BANNER:\n"]
    d = SplitBanner()
    _, obs, [flow] = _run([d], _pieces([b"BAN", b"R:\n"], seqs=[100, 106]))
    assert (d.probes, obs, flow.app) == ([b"BAN"], [], None)
    # PROBE_BYTES reached without a claim: that direction is probed no more, nothing held back for it
    d = SplitBanner()
    engine = Engine([d])
    engine.process(batch_of(_pieces([b"x" * 40, b"y" * 30, b"BANNER:\n"])))
    assert [len(p) for p in d.probes] == [40, 70]
    [fd] = engine._dispatch.flows.values()
    assert (fd.heads, fd.probed) == ({}, {True})


def test_a_datagram_flow_is_still_probed_on_its_first_datagram_of_each_direction_only() -> None:
    d = SplitBanner()
    frames = [(1.0 + i / 10, ethernet(udp(C, S, 41000, 4444, piece))) for i, piece in enumerate([b"BAN", b"BANNER:\n"])]
    _, _, [flow] = _run([d], frames)
    assert (d.probes, flow.app) == ([b"BAN"], None)


# the start of each prober's own protocol (so that the fuzz reaches past its first check), then damage
PROBE_SEEDS = [b"\x10\xff\xff\xff\xff\x00\x04MQTT", b"\x10\x1c\x00\x04MQTT\x04", b"GET / HTTP/1.1\r\n", b"HTTP/1.1 200",
               b"\x03\x00\x00\x16\x11\xe0", b"\x16\x03\x01\x02\x00\x01", b"\x00\x00\x00\x00\x00\x06\x01\x03",
               b"\x81\x0b\x00\x0c", b"\x05\x64\x05\xc0", b"SSH-2.0-", b"\x6a\x81\x01", b"d1:ad2:id20:",
               b"OPTIONS rtsp://x RTSP/1.0\r\n", b"INVITE sip:a@b SIP/2.0\r\n", b"\x0bMSH|^~\\&|", b"\xfe\x53\x4d\x42",
               b"\x00\x00\x00\x85\xffSMB", b"\x65\x00\x04\x00", b"fox a 1 -1 fox hello\n", b"\xf1\x00\x00\x00",
               b"\x38\x00\x00\x00", b"\x1b%-12345X@PJL", b"220 ", b"\x30\x82"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"", *PROBE_SEEDS]), st.binary(max_size=40),
       st.lists(st.tuples(st.integers(0, 80), st.integers(0, 255)), max_size=4), st.integers(0, 100), st.booleans())
def test_fuzz_every_probe_answers_true_or_false(seed: bytes, tail: bytes, edits: list[tuple[int, int]], cut: int,
                                                to_server: bool) -> None:
    """The dispatcher's contract with probers: any bytes get a bool, never an exception (an exception is
    counted as the dissector's crash)."""
    data = bytearray(seed + tail)
    for pos, value in edits:
        if data:
            data[pos % len(data)] = value
    payload = bytes(data[:cut])
    for d in default_dissectors():
        if type(d).probe is not Dissector.probe:
            assert d.probe(payload, to_server) in (True, False), d.name


def _udp6(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    dgram = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    dgram.ulen = 8 + len(payload)
    ip6 = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, src), dst=socket.inet_pton(socket.AF_INET6, dst),
                       nxt=17, hlim=64, data=dgram)
    ip6.plen = len(bytes(dgram))
    return ethernet(bytes(ip6), ethertype=0x86DD)


def test_each_packet_carries_its_own_directions_addresses_and_vlan() -> None:
    a6, b6 = "2001:db8::1", "2001:db8::2"
    frames = [(1.0, ethernet(udp(C, S, 33000, 53, b"q1"), vlans=(7,))), (1.1, _udp6(a6, b6, 5000, 53, b"q6")),
              (1.2, ethernet(udp(S, C, 53, 33000, b"a1"), vlans=(7,))), (1.3, _udp6(b6, a6, 53, 5000, b"a6")),
              (1.4, ethernet(udp(C, S, 33001, 53, b"q2")))]
    d = Dns()
    engine = Engine([d])
    engine.process(batch_of(frames[:3]))
    engine.process(batch_of(frames[3:]))  # a direction first seen in an earlier batch, one new this batch
    assert [(p.payload, p.src_ip, p.dst_ip, p.vlan, p.ethertype) for p in d.seen] == [
        (b"q1", C, S, 7, 0x0800), (b"q6", a6, b6, None, 0x86DD), (b"a1", S, C, 7, 0x0800),
        (b"a6", b6, a6, None, 0x86DD), (b"q2", C, S, None, 0x0800)]


def test_flows_closed_together_keep_their_own_app_and_failed_service() -> None:
    frames = [(1.0, ethernet(udp(C, S, 1234, 4321, b"nobody's"))), (1.1, ethernet(udp(C, S, 40000, 9999, b"bad"))),
              (1.2, ethernet(udp(C, S, 33000, 53, b"q"))), (1.3, ethernet(udp(S, C, 4321, 1234, b"reply")))]
    _, _, flows = _run([Broken(), Dns()], frames)
    by_port = {f.b_port: (f.app, f.extra.get("failed_services")) for f in flows}
    assert by_port == {4321: (None, None), 9999: (None, ["broken"]), 53: ("dns", None)}


# -- roles a dissector proves (dissect/base.py FLIP_STATE_KEY; Zeek's Connection::FlipRoles) -----------------------

class Answers(Recorder):
    """A protocol on an undeclared port whose first datagram is the server's answer ("ANS")."""

    name = "answers"

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return payload.startswith((b"ANS", b"REQ"))

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if pkt.payload.startswith(b"ANS") and pkt.to_server:
            flip_roles(state)
        return [] if pkt.payload.endswith(b"silent") else super().dissect(pkt, state)


def test_a_dissector_that_sees_the_first_sender_answer_flips_the_flows_roles() -> None:
    # the server answers first from 6001 (neither port declared: the first sender was taken for the client)
    frames = [(1.0, ethernet(udp(S, C, 6001, 50000, b"ANS session"))), (1.1, ethernet(udp(C, S, 50000, 6001, b"REQ")))]
    _, obs, flows = _run([Answers()], frames)
    (flow,) = flows
    assert (flow.a_ip, flow.a_port, flow.b_ip, flow.b_port, flow.app) == (C, 50000, S, 6001, "answers")
    assert (flow.pkts_ab, flow.pkts_ba, flow.extra["flipped"]) == (1, 1, "answer")
    assert [(o.src_ip, o.src_port) for o in obs] == [(S, 6001), (C, 50000)]  # observations keep their packets


def test_a_flow_its_dissector_never_confirmed_keeps_the_roles_the_engine_gave_it() -> None:
    frames = [(1.0, ethernet(udp(S, C, 6001, 50000, b"ANS silent")))]
    _, _, flows = _run([Answers()], frames)
    (flow,) = flows
    assert (flow.a_ip, flow.a_port, flow.app, "flipped" in flow.extra) == (S, 6001, None, False)


def test_the_vni_tuples_are_shared_and_bounded() -> None:
    """Packet.vni (and so Observation.vni) is one tuple per packed Headers.vni value, kept in an LRU."""
    assert _vnis(0) is None
    assert _vnis(VNI_PRESENT | 4001) == (4001,)
    assert _vnis(((VNI_PRESENT | 4001) << VNI_FIELD) | VNI_PRESENT | 1) == (4001, 1)
    assert _vnis(VNI_PRESENT | 7) is _vnis(VNI_PRESENT | 7)
    for v in range(MAX_VNI_TEXTS + 100):
        _vnis(VNI_PRESENT | v)
    assert _vnis.cache_info().currsize == MAX_VNI_TEXTS
