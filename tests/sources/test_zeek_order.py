"""in_time_order: a log's records back in ts order within the window and the record limit; later ones go on late."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import pytest

from iotwarden.sources import zeek_order
from iotwarden.sources.zeek_order import in_time_order
from tests.sources.zeek_written import lines, site_day

Item = tuple[float, int, str, Any]


def _items(times: list[float], priority: int = 0) -> list[Item]:
    return [(t, priority, "conn", n) for n, t in enumerate(times)]


def test_records_written_at_their_end_come_out_by_their_start() -> None:
    rng = random.Random(3)
    starts = sorted(rng.uniform(0, 3600) for _ in range(20000))
    # each written when it ends, up to five minutes later (tcp_inactivity_timeout)
    written = sorted(_items(starts), key=lambda item: item[0] + rng.uniform(0, 300))
    assert [item[0] for item in in_time_order(written)] == starts


def test_the_conn_log_of_a_site_comes_out_sorted_but_for_its_long_sessions() -> None:
    rows = lines(site_day(7), "written")["conn"]
    items = _items([float(row[0]) for row in rows])
    behind = {}  # how far behind the latest ts before it each line was read
    high = -math.inf
    for ts, _, _, n in items:
        behind[n] = high - ts
        high = max(high, ts)
    out = list(in_time_order(items))
    assert sorted(out) == sorted(items)  # nothing lost, nothing added
    latest = list(itertools.accumulate((item[0] for item in out), max))
    out_of_order = [b[3] for a, b in zip(latest, out[1:], strict=False) if b[0] < a]  # behind one gone before
    assert out_of_order  # the sessions kept open for hours, logged at their end
    assert all(behind[n] > zeek_order.REORDER_WINDOW_S for n in out_of_order)  # everything else is put in place


def test_a_record_later_than_the_window_goes_on_near_where_it_was_read() -> None:
    times = [float(t) for t in range(0, 200000, 10)]
    times.insert(15000, 5.0)  # read after ts 149990: a session logged at its end, two days late
    out = [item[0] for item in in_time_order(_items(times))]
    assert out.index(5.0) > 10000  # not put back at the start: what was before it has gone on
    out.remove(5.0)
    assert out == sorted(out)


def test_equal_times_keep_the_merge_priority_then_the_file_order() -> None:
    items: list[Item] = [(1.0, 2, "dns", "a"), (1.0, 0, "conn", "b"), (1.0, 2, "dns", "c"), (0.5, 2, "dns", "d")]
    assert [item[3] for item in in_time_order(items)] == ["d", "b", "a", "c"]
    # a JSON stream of several logs, times never going back: Zeek wrote the DNS answer before the conn line
    mixed: list[Item] = [(1.0, 2, "dns", "a"), (1.0, 0, "conn", "b"), (2.0, 2, "dns", "c"), (2.0, 2, "dns", "d")]
    assert [item[3] for item in in_time_order(mixed)] == ["b", "a", "c", "d"]


def test_held_records_are_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek_order, "MAX_REORDER_RECORDS", 8)
    monkeypatch.setattr(zeek_order, "_CHUNK", 4)
    seen: list[float] = []

    def reading(times: list[float]) -> Any:
        for item in _items(times):
            seen.append(item[0])
            yield item

    out = in_time_order(reading([float(t) for t in range(100)]))  # all within one window
    first = next(out)
    assert first[0] == 0.0
    assert len(seen) <= 8  # the oldest went on before the window passed, once eight were held
    assert [first[0]] + [item[0] for item in out] == [float(t) for t in range(100)]
