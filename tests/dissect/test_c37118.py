"""IEEE C37.118 synchrophasor dissector: frames built from C37.118.2-2011 §6, the ics_iti captures as tshark's
synphasor dissector decodes them (station names, IDCODEs, commands), data frames counted, hostile input."""

from __future__ import annotations

import binascii
import struct
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import CONFIRMED_STATE_KEY, Packet
from iotwarden.dissect.c37118 import DATA_REPORT_EVERY, MAX_CHANNEL_NAMES, C37118Dissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id
from tests.pcaputil import iter_packets

C37 = ("pcaps", "ics_iti", "pcaps", "C37.118")


def frame(frame_type: int, body: bytes, idcode: int = 7, version: int = 1) -> bytes:
    """SYNC, FRAMESIZE, IDCODE, SOC, FRACSEC (§6.2), body, CHK (CRC-CCITT, start 0xFFFF)."""
    head = struct.pack(">BBHHII", 0xAA, (frame_type << 4) | version, 14 + len(body) + 2, idcode, 1_217_606_730,
                       1_677_722)
    data = head + body
    return data + struct.pack(">H", binascii.crc_hqx(data, 0xFFFF))


def pmu_block(name: bytes, idcode: int, phasors: list[bytes], fnom_50: bool = True) -> bytes:
    """A CFG-2 PMU block (Table 8): STN, IDCODE, FORMAT, PHNMR, ANNMR, DGNMR, CHNAM, PHUNIT, FNOM, CFGCNT."""
    names = b"".join(n.ljust(16) for n in phasors)
    return (name.ljust(16) + struct.pack(">HHHHH", idcode, 0x0006, len(phasors), 0, 0) + names
            + b"\x00\x00\x00\x01" * len(phasors) + struct.pack(">HH", 1 if fnom_50 else 0, 89))


def config2(*blocks: bytes, rate: int = 50) -> bytes:
    return frame(3, struct.pack(">IH", 1_000_000, len(blocks)) + b"".join(blocks) + struct.pack(">h", rate))


def command(code: int) -> bytes:
    return frame(4, struct.pack(">H", code))


def data(stat: int) -> bytes:
    return frame(0, struct.pack(">H", stat) + bytes(16) + b"\x00\x00\x00\x00")


def observations(name: str) -> list[Observation]:
    obs, errors = run(C37118Dissector(), shared(*C37, *name.split("/")))
    assert not errors
    return obs


def test_a_configuration_frame_names_its_pmu_stations() -> None:
    cfg = config2(pmu_block(b"Blue PMU", 241, [b"V1LPM", b"VALPM"]), pmu_block(b"Feeder 2", 242, [b"IA"], False))
    [obs] = feed_chunks(C37118Dissector(), [(False, cfg)])
    assert obs.kind == "config" and obs.subject == "src" and obs.src_ip == "10.0.0.2"
    f = obs.fields
    assert (f["frame_type"], f["version"], f["idcode"], f["time_base"], f["num_pmu"], f["data_rate"]) == (
        "cfg2", 1, 7, 1_000_000, 2, 50)
    assert f["soc"] == 1_217_606_730 and f["fracsec"] == 1_677_722
    assert f["pmus"] == [
        {"station_name": "Blue PMU", "idcode": 241, "format": 6, "phasors": 2, "analogs": 0, "digitals": 0,
         "channel_names": ["V1LPM", "VALPM"], "fnom": 50, "cfgcnt": 89},
        {"station_name": "Feeder 2", "idcode": 242, "format": 6, "phasors": 1, "analogs": 0, "digitals": 0,
         "channel_names": ["IA"], "fnom": 60, "cfgcnt": 89}]


def test_a_cfg3_frame_with_variable_names_and_position() -> None:
    block = (b"\x04PMU9" + struct.pack(">H", 9) + bytes(range(16)) + struct.pack(">HHHH", 0, 1, 0, 0)
             + b"\x02VA" + bytes(12) + struct.pack(">fff", 45.5, -73.25, 30.0) + b"M" + bytes(8)
             + struct.pack(">HH", 1, 3))
    cfg3 = frame(5, struct.pack(">HIH", 0, 1_000_000, 1) + block + struct.pack(">h", 60), version=2)
    [obs] = contract(C37118Dissector(), cfg3, to_server=False, port=4712)
    pmu = obs.fields["pmus"][0]
    assert obs.fields["frame_type"] == "cfg3" and obs.fields["cont_idx"] == 0 and obs.fields["data_rate"] == 60
    assert (pmu["station_name"], pmu["idcode"], pmu["g_pmu_id"], pmu["channel_names"]) == (
        "PMU9", 9, bytes(range(16)).hex(), ["VA"])
    assert (pmu["latitude"], pmu["longitude"], pmu["elevation"], pmu["svc_class"], pmu["fnom"]) == (
        45.5, -73.25, 30.0, "M", 50)
    fragment = frame(5, struct.pack(">H", 1) + bytes(10), version=2)  # CONT_IDX 1: first of several frames
    [part] = contract(C37118Dissector(), fragment, to_server=False, port=4712)
    assert part.fields["cont_idx"] == 1 and "pmus" not in part.fields


