"""Writes to OT devices from hosts that did not write to them while learning."""

from __future__ import annotations

from iotwarden.detect.ot_write import OtWriteDetector
from iotwarden.model import Observation
from tests.detect.runner import feed


def _write(src: str, ts: float) -> Observation:
    return Observation(ts=ts, proto="modbus", kind="request", src_ip=src, dst_ip="10.0.30.20",
                       fields={"function_code": 6, "function": "write_single_register", "is_write": True})


def test_the_usual_writer_is_learned_and_a_new_one_is_reported() -> None:
    obs = [_write("10.0.30.5", float(t)) for t in range(0, 4000, 120)] + [_write("10.0.99.9", 4100.0)]
    alerts = feed([OtWriteDetector({"learn_s": 3600.0})], observations=obs)
    assert [(a.id, a.src_ip, a.mitre) for a in alerts] == [
        ("detect.ot.modbus_write_new_host", "10.0.99.9", ["T0836", "T0855"])]


def test_without_learning_every_first_writer_is_new() -> None:
    obs = [_write("10.0.30.5", 1.0), _write("10.0.30.5", 2.0)]
    alerts = feed([OtWriteDetector({"learn_s": 0.0})], observations=obs)
    assert [a.count for a in alerts] == [1]


def test_the_devices_answer_names_the_writer_when_the_request_was_not_captured() -> None:
    answer = Observation(ts=10.0, proto="s7comm", kind="ack_data", src_ip="10.0.30.20", dst_ip="10.0.30.5",
                         fields={"function": "write_var"})
    alerts = feed([OtWriteDetector({"learn_s": 0.0})], observations=[answer])
    assert [(a.id, a.src_ip, a.dst_ip, a.evidence["seen_in"]) for a in alerts] == [
        ("detect.ot.s7_write_new_host", "10.0.30.5", "10.0.30.20", "answer")]


def test_a_request_and_its_answer_are_one_write() -> None:
    request = _write("10.0.30.5", 1.0)
    answer = Observation(ts=1.01, proto="modbus", kind="response", src_ip="10.0.30.20", dst_ip="10.0.30.5",
                         fields={"function_code": 6, "function": "write_single_register", "is_write": True})
    alerts = feed([OtWriteDetector({"learn_s": 0.0})], observations=[request, answer])
    assert [(a.src_ip, a.count, a.evidence["seen_in"]) for a in alerts] == [("10.0.30.5", 1, "request")]


def test_the_s7_programmers_modify_variable_and_force_are_writes() -> None:
    obs = [Observation(ts=1.0 + sub, proto="s7comm", kind="userdata", src_ip=f"10.0.30.{sub}", dst_ip="10.0.30.20",
                       fields={"function_group": "programmer_commands", "subfunction": sub, "ud_type": "request"})
           for sub in (0x08, 0x09, 0x02)]  # modify variable, force; 0x02 (variable status) only reads
    alerts = feed([OtWriteDetector({"learn_s": 0.0})], observations=obs)
    assert sorted((a.src_ip, a.evidence["operation"]) for a in alerts) == [
        ("10.0.30.8", "S7 modify variable"), ("10.0.30.9", "S7 force")]


def _mms(kind: str, src: str, dst: str, ts: float, **fields: object) -> Observation:
    return Observation(ts=ts, proto="mms", kind=kind, src_ip=src, dst_ip=dst, fields={"service": "write", **fields})


def test_an_mms_write_names_its_variables_and_its_answer_is_the_same_write() -> None:
    request = _mms("request", "10.0.40.5", "10.0.40.20", 1.0, variables=["IED1LD0/CSWI1$CO$Pos$Oper"])
    answer = _mms("response", "10.0.40.20", "10.0.40.5", 1.01, result_count=1)
    alerts = feed([OtWriteDetector({"learn_s": 0.0})], observations=[request, answer])
    assert [(a.id, a.src_ip, a.dst_ip, a.count, a.evidence) for a in alerts] == [
        ("detect.ot.mms_write_new_host", "10.0.40.5", "10.0.40.20", 1,
         {"operation": "MMS write", "seen_in": "request", "variables": ["IED1LD0/CSWI1$CO$Pos$Oper"]})]


def test_an_mms_write_answer_alone_names_the_writer_and_reads_are_not_writes() -> None:
    answer = _mms("response", "10.0.40.20", "10.0.40.5", 2.0, result_count=1)
    read = Observation(ts=3.0, proto="mms", kind="request", src_ip="10.0.40.6", dst_ip="10.0.40.20",
                       fields={"service": "read", "variables": ["IED1LD0/MMXU1$MX$TotW"]})
    alerts = feed([OtWriteDetector({"learn_s": 0.0})], observations=[answer, read])
    assert [(a.src_ip, a.dst_ip, a.evidence["seen_in"]) for a in alerts] == [("10.0.40.5", "10.0.40.20", "answer")]
