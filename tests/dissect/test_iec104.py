"""IEC 60870-5-104 dissector: APCI formats, ASDU headers, commands marked as OT operations (tshark as oracle)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.iec104 import Iec104Dissector, frame_length, parse_apdu
from iotwarden.errors import ParseError
from iotwarden.model.otops import operation_of
from tests.conftest import shared
from tests.dissect.hostile import feed_chunks
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

IEC104 = ("pcaps", "ics_iti", "pcaps", "IEC60870-5-104")
STARTDT_ACT = bytes.fromhex("680407000000")  # §5.3
TESTFR_CON = bytes.fromhex("680483000000")


def i_frame(asdu: bytes, send: int = 0, recv: int = 0) -> bytes:
    """An I-format APDU (§5.1): sequence numbers shifted left by one, low bit 0."""
    return bytes([0x68, 4 + len(asdu)]) + (send << 1).to_bytes(2, "little") + (recv << 1).to_bytes(2, "little") + asdu


def asdu(type_id: int, cot: int, ca: int, ioa: int, element: bytes, *, oa: int = 0, vsq: int = 1) -> bytes:
    """ASDU of IEC 60870-5-101 with 104's field sizes (§9): COT and CA two octets, IOA three."""
    return bytes([type_id, vsq, cot, oa]) + ca.to_bytes(2, "little") + ioa.to_bytes(3, "little") + element


def test_u_frames_name_their_function() -> None:
    assert parse_apdu(STARTDT_ACT) == ("u_frame", {"function": "startdt_act"})
    assert parse_apdu(TESTFR_CON) == ("u_frame", {"function": "testfr_con"})
    assert parse_apdu(bytes.fromhex("680413000000")) == ("u_frame", {"function": "stopdt_act"})


def test_s_frame_carries_the_receive_sequence_number() -> None:
    assert parse_apdu(bytes.fromhex("680401000a00")) == ("s_frame", {"recv_seq": 5})


def test_single_command_activation_is_a_write_with_its_header_fields() -> None:
    # C_SC_NA_1, COT act with the test bit, originator 2, CA 37133, IOA 22222, SCO select + ON (§7.2.6.15)
    kind, f = parse_apdu(i_frame(asdu(45, 0x86, 37133, 22222, b"\x81", oa=2), send=4, recv=10))
    assert kind == "asdu"
    assert (f["type_id"], f["type"], f["cot"], f["cause"], f["test"], f["negative"]) == (45, "C_SC_NA_1", 6, "act",
                                                                                          True, False)
    assert (f["originator_address"], f["common_address"], f["ioa"], f["select"]) == (2, 37133, 22222, True)
    assert (f["send_seq"], f["recv_seq"], f["num_objects"], f["sq"]) == (4, 10, 1, False)
    assert operation_of(f) == ("write", "c_sc_na_1")
    assert "station_address" not in f  # control direction: the CA is the target's, not the sender's


def test_set_point_float_select_bit_is_read_after_the_value() -> None:
    # C_SE_NC_1 (50): IEEE float then QOS; execute (S/E 0)
    _, f = parse_apdu(i_frame(asdu(50, 6, 3, 5020, bytes.fromhex("00004041") + b"\x00")))
    assert (f["type"], f["select"], operation_of(f)) == ("C_SE_NC_1", False, ("write", "c_se_nc_1"))


def test_confirmations_interrogations_and_clock_sync_are_not_operations() -> None:
    _, actcon = parse_apdu(i_frame(asdu(45, 7, 3, 4500, b"\x01")))
    _, gi = parse_apdu(i_frame(asdu(100, 6, 3, 0, b"\x14")))
    _, clock = parse_apdu(i_frame(asdu(103, 6, 3, 0, bytes(7))))
    assert actcon["cause"] == "actcon" and gi["type"] == "C_IC_NA_1" and clock["type"] == "C_CS_NA_1"
    assert operation_of(actcon) is None and operation_of(gi) is None and operation_of(clock) is None