@pytest.mark.parametrize(("code", "name"), [
    (1, "turn_off_transmission"), (2, "turn_on_transmission"), (3, "send_header"), (4, "send_cfg1"),
    (5, "send_cfg2"), (6, "send_cfg3"), (8, "extended_frame"), (0x0100, "user_defined"), (7, "reserved"),
])
def test_commands_by_their_table_15_names(code: int, name: str) -> None:
    [obs] = contract(C37118Dissector(), command(code), port=4712)
    assert (obs.kind, obs.fields["command_code"], obs.fields["command"], obs.fields["extended_frame_length"]) == (
        "command", code, name, 0)
    assert "ot_operation" not in obs.fields  # no command changes the device (module docstring)


def test_a_header_frame_gives_its_text() -> None:
    [obs] = contract(C37118Dissector(), frame(1, b"SEL-487E PMU, substation North\x00"), to_server=False, port=4712)
    assert (obs.kind, obs.fields["text"]) == ("header", "SEL-487E PMU, substation North")


def test_data_frames_are_counted_and_described_when_their_stat_changes() -> None:
    d, state = C37118Dissector(), cast(dict[str, Any], {})
    pkt = Packet(ts=1.0, payload=b"", ip_proto=6, src_port=4712, dst_port=40000, to_server=False)
    out = []
    for stat in [0, 0, 0, 0x2000, 0x2000, 0]:
        out += d.feed(pkt, data(stat), state)
    assert [(o.fields["data_frames"], o.fields["stat"], o.fields["pmu_sync"]) for o in out] == [
        (1, 0, True), (4, 0x2000, False), (6, 0, True)]
    assert state[CONFIRMED_STATE_KEY]
    flags = d.feed(pkt, data(0xE000 | 0x0800 | 0x0400 | 0x0200 | 0x0180 | 0x0030 | 0x5), state)[0].fields
    assert (flags["data_error"], flags["pmu_trigger"], flags["config_change"], flags["data_modified"],
            flags["time_quality"], flags["unlocked_time"], flags["trigger_reason"]) == (3, True, True, True, 6, 3, 5)


def test_a_steady_stream_is_still_reported_every_so_often() -> None:
    d, state = C37118Dissector(), cast(dict[str, Any], {})
    pkt = Packet(ts=1.0, payload=b"", ip_proto=6, src_port=4712, dst_port=40000, to_server=False)
    made = sum(len(d.feed(pkt, data(0), state)) for _ in range(DATA_REPORT_EVERY * 2))
    assert made == 3 and state["data_frames_buf_s2c"] == DATA_REPORT_EVERY * 2


def test_channel_names_kept_are_bounded() -> None:
    many = [f"CH{i}".encode() for i in range(MAX_CHANNEL_NAMES + 8)]
    [obs] = contract(C37118Dissector(), config2(pmu_block(b"Big", 1, many)), to_server=False, port=4712)
    pmu = obs.fields["pmus"][0]
    assert pmu["phasors"] == MAX_CHANNEL_NAMES + 8 and len(pmu["channel_names"]) == MAX_CHANNEL_NAMES
    assert pmu["fnom"] == 50 and pmu["cfgcnt"] == 89  # the block is still read to its end


def test_bad_checksum_sync_and_size_are_parse_errors() -> None:
    good = command(2)
    d = C37118Dissector()
    pkt = Packet(ts=0.0, payload=b"", ip_proto=6, to_server=True)
    with pytest.raises(ParseError, match="CHK"):
        d.feed(pkt, good[:-1] + bytes([good[-1] ^ 1]), {})
    with pytest.raises(ParseError, match="SYNC"):
        d.feed(pkt, b"\xab" + good[1:], {})
    with pytest.raises(ParseError, match="FRAMESIZE"):
        d.feed(pkt, good[:2] + b"\x00\x0a" + good[4:], {})
    state: dict[str, Any] = {}
    assert d.feed(pkt, good[:9], state) == [] and d.feed(pkt, good[9:], state)[0].fields["command"] == \
        "turn_on_transmission"


def test_sel_pmu_over_tcp() -> None:
    """C37.118_1PMU_TCP: the SEL PMU (00:30:a7) 'Blue PMU', stream and PMU IDCODE 241, 4 phasors, 50 Hz;
    the PDC sends send CFG-2, turn on, turn off (tshark synphasor.command 5, 2, 1)."""
    obs = observations("C37.118_1PMU_TCP.pcap")
    [cfg] = [o for o in obs if o.kind == "config"]
    assert cfg.src_mac == "00:30:a7:00:0d:3a" and cfg.src_port == 4712
    assert (cfg.fields["idcode"], cfg.fields["time_base"], cfg.fields["data_rate"]) == (241, 16_777_215, 50)
    [pmu] = cfg.fields["pmus"]
    assert (pmu["station_name"], pmu["idcode"], pmu["phasors"], pmu["fnom"], pmu["cfgcnt"]) == (
        "Blue PMU", 241, 4, 50, 89)
    assert pmu["channel_names"] == ["V1LPM", "VALPM", "VBLPM", "VCLPM"]
    assert [o.fields["command"] for o in obs if o.kind == "command"] == [
        "send_cfg2", "turn_on_transmission", "turn_off_transmission"]
    assert {o.src_ip for o in obs if o.kind == "command"} == {"192.168.0.20"}


