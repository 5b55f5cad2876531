"""The times a record may carry: the years 1 to 9999, which every output can show."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from iotwarden.model.epoch import EPOCH_END_S, EPOCH_START_S, showable


def test_the_bounds_are_the_first_and_last_seconds_datetime_shows() -> None:
    assert datetime.fromtimestamp(EPOCH_START_S, UTC) == datetime(1, 1, 1, tzinfo=UTC)
    assert datetime.fromtimestamp(EPOCH_END_S - 0.5, UTC).year == 9999
    with pytest.raises((ValueError, OverflowError)):
        datetime.fromtimestamp(EPOCH_END_S, UTC)


@pytest.mark.parametrize(("ts", "ok"), [(0.0, True), (1_700_000_000.25, True), (-1.0, True), (EPOCH_START_S, True),
                                        (EPOCH_END_S - 0.001, True), (EPOCH_END_S, False),
                                        (EPOCH_START_S - 1, False), (1e19, False), (math.nan, False),
                                        (math.inf, False), (-math.inf, False)])
def test_showable(ts: float, ok: bool) -> None:
    assert showable(ts) is ok
