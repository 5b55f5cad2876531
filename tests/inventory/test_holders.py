"""Who held an address when, from proofs read in any order (inventory/holders.py)."""

from __future__ import annotations

import math

from iotwarden.inventory.holders import MAX_OWNER_MOVES, MAX_RUN_PROOFS, Run, moves, prove

A, B, C = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"


def _runs(*proofs: tuple[float, str]) -> list[Run]:
    runs: list[Run] = []
    for ts, mac in proofs:
        prove(runs, ts, mac)
    return runs


def _key(mac: str) -> str:
    return f"mac:{mac}"


def test_a_holder_proved_again_lengthens_its_run() -> None:
    runs: list[Run] = []
    assert prove(runs, 0.0, A)
    assert not prove(runs, 50.0, A)
    assert not prove(runs, 20.0, A)  # read late, within its own run
    assert runs == [Run(0.0, 50.0, A)]


def test_a_proof_read_late_inside_another_holders_run_splits_it() -> None:
    """A at 0, B at 100 and 300, then A's proof at 200 read late: A holds from 200 until B's proof at 300, and B
    is the holder now (before: B's proof at 300 was not kept, and A held the address from 200 on)."""
    runs = _runs((0.0, A), (100.0, B), (300.0, B), (200.0, A))
    assert runs == [Run(0.0, 0.0, A), Run(100.0, 100.0, B), Run(200.0, 200.0, A), Run(300.0, 300.0, B)]
    assert moves(runs, _key) == [(-math.inf, _key(A)), (100.0, _key(B)), (200.0, _key(A)), (300.0, _key(B))]


def test_a_proof_read_late_before_every_other_is_the_oldest_holder() -> None:
    runs = _runs((100.0, B), (0.0, A))
    assert [r.mac for r in runs] == [A, B]  # B, the latest proof, holds it now


def test_a_proof_read_late_between_two_runs_joins_the_next_of_its_holder() -> None:
    runs = _runs((0.0, A), (100.0, B), (50.0, B))
    assert runs == [Run(0.0, 0.0, A), Run(50.0, 100.0, B)]


def test_two_holders_proved_at_one_time_the_one_read_last_holds_it() -> None:
    runs = _runs((0.0, A), (100.0, B), (100.0, C))
    assert [r.mac for r in runs] == [A, C]


def test_runs_of_macs_of_one_device_are_one_holding() -> None:
    runs = _runs((0.0, A), (100.0, B), (200.0, C))
    assert moves(runs, lambda m: "mac:one" if m in (A, B) else _key(m)) == [(-math.inf, "mac:one"), (200.0, _key(C))]


def test_past_the_limit_the_oldest_holders_go() -> None:
    macs = [f"02:00:00:00:01:{i:02x}" for i in range(MAX_OWNER_MOVES + 4)]
    runs = _runs(*((60.0 * i, mac) for i, mac in enumerate(macs)))
    assert len(runs) == MAX_OWNER_MOVES
    assert [r.mac for r in runs] == macs[4:]
    assert prove(runs, -1.0, A) and [r.mac for r in runs] == macs[4:]  # older than every one kept: gone at once


def test_a_proof_read_late_inside_a_run_ends_at_that_holders_next_proof() -> None:
    """A proved every 100 s from 0 to 400, then B's proof at 150 read late (another source of the same hours): B held
    the address from 150 until A's proof at 200, not until A's last at 400 (before, its run kept only its first and
    last times, and B was named the holder at 250, when A's proof of 200 says A). A late C at 50 holds it until
    A's proof at 100 (before: until B's at 150, A's run before the split kept its first time only)."""
    runs = _runs(*((t, A) for t in (0.0, 100.0, 200.0, 300.0, 400.0)), (150.0, B))
    assert moves(runs, _key) == [(-math.inf, _key(A)), (150.0, _key(B)), (200.0, _key(A))]
    assert [r.times for r in runs] == [[0.0, 100.0], [150.0], [200.0, 300.0, 400.0]]
    prove(runs, 50.0, C)
    assert moves(runs, _key) == [(-math.inf, _key(A)), (50.0, _key(C)), (100.0, _key(A)), (150.0, _key(B)),
                                 (200.0, _key(A))]


def test_a_run_keeps_a_bounded_number_of_proof_times_the_latest_densest() -> None:
    """A run proved every minute for a day keeps at most MAX_RUN_PROOFS times, its first and last among them, the
    latest minutes all kept: a late proof among them is placed exactly; one in its thinned past holds the address
    until the next time kept, later than A's next proof, but never past it (the bound's cost)."""
    runs = _runs(*((60.0 * i, A) for i in range(1440)))
    (run,) = runs
    assert len(run.times) <= MAX_RUN_PROOFS and run.times[0] == 0.0 and run.times[-1] == 60.0 * 1439
    assert run.times[-3:] == [60.0 * 1437, 60.0 * 1438, 60.0 * 1439]
    prove(runs, 60.0 * 1437 + 30, B)
    assert moves(runs, _key)[-2:] == [(60.0 * 1437 + 30, _key(B)), (60.0 * 1438, _key(A))]
    prove(runs, 3600.0 + 30, C)
    held = moves(runs, _key)
    assert held[1][0] == 3600.0 + 30 and held[1][1] == _key(C) and held[2][1] == _key(A)
    assert 3660.0 <= held[2][0] < 60.0 * 1437  # A's next time kept: after its true next proof, before the late B


def test_a_run_proved_out_of_order_keeps_its_times_sorted() -> None:
    runs = _runs((300.0, A), (0.0, A), (200.0, A), (100.0, A), (200.0, A))
    assert runs == [Run(0.0, 300.0, A)] and runs[0].times == [0.0, 100.0, 200.0, 300.0]
