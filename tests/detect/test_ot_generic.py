"""The OT detectors and risk checks on a protocol they do not name: its dissector marks each request with
model/otops.py's neutral fields and the detectors read them (new OT dissectors need no branch of their own)."""

from __future__ import annotations

import pytest

from iotwarden.detect.ot import OtOperationDetector
from iotwarden.detect.ot_write import OtWriteDetector
from iotwarden.model import Observation
from iotwarden.model.otops import CLASSES, RISK_CLASS, operation_of
from iotwarden.risk.checks.ot_operations import operation
from tests.detect.runner import feed

PROTO = "xproto"  # stands for any dissector declaring ot_operations


@pytest.fixture(autouse=True)
def _observed(monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in (OtOperationDetector, OtWriteDetector):
        monkeypatch.setattr(cls, "observes", cls.observes | {PROTO})


def _request(cls: str, name: str, ts: float = 1.0, src: str = "10.0.30.5", dst: str = "10.0.30.20",
             **extra: object) -> Observation:
    return Observation(ts=ts, proto=PROTO, kind="request", src_ip=src, dst_ip=dst,
                       fields={"ot_operation": cls, "ot_operation_name": name, **extra})


@pytest.mark.parametrize(("cls", "detector_id", "mitre"), [
    ("stop", "detect.ot.cpu_stop", ["T0858", "T0881"]),
    ("restart", "detect.ot.device_restart", ["T0816"]),
    ("program", "detect.ot.program_download", ["T0843"]),
    ("firmware", "detect.ot.firmware_update", ["T0839"]),
    ("config", "detect.ot.config_change", ["T0836", "T0855"]),
])
def test_each_marked_class_raises_its_alert_on_the_receiver(cls: str, detector_id: str, mitre: list[str]) -> None:
    (alert,) = feed([OtOperationDetector()], observations=[_request(cls, "some_request")])
    assert (alert.id, alert.mitre, alert.src_ip, alert.dst_ip) == (detector_id, mitre, "10.0.30.5", "10.0.30.20")
    assert "XPROTO some_request" in alert.title


def test_a_marked_write_is_a_write_from_a_new_host() -> None:
    obs = [_request("write", "c_se_nc_1", ts=float(t)) for t in range(0, 4000, 120)]
    obs.append(_request("write", "c_se_nc_1", ts=4100.0, src="10.0.99.9"))
    alerts = feed([OtWriteDetector({"learn_s": 3600.0})], observations=obs)
    assert [(a.id, a.src_ip) for a in alerts] == [("detect.ot.write_new_host", "10.0.99.9")]
    assert feed([OtOperationDetector()], observations=obs) == []  # writes are ot_write's, not ot's


def test_an_answer_the_device_sent_names_the_device_as_the_target() -> None:
    answer = _request("stop", "stop", src="10.0.30.20", dst="10.0.30.5", ot_device_sent=True)
    (alert,) = feed([OtOperationDetector()], observations=[answer])
    assert (alert.src_ip, alert.dst_ip) == ("10.0.30.5", "10.0.30.20")


def test_unmarked_and_unknown_classes_are_nothing() -> None:
    reads = [Observation(ts=1.0, proto=PROTO, kind="request", src_ip="10.0.30.5", dst_ip="10.0.30.20",
                         fields={"ot_operation_name": "read"}),
             _request("delete_everything", "x")]
    assert feed([OtOperationDetector(), OtWriteDetector({"learn_s": 0.0})], observations=reads) == []
    assert [operation_of(o.fields) for o in reads] == [None, None]


def test_the_risk_checks_fold_the_classes_into_their_four() -> None:
    assert set(RISK_CLASS) == CLASSES
    assert {cls: operation(_request(cls, f"n_{cls}")) for cls in sorted(CLASSES)} == {
        "config": ("write", "n_config"), "firmware": ("firmware", "n_firmware"), "program": ("program", "n_program"),
        "restart": ("stop", "n_restart"), "stop": ("stop", "n_stop"), "write": ("write", "n_write")}


def test_a_layer_2_request_names_both_ends_by_mac() -> None:
    obs = Observation(ts=1.0, proto=PROTO, kind="set_request", src_mac="00:0c:29:ba:09:ea",
                      dst_mac="08:00:06:93:cf:32", fields={"ot_operation": "config", "ot_operation_name": "set_ip"})
    (alert,) = feed([OtOperationDetector()], observations=[obs])
    assert alert.title == "XPROTO set_ip (configuration change) sent to 08:00:06:93:cf:32 by 00:0c:29:ba:09:ea"


def test_a_broadcast_answer_names_the_requester_its_dissector_paired() -> None:
    answer = _request("stop", "remote_control_stop", src="10.0.30.20", dst="255.255.255.255", ot_device_sent=True,
                      ot_requester_ip="10.0.30.5", ot_requester_mac="00:1b:21:00:00:05")
    (alert,) = feed([OtOperationDetector()], observations=[answer])
    assert (alert.src_ip, alert.dst_ip) == ("10.0.30.5", "10.0.30.20")
    write = _request("write", "w", src="10.0.30.20", dst="255.255.255.255", ot_device_sent=True,
                     ot_requester_ip="10.0.30.5")
    (written,) = feed([OtWriteDetector({"learn_s": 0.0})], observations=[write])
    assert (written.src_ip, written.dst_ip) == ("10.0.30.5", "10.0.30.20")
