"""Connection series of the C&C detectors: a bounded LRU table; each series keeps its latest times and flows."""

from __future__ import annotations

from collections import OrderedDict

from iotwarden.detect.series import RECENT_SOCKETS, SOCKET_S, Series, earlier_sockets, lru_get, lru_put, same_socket
from iotwarden.model import Flow
from tests.detect.runner import tcp_flow


def test_the_table_keeps_the_most_recently_used_and_drops_the_oldest() -> None:
    table: OrderedDict[str, Series] = OrderedDict()
    first = lru_get(table, "a", Series, 2)
    lru_get(table, "b", Series, 2)
    assert lru_get(table, "a", Series, 2) is first  # found, and now the most recent
    lru_get(table, "c", Series, 2)
    assert list(table) == ["a", "c"]


def test_a_value_put_is_the_most_recent_and_past_the_limit_the_oldest_goes() -> None:
    table: OrderedDict[str, float] = OrderedDict()
    for key, value in (("a", 1.0), ("b", 2.0), ("a", 3.0), ("c", 4.0)):
        lru_put(table, key, value, 2)
    assert list(table.items()) == [("a", 3.0), ("c", 4.0)]


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


def test_a_series_keeps_at_most_the_recent_attempts_in_flight_and_recognises_each() -> None:
    """Six connects 2 s apart from ports 41000-41005: the latest and the three before it are in flight;
    a retransmission of any of those four is that attempt, of an older one a new connection."""
    series = Series()
    for i in range(6):
        series.add(tcp_flow("10.0.0.7", "203.0.113.9", 443, 100.0 + 2 * i, sport=41000 + i), keep_times=64,
                   keep_flows=1, within=SOCKET_S)
    assert series.earlier == (41004, 108.0, 41003, 106.0, 41002, 104.0)  # newest first
    assert len(series.earlier) == 2 * (RECENT_SOCKETS - 1)

    def retransmitted(sport: int, at: float) -> bool:
        record = tcp_flow("10.0.0.7", "203.0.113.9", 443, at, sport=sport)
        return same_socket(record, series.sport, series.times[-1], earlier=series.earlier)

    assert [retransmitted(41000 + i, 117.0) for i in range(6)] == [False, False, True, True, True, True]
    assert not retransmitted(41002, 104.0 + SOCKET_S + 1)  # its attempt is over


def test_earlier_attempts_are_dropped_once_over_and_kept_only_when_asked() -> None:
    assert earlier_sockets(41000, 100.0, (), 100.0 + SOCKET_S + 1) == ()  # the common case: none in flight
    assert earlier_sockets(41001, 150.0, (41000, 100.0), 200.0, within=60.0) == (41001, 150.0)
    series = Series()  # a caller that does not tell attempts apart (no within) keeps none
    for i in range(3):
        series.add(tcp_flow("10.0.0.7", "203.0.113.9", 443, 100.0 + i, sport=41000 + i), keep_times=4, keep_flows=1)
    assert series.earlier == ()
