"""What counts as an OT write, program change, stop or firmware update, and who may send them."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.model import Observation
from iotwarden.risk.checks.ot_operations import operation
from tests.risk.harness import found, key_of


def obs(proto: str, kind: str, **fields: Any) -> Observation:
    return Observation(ts=1.0, proto=proto, kind=kind, src_ip="10.0.0.5", dst_ip="10.0.0.50", fields=fields)


@pytest.mark.parametrize(("observation", "expected"), [
    (obs("modbus", "request", function_code=6, function="write_single_register", is_write=True),
     ("write", "write_single_register")),
    (obs("modbus", "request", function_code=90, umas_function="initialize_download"),
     ("program", "umas.initialize_download")),
    (obs("modbus", "request", function_code=90, umas_function="stop_plc"), ("stop", "umas.stop_plc")),
    (obs("modbus", "request", function_code=8, sub_function=4), ("stop", "diagnostics.4")),
    (obs("s7comm", "job", function="plc_stop"), ("stop", "plc_stop")),
    (obs("s7comm", "job", function="request_download"), ("program", "request_download")),
    (obs("s7comm", "job", function="plc_control", pi_service="_MODU"), ("program", "plc_control._MODU")),
    (obs("dnp3", "request", function="direct_operate"), ("write", "direct_operate")),
    (obs("dnp3", "request", function="cold_restart"), ("stop", "cold_restart")),
    (obs("enip", "cip_request", service_name="set_attribute_single", **{"class": 0xF5}),
     ("write", "set_attribute_single")),
    (obs("enip", "cip_request", service_name="object_specific", **{"class": 0xA1}),
     ("firmware", "non_volatile_storage.object_specific")),
    (obs("bacnet", "write_property"), ("write", "write_property")),
    (obs("bacnet", "reinitialize_device"), ("stop", "reinitialize_device")),
])
def test_operation_classes(observation: Observation, expected: tuple[str, str]) -> None:
    assert operation(observation) == expected


@pytest.mark.parametrize("observation", [
    obs("modbus", "request", function_code=3, function="read_holding_registers", is_write=False),
    obs("modbus", "response", function_code=6, is_write=True),  # the PLC's echo is no request
    obs("s7comm", "job", function="read_var"),
    obs("dnp3", "request", function="read"),
    obs("enip", "cip_request", service_name="get_attribute_single", **{"class": 0xA1}),
    obs("bacnet", "read_property"),
])
def test_reads_and_responses_are_no_operation(observation: Observation) -> None:
    assert operation(observation) is None


def test_each_observation_gets_its_own_answer_when_asked_in_turn() -> None:
    """Every risk.ot.* check asks about the same observation: the answer is remembered for the last
    one only, so observations taking turns (and a fresh copy of one) are each read as they are."""
    write = obs("modbus", "request", function_code=6, function="write_single_register", is_write=True)
    read = obs("modbus", "request", function_code=3, function="read_holding_registers", is_write=False)
    written = ("write", "write_single_register")
    for observation, expected in [(write, written), (write, written), (read, None), (write, written), (read, None)]:
        assert operation(observation) == expected
    copy = obs("modbus", "request", function_code=6, function="write_single_register", is_write=False)
    assert operation(copy) is None  # same fields but the write flag: another object, read afresh


def test_lab_engineering_station_may_write_and_a_workstation_may_not(small_lab: Any, enterprise_lab: Any) -> None:
    # small.yaml: ws-01 (a workstation) writes to plc-01; enterprise.yaml: eng-ws (an engineering
    # workstation) writes to plc-line1; both classified as the ground truth says
    ctx, _, truth = small_lab
    finding = found(ctx, "risk.ot.unauthorized_write")[key_of(truth, "plc-01")]
    assert finding.evidence["unauthorised_sources"] == [key_of(truth, "ws-01")]
    ctx, _, truth = enterprise_lab
    assert found(ctx, "risk.ot.unauthorized_write") == {}
