"""model/otops.py: the protocol-neutral description of an OT request (consumers: tests/detect/test_ot_generic.py)."""

from __future__ import annotations

import pytest

from iotwarden.dissect import ot_operation_protocols
from iotwarden.model.otops import CLASSES, MARKING_PROTOCOLS, RISK_CLASS, device_sent, operation_of


@pytest.mark.parametrize("cls", sorted(CLASSES))
def test_a_marked_request_gives_its_class_and_name(cls: str) -> None:
    assert operation_of({"ot_operation": cls, "ot_operation_name": "x_req"}) == (cls, "x_req")
    assert operation_of({"ot_operation": cls}) == (cls, cls)  # no name: the class names it
    assert RISK_CLASS[cls] in {"write", "program", "stop", "firmware"}


@pytest.mark.parametrize("fields", [{}, {"ot_operation": "erase"}, {"ot_operation": 3}, {"ot_operation_name": "w"}])
def test_unmarked_or_unknown_is_none(fields: dict[str, object]) -> None:
    assert operation_of(fields) is None


def test_only_a_true_flag_says_the_device_sent_it() -> None:
    assert device_sent({"ot_device_sent": True})
    assert not device_sent({"ot_device_sent": 1}) and not device_sent({})


def test_the_marking_dissectors_are_found_in_the_registry() -> None:
    marked = ot_operation_protocols()
    assert marked == MARKING_PROTOCOLS  # the detectors observe exactly the protocols whose requests are marked
    assert not {"modbus", "s7comm", "dnp3", "http"} & marked  # the older OT dissectors are named one by one
