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
