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
    _req("s7comm", "ack_data", function="plc_stop"),
    _req("dnp3", "response", function_code=129),
])
def test_reads_responses_and_standard_objects_are_harmless(obs: Observation) -> None:
    assert feed([OtOperationDetector()], observations=[obs]) == []
