"""The IEC 61850 GOOSE / Sampled Values dissector, on hand-built frames and the ics_iti IEC61850 captures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.goose import NEWS, REPEAT_S, GooseDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, by_frame, contract_call, frame, mutate, single
from tests.dissect.ot_captures import run, sweep_captures, sweep_id

D = GooseDissector()
IEC = ("pcaps", "ics_iti", "pcaps", "IEC61850")


def tlv(tag: int, value: bytes) -> bytes:
    assert len(value) < 0x80 or tag in (0x61, 0x60)
    if len(value) < 0x80:
        return bytes([tag, len(value)]) + value
    return bytes([tag, 0x82]) + len(value).to_bytes(2, "big") + value


def link(appid: int, apdu: bytes, reserved1: int = 0) -> bytes:
    """IEC 61850-8-1 §C.2.3 header: APPID, Length (header included), Reserved 1, Reserved 2."""
    return appid.to_bytes(2, "big") + (8 + len(apdu)).to_bytes(2, "big") + reserved1.to_bytes(2, "big") + \
        b"\x00\x00" + apdu


GOOSE_PDU = (tlv(0x80, b"IED1LD0/LLN0$GO$gcb1") + tlv(0x81, b"\x07\xd0") + tlv(0x82, b"IED1LD0/LLN0$ds1")
             + tlv(0x83, b"trip") + tlv(0x84, b"\x5f\x5e\x10\x00\x80\x00\x00\x0a") + tlv(0x85, b"\x05")
             + tlv(0x86, b"\x00\xff") + tlv(0x87, b"\x00") + tlv(0x88, b"\x01") + tlv(0x89, b"\x00")
             + tlv(0x8A, b"\x02") + tlv(0xAB, tlv(0x83, b"\x01") + tlv(0x84, b"\x03\x00")))
GOOSE = link(0x3001, tlv(0x61, GOOSE_PDU))
ASDU = tlv(0x30, tlv(0x80, b"MU01MU/LLN0$sv1") + tlv(0x82, b"\xff\xfe") + tlv(0x83, b"\x00\x00\x00\x01")
           + tlv(0x85, b"\x02") + tlv(0x87, b"\x00" * 64))
SV = link(0x4000, tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA2, ASDU)), reserved1=0x8000)


def test_a_goose_message_names_its_control_block_and_logical_device() -> None:
    (obs,) = D.dissect(frame(GOOSE, 0x88B8), {})
    f = obs.fields
    assert (obs.kind, obs.subject, f["appid"], f["simulated"]) == ("goose", "src", 0x3001, False)
    assert (f["gocb_ref"], f["ld_name"], f["dat_set"], f["go_id"]) == \
        ("IED1LD0/LLN0$GO$gcb1", "IED1LD0", "IED1LD0/LLN0$ds1", "trip")
    assert (f["time_allowed_to_live"], f["st_num"], f["sq_num"], f["conf_rev"]) == (2000, 5, 255, 1)
    assert (f["test"], f["nds_com"], f["num_dat_set_entries"], f["all_data_count"]) == (False, False, 2, 2)
    assert f["t"] == 1600000000.5  # seconds 0x5F5E1000, fraction 0x800000


def test_a_sampled_values_stream_names_its_first_asdu() -> None:
    (obs,) = D.dissect(frame(SV, 0x88BA), {})
    f = obs.fields
    assert (obs.kind, f["appid"], f["simulated"], f["no_asdu"]) == ("sampled_values", 0x4000, True, 1)
    assert (f["sv_id"], f["smp_cnt"], f["conf_rev"], f["smp_synch"]) == ("MU01MU/LLN0$sv1", 65534, 1, 2)


def test_gse_management_on_the_goose_ethertype() -> None:
    (obs,) = D.dissect(frame(link(1, tlv(0x60, tlv(0x80, b"\x00"))), 0x88B8), {})
    assert obs.kind == "gse_management"


@pytest.mark.parametrize(("data", "ethertype"), [
    (GOOSE[:9], 0x88B8),  # shorter than its header
    (GOOSE[:2] + b"\x7f\xff" + GOOSE[4:], 0x88B8),  # Length beyond the frame
    (link(1, tlv(0x61, tlv(0x82, b"ds"))), 0x88B8),  # no gocbRef
    (link(1, tlv(0x62, b"")), 0x88B8),  # not a GOOSE APDU
    (GOOSE, 0x88BA),  # a goosePdu on the SV ethertype
    (link(1, tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA2, tlv(0x30, tlv(0x82, b"\x00\x01"))))), 0x88BA),  # no svID
])
def test_malformed_frames_are_parse_errors(data: bytes, ethertype: int) -> None:
    with pytest.raises(ParseError):
        D.dissect(frame(data, ethertype), {})


def test_ge_f650_relay() -> None:
    # IEC61850/GOOSE/GOOSE.pcap: a GE Multilin F650 relay's heartbeat (tshark goose fields), every frame
    obs, errors = run(GooseDissector(repeat_s=0.0), shared(*IEC, "GOOSE", "GOOSE.pcap"))
    assert not errors and len(obs) == 8
    f = obs[0].fields
    assert (obs[0].src_mac, f["gocb_ref"], f["ld_name"], f["go_id"], f["dat_set"]) == \
        ("00:a0:f4:08:2f:77", "GEDeviceF650/LLN0$GO$gcb01", "GEDeviceF650", "F650_GOOSE1", "GEDeviceF650/LLN0$GOOSE1")
    assert (f["appid"], f["time_allowed_to_live"], f["conf_rev"], f["num_dat_set_entries"]) == (1, 40000, 1, 8)
    assert sorted(o.fields["sq_num"] for o in obs) == [1, 2, 3, 4, 5, 10, 11, 12]
    # by default a heartbeat repeating its state number within a minute is reported once
    (first,), _ = run(GooseDissector(), shared(*IEC, "GOOSE", "GOOSE.pcap"))
    assert first.fields == obs[0].fields


def _reported(frames: list[Observation], repeat_s: float) -> list[tuple[float, int]]:
    """The frames a stream-by-stream reading reports (the module docstring's rule), as (ts, repeats)."""
    last: dict[tuple[object, ...], tuple[float, tuple[object, ...], int]] = {}
    out = []
    for o in frames:
        stream = (o.src_mac, o.fields.get("appid"), o.fields.get("gocb_ref") or o.fields.get("sv_id"))
        said = tuple(o.fields.get(k) for k in NEWS)
        seen = last.get(stream)
        if seen is not None and seen[1] == said and o.ts - seen[0] < repeat_s:
            last[stream] = (seen[0], said, seen[2] + 1)
            continue
        out.append((o.ts, seen[2] if seen else 0))
        last[stream] = (o.ts, said, 0)
    return out


def test_repeats_are_left_out_and_counted_in_the_next_report() -> None:
    every, _ = run(GooseDissector(repeat_s=0.0), shared(*IEC, "GOOSE", "Sample_File_GOOSE.pcap"))
    reports, _ = run(GooseDissector(), shared(*IEC, "GOOSE", "Sample_File_GOOSE.pcap"))
    assert [(o.ts, o.fields.get("repeats", 0)) for o in reports] == _reported(every, REPEAT_S)
    assert len({o.fields["ld_name"] for o in reports}) == 3 and len(reports) < len(every) == 451
    assert sum(o.fields.get("repeats", 0) for o in reports) + len(reports) <= len(every)


def test_a_new_state_number_or_a_minute_is_news() -> None:
    d = GooseDissector()
    news = [d.dissect(Packet(ts=t, payload=GOOSE, ethertype=0x88B8, src_mac="00:a0:f4:08:2f:77"), {})
            for t in (0.0, 1.0, 2.0, REPEAT_S + 0.5)]
    assert [len(n) for n in news] == [1, 0, 0, 1]
    assert news[3][0].fields["repeats"] == 2
    other = d.dissect(Packet(ts=3.0, payload=GOOSE, ethertype=0x88B8, src_mac="00:a0:f4:08:2f:78"), {})
    assert len(other) == 1  # another publisher is another stream


def test_a_vlan_tagged_demo_publisher() -> None:
    # IEC61850/GOOSE/GOOSE_DEMO.pcap: one frame behind an 802.1Q tag, VLAN 10
    f = single(by_frame(D, shared(*IEC, "GOOSE", "GOOSE_DEMO.pcap")), 1).fields
    assert (f["appid"], f["gocb_ref"], f["dat_set"], f["go_id"], f["all_data_count"]) == \
        (0x2000, "111", "222", "333", 10)
    assert "ld_name" not in f  # no "/": no logical device named


def test_abb_interlocking_publishers() -> None:
    # IEC61850/GOOSE/Sample_File_GOOSE.pcap: priority-tagged GOOSE of ABB bay controllers
    obs, errors = run(GooseDissector(repeat_s=0.0), shared(*IEC, "GOOSE", "Sample_File_GOOSE.pcap"))
    assert not errors and len(obs) == 451
    assert {o.fields["ld_name"] for o in obs} == {"AA1C1Q01A1LD0", "AA1C1Q05A1LD0", "AA1C1Q07A1LD0"}
    first = obs[0].fields
    assert (first["appid"], first["st_num"], first["sq_num"], first["num_dat_set_entries"]) == (0x3001, 36705, 0, 25)


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(D, path)
    assert all(o.proto == "goose" for o in obs)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([0x88B8, 0x88BA]))
def test_random_bytes_honour_the_contract(data: bytes, ethertype: int) -> None:
    contract_call(D, frame(data, ethertype), {})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([(GOOSE, 0x88B8), (SV, 0x88BA)]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: tuple[bytes, int], edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, frame(mutate(seed[0], edits, cut), seed[1]), {})