def test_ge_pmu_over_udp() -> None:
    """C37.118_1PMU_UDP: the GE PMU (00:a0:f4) streams from udp/4713: station PMU1, PMU IDCODE 61 in stream 60."""
    obs = observations("C37.118_1PMU_UDP.pcap")
    [cfg] = [o for o in obs if o.kind == "config"]
    assert cfg.src_mac == "00:a0:f4:01:a3:48" and cfg.src_port == 4713 and cfg.ip_proto == 17
    assert cfg.fields["idcode"] == 60 and [(p["station_name"], p["idcode"], p["phasors"], p["digitals"])
                                           for p in cfg.fields["pmus"]] == [("PMU1", 61, 3, 1)]
    assert Counter(o.fields["command"] for o in obs if o.kind == "command") == {
        "turn_off_transmission": 2, "send_cfg2": 1, "turn_on_transmission": 1}


def test_four_pmus_in_one_stream() -> None:
    """C37.118_4in1PMU_TCP: one stream (IDCODE 60) of four PMU blocks PMU1..PMU4 (IDCODEs 61-64), sent three
    times; tshark: phasors 3, 14, 14, 14 and analogs 0, 8, 4, 0."""
    configs = [o for o in observations("C37.118_4in1PMU_TCP.pcap") if o.kind == "config"]
    assert len(configs) == 3
    pmus = configs[0].fields["pmus"]
    assert [(p["station_name"], p["idcode"], p["phasors"], p["analogs"]) for p in pmus] == [
        ("PMU1", 61, 3, 0), ("PMU2", 62, 14, 8), ("PMU3", 63, 14, 4), ("PMU4", 64, 14, 0)]


def test_vizimax_pmu_header_and_data_frames_counted() -> None:
    """c37_1100_clean_tcp: the Vizimax PMU (00:25:65) 'Reporting1' at 60 frames/s, 60 Hz, answers send
    header; tshark counts 422 data frames, all with STAT 0x21f0 (8688)."""
    d, state = C37118Dissector(), cast(dict[str, Any], {})
    obs = []
    seen: set[tuple[object, ...]] = set()
    for pkt in iter_packets(shared(*C37, "C37118", "c37_1100_clean_tcp.pcap")):
        segment = (pkt.src_port, pkt.tcp_seq, len(pkt.payload))
        if pkt.ip_proto == 6 and pkt.payload and 4712 in (pkt.src_port, pkt.dst_port) and segment not in seen:
            seen.add(segment)  # a retransmission is no new frame
            pkt.to_server = pkt.dst_port == 4712
            obs += d.feed(pkt, pkt.payload, state)
    [cfg] = [o for o in obs if o.kind == "config"]
    assert cfg.src_mac == "00:25:65:00:2b:c2" and cfg.fields["data_rate"] == 60
    assert [(p["station_name"], p["idcode"], p["phasors"], p["digitals"], p["fnom"]) for p in cfg.fields["pmus"]] == [
        ("Reporting1", 1, 10, 3, 60)]
    assert len([o for o in obs if o.kind == "header"]) == 1
    assert state["data_frames_buf_s2c"] == 422
    assert {o.fields["stat"] for o in obs if o.kind == "data"} == {8688}


@pytest.mark.parametrize("name", ["C37.118_2PMUsInSync_TCP.pcap", "C37118/c37_pmu_clean.pcap",
                                  "C37118/c37_pmu_unclean.pcap", "C37118/c37_1100_fullclean.pcap"])
def test_every_capture_decodes_without_errors(name: str) -> None:
    kinds = Counter(o.kind for o in observations(name))
    assert kinds["config"] >= 1 and kinds["command"] >= 3 and kinds["data"] >= 1


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(C37118Dissector(), path)
    assert all(o.proto == "c37118" for o in obs)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(C37118Dissector(), shared("pcaps", "tcpdump_tests", name))
    feed_capture_any_port(C37118Dissector(), shared("pcaps", "tcpdump_tests", name), ip_proto=17)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_contract(payload: bytes, to_server: bool) -> None:
    contract(C37118Dissector(), payload, to_server=to_server, port=4712)
    contract(C37118Dissector(), b"\xaa" + payload, to_server=to_server, port=4712)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([0, 1, 2, 3, 4, 5]))
def test_fuzz_bodies_inside_valid_frames(body: bytes, frame_type: int) -> None:
    contract(C37118Dissector(), frame(frame_type, body), to_server=False, port=4712)
    contract(C37118Dissector(), frame(frame_type, body), ip_proto=17, port=4713)