def test_reset_process_activation_is_a_restart() -> None:
    _, f = parse_apdu(i_frame(asdu(105, 6, 7, 0, b"\x01")))
    assert operation_of(f) == ("restart", "c_rp_na_1")


@pytest.mark.parametrize(("type_id", "value"), [
    (110, b"\x00\x10"),  # P_ME_NA_1: NVA (§7.2.6.6) then QPM
    (111, b"\x64\x00"),  # P_ME_NB_1: SVA (§7.2.6.7)
    (112, bytes.fromhex("0000a040")),  # P_ME_NC_1: IEEE 754 float (§7.2.6.8)
])
def test_parameter_of_measured_value_activation_is_a_config_change(type_id: int, value: bytes) -> None:
    # -101 §7.3.5: loading a measured value's threshold (QPM KPA 1, §7.2.6.24) with cause activation
    _, f = parse_apdu(i_frame(asdu(type_id, 6, 3, 4001, value + b"\x01")))
    assert operation_of(f) == ("config", f["type"].lower())
    assert f["type"] in ("P_ME_NA_1", "P_ME_NB_1", "P_ME_NC_1")


def test_parameter_activation_and_deactivation_are_config_changes_answers_are_not() -> None:
    # P_AC_NA_1 (113), QPA 3 (§7.2.6.25): persistent cyclic transmission of the addressed object on / off
    _, act = parse_apdu(i_frame(asdu(113, 6, 3, 4001, b"\x03")))
    _, deact = parse_apdu(i_frame(asdu(113, 8, 3, 4001, b"\x03")))
    assert operation_of(act) == operation_of(deact) == ("config", "p_ac_na_1")
    _, actcon = parse_apdu(i_frame(asdu(113, 7, 3, 4001, b"\x03")))
    _, param_actcon = parse_apdu(i_frame(asdu(112, 7, 3, 4001, bytes(4) + b"\x01")))
    # a station answering an interrogation with its loaded parameters (cause 20, inrogen)
    _, interrogated = parse_apdu(i_frame(asdu(112, 20, 3, 4001, bytes(4) + b"\x01")))
    _, deact_param = parse_apdu(i_frame(asdu(110, 8, 3, 4001, b"\x00\x10\x01")))  # not a -101 cause of 110
    assert [operation_of(f) for f in (actcon, param_actcon, interrogated, deact_param)] == [None] * 4


def test_a_command_with_the_test_bit_is_still_the_write_it_asks_for() -> None:
    # -101 §7.2.3: T marks ASDUs generated under test conditions; nothing obliges the station not to act
    _, f = parse_apdu(i_frame(asdu(46, 0x86, 3, 4600, b"\x02")))
    assert (f["test"], f["cause"], operation_of(f)) == (True, "act", ("write", "c_dc_na_1"))


def test_monitor_direction_asdus_state_the_senders_station_address() -> None:
    _, f = parse_apdu(i_frame(asdu(13, 3, 0x1234, 1001, bytes(5))))
    assert (f["type"], f["cause"], f["station_address"]) == ("M_ME_NC_1", "spont", 0x1234)


def test_framing_rejects_a_bad_start_and_waits_for_a_whole_apdu() -> None:
    assert frame_length(b"\x68") is None
    assert frame_length(STARTDT_ACT) == 6
    with pytest.raises(ParseError):
        frame_length(b"\x69\x04")
    with pytest.raises(ParseError):
        frame_length(b"\x68\x03")  # shorter than a control field
    with pytest.raises(ParseError):
        parse_apdu(i_frame(b"\x2d\x01"))  # ASDU shorter than its header


def test_apdus_split_and_joined_across_segments() -> None:
    cmd = i_frame(asdu(46, 6, 3, 4600, b"\x82"))
    out = feed_chunks(Iec104Dissector(), [(True, STARTDT_ACT + cmd[:5]), (True, cmd[5:] + STARTDT_ACT)])
    assert [o.kind for o in out] == ["u_frame", "asdu", "u_frame"]
    assert out[1].fields["type"] == "C_DC_NA_1" and operation_of(out[1].fields) == ("write", "c_dc_na_1")


