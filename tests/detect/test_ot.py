"""Dangerous OT operations from single requests (the capture-based checks are in test_ot_captures.py)."""

from __future__ import annotations

import pytest

from iotwarden.detect.ot import OtOperationDetector
from iotwarden.model import Observation
from tests.detect.runner import feed


def _req(proto: str, kind: str, **fields: object) -> Observation:
    return Observation(ts=5.0, proto=proto, kind=kind, src_ip="10.0.30.5", dst_ip="10.0.30.20", fields=dict(fields))


@pytest.mark.parametrize(("obs", "expected"), [
    (_req("modbus", "request", function_code=90, umas_code=0x41), "detect.ot.umas_stop"),
    (_req("modbus", "request", function_code=90, umas_code=0x31), "detect.ot.program_download"),
    (_req("enip", "cip_request", service_name="create", **{"class": 0x6B}), "detect.ot.program_download"),
    (_req("enip", "cip_request", service_name="object_specific", **{"class": 0xA1}), "detect.ot.firmware_update"),
    (_req("dnp3", "request", function_code=13, function="cold_restart"), "detect.ot.dnp3_cold_restart"),
    (_req("s7comm", "job", function="download_block"), "detect.ot.program_download"),
])
def test_each_dangerous_request_raises_its_alert(obs: Observation, expected: str) -> None:
    alerts = feed([OtOperationDetector()], observations=[obs])
    assert [(a.id, a.dst_ip, a.key) for a in alerts] == [(expected, "10.0.30.20", "10.0.30.5")]


@pytest.mark.parametrize("obs", [
    _req("modbus", "request", function_code=3, function="read_holding_registers"),
    _req("modbus", "response", function_code=90, umas_code=0x41),
    _req("enip", "cip_request", service_name="create", **{"class": 0x01}),
    _req("dnp3", "response", function_code=129),
])
def test_reads_responses_and_standard_objects_are_harmless(obs: Observation) -> None:
    assert feed([OtOperationDetector()], observations=[obs]) == []


def _s7(kind: str, function: str, *, from_plc: bool, ts: float = 5.0) -> Observation:
    station, plc = ("10.0.30.5", 49161), ("10.0.30.20", 102)
    (src, sport), (dst, dport) = (plc, station) if from_plc else (station, plc)
    return Observation(ts=ts, proto="s7comm", kind=kind, src_ip=src, src_port=sport, dst_ip=dst, dst_port=dport,
                       fields={"function": function})


def test_an_s7_download_is_one_alert_on_the_plc_though_the_plc_sends_the_block_jobs() -> None:
    # the PLC pulls the blocks: request_download goes to it, download_block/ended jobs come from it
    obs = [_s7("job", "request_download", from_plc=False), _s7("ack_data", "request_download", from_plc=True),
           _s7("job", "download_block", from_plc=True), _s7("ack_data", "download_block", from_plc=False),
           _s7("job", "download_ended", from_plc=True), _s7("ack_data", "download_ended", from_plc=False)]
    alerts = feed([OtOperationDetector()], observations=obs)
    assert [(a.id, a.dst_ip, a.src_ip, a.count) for a in alerts] == [
        ("detect.ot.program_download", "10.0.30.20", "10.0.30.5", 3)]  # three jobs; their answers add nothing


def test_an_s7_answer_stands_in_for_a_job_the_capture_lost() -> None:
    alerts = feed([OtOperationDetector()], observations=[_s7("ack_data", "plc_stop", from_plc=True)])
    assert [(a.id, a.dst_ip, a.src_ip) for a in alerts] == [("detect.ot.s7_cpu_stop", "10.0.30.20", "10.0.30.5")]


def _mms(kind: str, service: str, *, from_ied: bool, ts: float = 5.0) -> Observation:
    client, ied = "10.0.40.5", "10.0.40.20"
    src, dst = (ied, client) if from_ied else (client, ied)
    return Observation(ts=ts, proto="mms", kind=kind, src_ip=src, dst_ip=dst, fields={"service": service})


@pytest.mark.parametrize(("service", "expected", "mitre"), [
    ("stop", "detect.ot.mms_stop", ["T0881", "T0875"]),
    ("kill", "detect.ot.mms_stop", ["T0881", "T0875"]),
    ("start", "detect.ot.mms_start", ["T0875"]),
    ("resume", "detect.ot.mms_start", ["T0875"]),
    ("reset", "detect.ot.mms_reset", ["T0816", "T0875"]),
    ("delete_domain", "detect.ot.mms_delete", ["T0809"]),
    ("delete_program_invocation", "detect.ot.mms_delete", ["T0809"]),
    ("initiate_download_sequence", "detect.ot.program_download", ["T0843"]),
    ("load_domain_content", "detect.ot.program_download", ["T0843"]),
])
def test_each_mms_program_or_domain_operation_raises_its_alert_on_the_ied(service: str, expected: str,
                                                                          mitre: list[str]) -> None:
    alerts = feed([OtOperationDetector()], observations=[_mms("request", service, from_ied=False)])
    assert [(a.id, a.dst_ip, a.src_ip, a.mitre) for a in alerts] == [(expected, "10.0.40.20", "10.0.40.5", mitre)]


def test_an_mms_download_is_one_alert_on_the_ied_that_pulls_the_segments() -> None:
    # ISO 9506: the client initiates; the VMD then requests each segment and the termination of the client
    obs = [_mms("request", "initiate_download_sequence", from_ied=False),
           _mms("response", "initiate_download_sequence", from_ied=True),
           _mms("request", "download_segment", from_ied=True), _mms("response", "download_segment", from_ied=False),
           _mms("request", "terminate_download_sequence", from_ied=True),
           _mms("response", "terminate_download_sequence", from_ied=False)]
    alerts = feed([OtOperationDetector()], observations=obs)
    assert [(a.id, a.dst_ip, a.src_ip, a.count) for a in alerts] == [
        ("detect.ot.program_download", "10.0.40.20", "10.0.40.5", 3)]


def test_an_mms_answer_stands_in_for_a_lost_request_and_harmless_services_raise_nothing() -> None:
    obs = [_mms("response", "stop", from_ied=True), _mms("request", "read", from_ied=False),
           _mms("request", "initiate_upload_sequence", from_ied=False), _mms("error", "stop", from_ied=True)]
    alerts = feed([OtOperationDetector()], observations=obs)
    assert [(a.id, a.dst_ip, a.src_ip) for a in alerts] == [("detect.ot.mms_stop", "10.0.40.20", "10.0.40.5")]
