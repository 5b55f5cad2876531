"""CaptureStats: merging two runs adds counters and widens the time span."""

from __future__ import annotations

from iotwarden.model import CaptureStats


def test_merge_adds_counts_and_widens_time() -> None:
    a = CaptureStats(packets=10, bytes=1000, flows=2, first_ts=5.0, last_ts=9.0)
    a.parse_errors["dns"] += 1
    b = CaptureStats(packets=4, bytes=400, flows=1, first_ts=3.0, last_ts=7.0, truncated=True)
    b.parse_errors["dns"] += 2
    b.protocols["dhcp"] += 4
    a.merge(b)
    out = a.to_dict()
    assert (out["packets"], out["bytes"], out["flows"]) == (14, 1400, 3)
    assert (out["first_ts"], out["last_ts"], out["truncated"]) == (3.0, 9.0, True)
    assert out["parse_errors"] == {"dns": 3} and out["protocols"] == {"dhcp": 4}
