"""Observations do not depend on how a sender's bytes were cut into packets (streambuf's contract,
end to end through the engine): real captures, the lab's scenarios and flows built around bulk bytes
give the same Observations as they do coalesced GRO-style into super-packets of up to 64 KiB and cut
into pieces of 1 to 7 bytes (tests/dissect/resegment.py).

Compared, per protocol: the multiset of (proto, kind, subject, MACs, addresses, ports, VLAN, fields).
Not compared: timestamps (a super-packet carries its first segment's time, as GRO's merged skb does, so
an Observation completed by a later segment is stamped earlier) and order across flows (coalescing
moves a segment's bytes up to its super-packet's place in the capture).

Engine bounds that count packets, not bytes, are lifted here so that what is checked is the
dissectors' framing: each dissector's ``max_packets_per_flow`` and the safety net behind a stream
dissector's byte budget, ``max_stream_packets`` (cost bounds: a flow cut into 1-byte pieces reaches them
sooner; the byte budgets themselves are kept, they read a flow's first bytes whatever its cut), and the
reassembly's ``tcp_max_ooo_segments`` (one reordered segment cut into hundreds of pieces would overflow
it). The split capture keeps each direction's first payload segment whole: a protocol on an unlisted port
is recognised by probing that segment (engine/dispatch.py), and a 3-byte segment names nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import StreamDissector
from iotwarden.engine.core import Engine, EngineConfig
from iotwarden.errors import CaptureError
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import CaptureStats, Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import SHARED_DATA
from tests.dissect import bigflows, resegment

PCAPS = SHARED_DATA / "pcaps"
SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
# captures with TCP payload for the stream dissectors (labeled_locks_cams is cut to headers: no payload)
REAL = [
    "nku_lifecycle/pcaps/xiaodu_plug_lifecycle/xiaodu_plug_idle_on_local.pcap",  # http, tls
    "nku_lifecycle/pcaps/xiaobai_Y2camera_lifecycle/xiaobai_Y2camera_setup.pcap",  # tls
    "suricata_verify/mqtt-limit-2/input.pcap",  # 32 KiB segments: a capture with super-packets already
    "suricata_verify/mqtt-events-missing-connect/input.pcap",  # mqtt, http on an unlisted port (probe)
    "suricata_verify/ssh-hassh-reassembled/input.pcap",
    "suricata_verify/telnet/telnet-01/telnet.pcap",
    "suricata_verify/tls/tls-certs-alert/input.pcap",
    "suricata_verify/modbus/modbus.pcap",
    "suricata_verify/dnp3/dnp3-eve/input.pcap",
    "ics_iti/pcaps/fox/fox_info.pcap",
    "ics_iti/pcaps/IEC61850/Sample_File_MMS_and_GOOSE.pcap",  # mms over ISO-TSAP
    "ics_iti/pcaps/IEC61850/m-send-req.mms.pcap",  # http
    "tcpdump_tests/dns_tcp.pcap",
    "tcpdump_tests/telnet-iac-check-oobr.pcap",  # malformed: the contract, whatever the cut
]
Key = tuple[Any, ...]


def _dissectors() -> list[Any]:
    out = default_dissectors()
    for d in out:
        d.max_packets_per_flow = None  # the per-flow packet bounds are lifted (module docstring)
        if isinstance(d, StreamDissector):
            d.max_stream_packets = None  # type: ignore[misc]
    return out


def _key(o: Observation) -> Key:
    return (o.proto, o.kind, o.subject, o.src_mac, o.dst_mac, o.src_ip, o.dst_ip, o.src_port, o.dst_port, o.vlan,
            json.dumps(o.fields, sort_keys=True, default=repr))


def observe(path: Path) -> tuple[dict[str, Counter[Key]], CaptureStats]:
    """The engine's Observations of a capture, per protocol, as comparable multisets."""
    engine = Engine(_dissectors(), EngineConfig(tcp_max_ooo_segments=1 << 20))
    got: list[Observation] = []
    try:
        for batch in read_capture(path, batch_size=65536):
            got += engine.process(batch).observations
    except CaptureError:
        pass  # a damaged capture: what was read counts, the same in every cut
    got += engine.flush().observations
    by: dict[str, Counter[Key]] = {}
    for o in got:
        by.setdefault(o.proto, Counter())[_key(o)] += 1
    return by, engine.stats


def _cuts(src: Path, tmp: Path) -> dict[str, Path]:
    linktype, frames = resegment.read_frames(src)
    coalesced = resegment.coalesce(linktype, frames)
    split = resegment.split(linktype, frames, sizes=(1, 7), seed=len(frames), keep_first=True)
    resegment.write_frames(tmp / "coalesced.pcap", linktype, coalesced)
    resegment.write_frames(tmp / "split.pcap", linktype, split)
    return {"coalesced": tmp / "coalesced.pcap", "split": tmp / "split.pcap"}