def test_test_dissect_capture_commands_as_tshark_decodes_them() -> None:
    obs, errors = run(Iec104Dissector(), shared(*IEC104, "TestDissectIec104.pcap"))
    # 16 segments start with junk: the 12 tshark marks "ERR prefix" (frames 13, 20, 25, 36, 38, 41, 58, 71,
    # 75, 77, 83, 96) and frames 11, 16, 18, 23, which it does not decode as IEC 104 at all
    assert len(errors) == 16 and all("not an IEC 104 APCI" in str(e) for e in errors)
    cmds = [(o.fields["type"], o.fields["ioa"], o.fields["select"], o.fields["test"], o.fields["negative"],
             o.fields["originator_address"]) for o in obs if operation_of(o.fields)]
    # tshark frames 117, 124, 126, 133, 136 (all from 172.27.248.109:1578 to the RTU's 2404)
    assert cmds == [("C_DC_NA_1", 15000, True, False, False, 1), ("C_SC_NA_1", 10010, True, False, False, 1),
                    ("C_SC_NA_1", 10010, False, False, False, 1), ("C_SC_NA_1", 22222, True, True, False, 2),
                    ("C_SC_NA_1", 33333, True, False, True, 3)]
    assert {(o.src_ip, o.dst_port) for o in obs if operation_of(o.fields)} == {("172.27.248.109", 2404)}
    asdus = [o for o in obs if o.kind == "asdu"]
    assert {o.fields["common_address"] for o in asdus} == {37133}
    # frame 110: S(1) then three I-format APDUs in one segment
    gi = [o.fields["type"] for o in asdus if o.fields["send_seq"] in (1, 2, 3) and o.src_port == 2404]
    assert gi == ["C_IC_NA_1", "M_SP_NA_1", "M_DP_NA_1"]
    assert Counter(o.fields["function"] for o in obs if o.kind == "u_frame")["startdt_act"] == 6


def test_diverse_capture_commands_and_set_points() -> None:
    obs, errors = run(Iec104Dissector(), shared(*IEC104, "090813_diverse.pcap"))
    assert not errors and len(obs) == 86
    writes = Counter(o.fields["type"] for o in obs if operation_of(o.fields))
    # tshark: typeid 45/46/50/58/59/61/63 with causetx 6 (act)
    assert writes == {"C_SE_NC_1": 4, "C_DC_TA_1": 4, "C_SC_NA_1": 2, "C_SC_TA_1": 2, "C_SE_TC_1": 2,
                      "C_DC_NA_1": 2, "C_SE_TA_1": 2}
    spont = [o for o in obs if o.fields.get("type") == "M_ME_NC_1" and o.fields["cause"] == "spont"]
    assert len(spont) == 10 and {o.fields["station_address"] for o in spont} == {3}
    # frames 39/43: C_SE_TC_1 to IOA 5021, select then execute
    se = [(o.fields["ioa"], o.fields["select"]) for o in obs if o.fields.get("type") == "C_SE_TC_1"
          and o.fields["cause"] == "act"]
    assert se == [(5021, True), (5021, False)]


def test_java_rmi_capture_interrogations_only() -> None:
    obs, errors = run(Iec104Dissector(), shared(*IEC104, "JavaRMI_and_IEC_Misc.pcap"))
    assert not errors and len(obs) == 235
    assert not [o for o in obs if operation_of(o.fields)]
    gi = [o for o in obs if o.fields.get("type") == "C_IC_NA_1" and o.fields["cause"] == "act"]
    assert {o.src_ip for o in gi} == {"192.168.1.44", "192.168.1.113"} and len(gi) == 21
    assert {o.fields["station_address"] for o in obs if "station_address" in o.fields} == {37133}


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(Iec104Dissector(), path)
    assert all(o.proto == "iec104" for o in obs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_contract(data: bytes, to_server: bool) -> None:
    contract(Iec104Dissector(), data, to_server=to_server, port=2404)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=249))
def test_fuzz_asdu_inside_a_valid_apci(body: bytes) -> None:
    contract(Iec104Dissector(), i_frame(body), port=2404)
