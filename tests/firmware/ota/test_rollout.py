"""Rollout rules: stage sizes, state transitions of check-ins and the health gate."""

from __future__ import annotations

import pytest

from iotwarden.errors import FirmwareError
from iotwarden.firmware.ota.rollout import gate, next_status, stage_size, validate_stages


def test_stage_sizes_round_up_and_take_at_least_one() -> None:
    assert [stage_size(1000, p) for p in (1, 10, 50, 100)] == [10, 100, 500, 1000]
    assert stage_size(16, 1) == 1 and stage_size(0, 50) == 0


@pytest.mark.parametrize("stages", [[], [10, 5, 100], [10, 50], [0, 100], [50, 150]])
def test_bad_stage_lists_are_refused(stages: list[int]) -> None:
    with pytest.raises(FirmwareError):
        validate_stages(stages)


def test_check_ins_only_move_forward() -> None:
    assert next_status("offered", "downloaded") == "downloaded"
    assert next_status("installed", "downloaded") == "installed"
    assert next_status("installed", "failed") == "failed"
    assert next_status("revert", "reverted") == "reverted"


def test_gate_closes_on_failures_and_waits_for_reports() -> None:
    assert not gate(["healthy"] * 9 + ["failed"], 0.05, 0.9).open
    assert gate(["healthy"] * 19 + ["failed"], 0.05, 0.9).open
    waiting = gate(["healthy", "offered", "offered"], 0.05, 0.9)
    assert not waiting.open and waiting.failure_rate == 0.0
