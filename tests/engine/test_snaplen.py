"""Captures cut by a short snap length (issues #3/#4): the same counters, no conclusion from a cut message, a
cut TCP segment a gap at once, and a note saying the capture was cut.

The sweep over the shared captures and lab scenarios is bench/snaplen.py (tests/engine/snapcheck.py); here a
few captures pin it in the default suite, then the bugs it found, each on its capture and on a built case."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.engine.batch import PacketBatch
from iotwarden.engine.core import Engine
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import SHARED_DATA
from tests.engine import snapcheck
from tests.engineutil import Recorder
from tests.services import builders as b
from tests.sources.capbuild import ACK, PSH, SYN, ethernet, tcp, udp

PCAPS = SHARED_DATA / "pcaps"
C, S = "192.168.1.10", "192.168.1.20"
# small captures covering what a cut reaches: TCP streams (SSH banners, TLS certificates, Modbus, DNP3),
# datagrams (FINS controller data, DHCP, DNS, SNMP), link-layer frames (CDP), IPv6 (-s 64 cuts its TCP header)
FAST = (
    "ics_iti/pcaps/omron/omron_test.pcap",
    "ics_iti/pcaps/openics/EIP-IPAddressChangeAttempt.pcap",
    "suricata_verify/ssh-hassh-reassembled/input.pcap",
    "suricata_verify/tls/tls-certs-alert/input.pcap",
    "suricata_verify/dnp3/dnp3-too-long-reassembly-request/input.pcap",
    "suricata_verify/snmp-v2c-get/SNMPv2c_get_requests.pcap",
    "ics_iti/pcaps/ModbusTCP/mb2.pcap",
    "nku_lifecycle/pcaps/xiaobai_Y2camera_lifecycle/xiaobai_Y2camera_setup.pcap",
)


def _src(name: str) -> Path:
    src = PCAPS / name
    if not src.is_file():
        pytest.skip(f"test data not found: {src}")
    return src


@pytest.mark.parametrize("name", FAST)
def test_a_cut_capture_keeps_its_counters_and_concludes_nothing_the_whole_one_does_not(name: str,
                                                                                       tmp_path: Path) -> None:
    result = snapcheck.check(_src(name), tmp_path)
    assert [d.text() for d in result.differences if d.allowed is None] == []
    assert result.whole.flows and result.whole.stats.get("snapped") == 0
    for n, cut in result.cuts.items():  # and the cut is said, with the snap length
        assert cut.stats["snaplen"] == (n if cut.stats["snapped"] else 0)
    assert result.cuts[64].stats["snapped"] > 0


def test_the_allow_list_names_real_captures_and_reasons() -> None:
    captures = [str(p) for p in PCAPS.rglob("*.pcap*")]
    scenarios = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
    for rule in snapcheck.ALLOWED:
        assert len(rule.reason) > 60 and rule.kind
        if rule.capture.startswith("lab-"):  # a lab scenario's capture, as bench/snaplen.py names it
            assert (scenarios / f"{rule.capture.removeprefix('lab-')}.yaml").is_file(), rule
        else:
            assert any(rule.capture in p for p in captures) or not captures, rule


def _tshark_conversations(path: Path) -> list[tuple[int, int, int, int]]:
    """tshark's TCP conversations (-z conv,tcp): frames and bytes each way, sorted."""
    done = subprocess.run(["tshark", "-r", str(path), "-q", "-z", "conv,tcp"], capture_output=True, text=True,
                          timeout=60, check=True)
    rows = []
    for line in done.stdout.splitlines():
        m = re.search(r"<->\s+\S+\s+(\d+)\s+([\d,]+) bytes\s+(\d+)\s+([\d,]+) bytes", line)
        if m:
            rows.append(tuple(int(g.replace(",", "")) for g in m.groups()))
    return sorted(rows)  # type: ignore[arg-type]


