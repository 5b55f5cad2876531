"""Connection series of the C&C detectors: a bounded LRU table; each series keeps its latest times and flows."""

from __future__ import annotations

from collections import OrderedDict

from iotwarden.detect.series import SOCKET_S, Series, lru_get, same_socket
from iotwarden.model import Flow
from tests.detect.runner import tcp_flow


def test_the_table_keeps_the_most_recently_used_and_drops_the_oldest() -> None:
    table: OrderedDict[str, Series] = OrderedDict()
    first = lru_get(table, "a", Series, 2)
    lru_get(table, "b", Series, 2)
    assert lru_get(table, "a", Series, 2) is first  # found, and now the most recent
    lru_get(table, "c", Series, 2)
    assert list(table) == ["a", "c"]


def test_a_series_keeps_its_latest_times_and_flows() -> None:
    series = Series()
    for i in range(10):
        series.add(tcp_flow("10.0.0.7", "203.0.113.9", 6667, float(i)), keep_times=4, keep_flows=2)
    assert series.times == [6.0, 7.0, 8.0, 9.0]
    assert [f.first_seen for f in series.flows] == [8.0, 9.0]


def test_a_limit_of_zero_keeps_nothing_and_still_answers() -> None:
    table: OrderedDict[str, Series] = OrderedDict()
    assert isinstance(lru_get(table, "a", Series, 0), Series)
    assert not table


def test_a_record_of_the_latest_attempts_source_port_within_a_minute_is_that_attempt() -> None:
    """Zeek's 1-packet S0 records of a SYN retransmitted 7, 15 and 31 s after the first (IoT-23 20-1)."""
    def record(ts: float, sport: int) -> Flow:
        return tcp_flow("10.0.0.7", "203.0.113.9", 443, ts, sport=sport, flags=(0x02, 0))

    assert [same_socket(record(100.0 + at, 41000), 41000, 100.0) for at in (7.0, 15.0, 31.0)] == [True] * 3
    assert not same_socket(record(108.0, 41001), 41000, 100.0)  # another port: a new connection
    assert not same_socket(record(100.0 + SOCKET_S + 1, 41000), 41000, 100.0)  # the port taken again, later
    assert not same_socket(record(131.0, 41000), 41000, 100.0, within=30.0)  # a caller's own bound