def assert_invariant(src: Path, tmp: Path) -> tuple[dict[str, Counter[Key]], list[CaptureStats]]:
    """The original's Observations, after checking each cut's are the same; the stats of all three."""
    original, stats = observe(src)
    every = [stats]
    for cut, path in _cuts(src, tmp).items():
        other, stats = observe(path)
        every.append(stats)
        for proto in sorted(set(original) | set(other)):
            want, got = original.get(proto, Counter()), other.get(proto, Counter())
            assert got == want, (f"{cut} {proto}: missing {list((want - got).items())[:2]}, "
                                 f"extra {list((got - want).items())[:2]}")
    return original, every


@pytest.mark.parametrize("name", REAL)
def test_real_captures_observe_the_same_however_cut(name: str, tmp_path: Path) -> None:
    src = PCAPS / name
    if not src.is_file():
        pytest.skip(f"test data not found: {src}")
    assert_invariant(src, tmp_path)


@pytest.mark.parametrize("scenario", ["small", "enterprise"])
def test_lab_scenarios_observe_the_same_however_cut(scenario: str, tmp_path: Path) -> None:
    src = tmp_path / f"{scenario}.pcap"
    generate(load_scenario(SCENARIOS / f"{scenario}.yaml"), src, tmp_path / f"{scenario}.json")
    seen, _ = assert_invariant(src, tmp_path)
    assert {"http", "tls", "mqtt", "rtsp", "kerberos", "telnet"} <= set(seen)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bigflows.write(tmp_path_factory.mktemp("big") / "big.pcap")


def test_messages_around_bulk_bytes_survive_super_packets(big: Path, tmp_path: Path) -> None:
    seen, stats = assert_invariant(big, tmp_path)
    _, frames = resegment.read_frames(tmp_path / "coalesced.pcap")
    assert max(len(f) for _, f in frames) > 60_000  # GRO-sized deliveries did reach the dissectors
    # the two malformed messages, and nothing else: no flow was given up, however cut
    assert all(dict(s.parse_errors) == {"http": 1, "mqtt": 1} for s in stats)
    kinds = Counter((proto, k[1]) for proto, c in seen.items() for k in c.elements())
    # the malformed request is counted and still reported (invalid True): three requests and their answers
    assert kinds == {("http", "request"): 4 + 3, ("http", "response"): 4 + 3, ("ftp", "banner"): 1,
                     ("ftp", "login_attempt"): 2, ("tls", "client_hello"): 1, ("tls", "server_hello"): 1,
                     ("tls", "certificate"): 1, ("mqtt", "connect"): 2, ("mqtt", "connack"): 2,
                     ("mqtt", "publish"): 1 + 2, ("mqtt", "subscribe"): 1}
    fields = [json.loads(k[-1]) for k in seen["http"]]
    assert {f.get("uri") for f in fields} >= {"/a", "/b", "/c"}  # the malformed pipelined request and around it
    assert [f.get("uri") for f in fields if f.get("invalid")] == ["/b"]
    assert {f.get("basic_user") for f in fields} == {None, "admin", "user"}
    assert {f.get("server") for f in fields} == {None, "lighttpd/1.4.59", "App-webs/", "HP HTTP Server; HP LaserJet"}
    banner = json.loads(next(iter(seen["ftp"]))[-1])
    assert banner["banner"].count("\n") == bigflows.BANNER_LINES - 1


def _streams(path: Path) -> dict[Key, bytes]:
    """Each direction's bytes by sequence offset from its first segment (retransmissions overlaid)."""
    linktype, frames = resegment.read_frames(path)
    base: dict[Key, int] = {}
    out: dict[Key, bytearray] = {}
    for _, frame in frames:
        dec = resegment.decode(linktype, frame)
        if dec is None or not dec.tcp.data:
            continue
        key = dec.key()
        off = (dec.tcp.seq - base.setdefault(key, dec.tcp.seq)) % 2**32
        buf = out.setdefault(key, bytearray())
        if len(buf) < off:
            buf += bytes(off - len(buf))
        buf[off : off + len(dec.tcp.data)] = dec.tcp.data
    return {k: bytes(v) for k, v in out.items()}


def test_the_cuts_keep_every_byte_stream(big: Path, tmp_path: Path) -> None:
    cuts = _cuts(big, tmp_path)
    want = _streams(big)
    assert len(want) == 12 and all(_streams(p) == want for p in cuts.values())
    linktype, split = resegment.read_frames(cuts["split"])
    pieces = [len(d.tcp.data) for d in (resegment.decode(linktype, f) for _, f in split) if d and d.tcp.data]
    firsts = 12  # each direction's first payload segment is kept whole
    assert sorted(pieces)[-firsts - 1] <= 7
    _, coalesced = resegment.read_frames(cuts["coalesced"])
    assert max(len(f) for _, f in coalesced) <= 14 + resegment.SUPER_MAX
