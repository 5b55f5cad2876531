"""The times a record may carry: seconds since 1970 (UTC) within the years Python's datetime holds, 1 to 9999, so
every output that shows a time (tables, reports, exports, the console) can show it."""

from __future__ import annotations

EPOCH_START_S = -62_135_596_800.0  # 0001-01-01T00:00:00Z
EPOCH_END_S = 253_402_300_800.0  # 10000-01-01T00:00:00Z, the first second past year 9999


def showable(ts: float) -> bool:
    """True when ``ts`` lies within years 1 to 9999; NaN and the infinities do not."""
    return EPOCH_START_S <= ts < EPOCH_END_S