def test_cut_flows_count_what_tshark_counts(tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    src = _src("suricata_verify/tls/tls-certs-alert/input.pcap")
    cut = snapcheck.snap(src, tmp_path / "s96.pcap", 96)
    seen = snapcheck.analyse(cut, tmp_path)
    ours = sorted(tuple(sorted([(c[1], c[3]), (c[0], c[2])], reverse=False)) for c in seen.flows.values())
    theirs = sorted(tuple(sorted([(r[0], r[1]), (r[2], r[3])])) for r in _tshark_conversations(cut))
    assert ours == theirs and ours


def _engine_observations(path: Path) -> list[Observation]:
    from iotwarden.dissect import default_dissectors

    engine = Engine(default_dissectors())
    out: list[Observation] = []
    for batch in read_capture(path):
        out.extend(engine.process(batch).observations)
    out.extend(engine.flush().observations)
    return out


def test_a_datagram_cut_by_the_snap_length_is_not_read_as_if_whole(tmp_path: Path) -> None:
    # FINS Controller Data Read's response (W342 §5-3-2: a 20-byte model, a 20-byte version): at -s 64 its
    # model was read as the 8 bytes captured, 'CP1L-EL2' for a CP1L-EL20DR-D
    src = _src("ics_iti/pcaps/omron/omron_test.pcap")

    def models(path: Path) -> set[str]:
        return {str(o.fields.get("controller_model")) for o in _engine_observations(path)
                if o.proto == "fins" and "controller_model" in o.fields}

    whole = models(snapcheck.snap(src, tmp_path / "whole.pcap", None))
    assert whole == {"CP1L-EL20DR-D"}
    for n in (64, 96):
        assert models(snapcheck.snap(src, tmp_path / f"s{n}.pcap", n)) <= whole


def _snapped(frames: list[tuple[float, bytes]], caplens: list[int | None]) -> PacketBatch:
    """A PacketBatch whose frames were each cut to their caplen (None: whole), original lengths kept."""
    cut = [f if n is None else f[:n] for (_, f), n in zip(frames, caplens, strict=True)]
    data = np.frombuffer(b"".join(cut) or b"\0", dtype=np.uint8)
    lengths = np.array([len(f) for f in cut], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    return PacketBatch(data, offsets, lengths.astype(np.int32), np.array([len(f) for _, f in frames], dtype=np.int32),
                       np.array([t for t, _ in frames], dtype=np.float64), np.ones(len(frames), dtype=np.uint16))


class Datagrams(Dissector):
    name = "dgram"
    udp_ports: ClassVar[tuple[int, ...]] = (9600,)

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        self.seen.append(pkt.payload)
        return [pkt.observation(self.name, "datagram", {"n": len(pkt.payload)})]


def test_a_cut_datagram_is_counted_not_dissected() -> None:
    d = Datagrams()
    frames = [(0.0, ethernet(udp(C, S, 50000, 9600, b"A" * 100))), (1.0, ethernet(udp(C, S, 50000, 9600, b"B" * 10)))]
    engine = Engine([d])
    engine.process(_snapped(frames, [96, 96]))  # 14 + 20 + 8 header bytes: 54 of the first's 100 kept
    engine.flush()
    assert d.seen == [b"B" * 10]
    assert engine.stats.decode_errors["snapped_payload"] == 1
    assert (engine.stats.snapped, engine.stats.snaplen) == (1, 96)


def test_a_whole_record_whose_ip_length_claims_more_is_malformed_not_cut() -> None:
    d = Datagrams()
    frame = bytearray(ethernet(udp(C, S, 50000, 9600, b"A" * 40)))
    frame[16:18] = (20 + 8 + 100).to_bytes(2, "big")  # IPv4 total length (RFC 791 §3.1): 60 bytes more than sent
    frame[38:40] = (8 + 100).to_bytes(2, "big")  # and the UDP length (RFC 768) alike
    engine = Engine([d])
    engine.process(_snapped([(0.0, bytes(frame))], [None]))
    engine.flush()
    assert d.seen == []  # a message shorter than its headers say is not read as whole either
    assert (engine.stats.snapped, engine.stats.snaplen) == (0, 0)  # but the capture cut nothing: no note


class Events(Recorder):
    """Records what it is fed and each gap, both directions in one list: their order across directions."""

    name = "events"

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        self.events.append(("gap", b"c" if to_server else b"s"))


def test_a_cut_segment_is_a_gap_at_once_not_when_the_flow_ends() -> None:
    # request 1 cut to its first 4 bytes (-s 58: 14 + 20 + 20 header bytes), request 2 cut to nothing, request 3
    # whole, then the server's answer: the gaps come where the bytes were lost, before the answer; before, the
    # requests after the first cut waited as out-of-order segments and came after the answer, at the flow's end
    d = Events()
    frames = [(0.0, ethernet(tcp(C, S, 50000, 7000, SYN, 999))),
              (0.1, ethernet(tcp(C, S, 50000, 7000, PSH | ACK, 1000, b"abcdefghij"))),
              (0.2, ethernet(tcp(C, S, 50000, 7000, PSH | ACK, 1010, b"klmno"))),
              (0.3, ethernet(tcp(C, S, 50000, 7000, PSH | ACK, 1015, b"pq"))),
              (0.4, ethernet(tcp(S, C, 7000, 50000, PSH | ACK, 5000, b"answer")))]
    engine = Engine([d])
    engine.process(_snapped(frames, [None, 58, 54, None, None]))
    engine.flush()
    assert d.events == [("c", b"abcd"), ("gap", b"c"), ("gap", b"c"), ("c", b"pq"), ("s", b"answer")]
    assert engine.stats.decode_errors["tcp_gap"] == 2
    assert (engine.stats.snapped, engine.stats.snaplen) == (2, 58)


def test_analyze_says_when_a_capture_was_cut_by_its_snap_length(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    from iotwarden.cli.main import main

    whole = snapcheck.snap(b.camera_capture(tmp_path / "cam.pcap"), tmp_path / "whole.pcap", None)
    cut = snapcheck.snap(whole, tmp_path / "cut.pcap", 96)
    packets = sum(len(batch) for batch in read_capture(whole))
    snapped = sum(int((batch.caplen < batch.wirelen).sum()) for batch in read_capture(cut))
    assert 0 < snapped < packets
    assert main(["analyze", str(whole), "--db", f"sqlite:///{tmp_path / 'a.db'}"]) == 0
    assert "snap length" not in capsys.readouterr().err
    assert main(["analyze", str(cut), "--db", f"sqlite:///{tmp_path / 'b.db'}"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "snap length" in line]
    share = f"{100 * snapped / packets:.0f}%"
    assert notes == [f"note: {cut}: {share} of packets ({snapped:,} of {packets:,}) cut by the capture's snap "
                     "length 96: application data beyond it was not read"]
