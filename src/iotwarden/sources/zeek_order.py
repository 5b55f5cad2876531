"""Zeek's write order undone: one log's records put back in time (``ts``) order, within a bounded window.

Zeek stamps a record with its start but writes it when it is done: a conn.log line when its connection is
removed (its last packet plus the timer that expires it: ``tcp_close_delay`` 5 s, ``tcp_inactivity_timeout``
5 min, ``udp_inactivity_timeout`` 1 min, base/init-bare.zeek), a dns.log line at the reply, an http.log line at
the response's end. So no log is sorted by ``ts``: a record comes after later-starting ones written before it.
"""

from __future__ import annotations

import itertools
import math
import operator
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

# How late (in ts, behind the latest ts read from the same log) a record may come and still be put in
# place: tcp_inactivity_timeout (300 s), the longest removal timer, plus a minute, so every connection that
# lasted up to a minute, and every one closed or refused that lasted up to six, is in order. A longer
# session's line is handed on as it comes, late (the packet path closes such a flow as late).
REORDER_WINDOW_S = 360.0
# Records one log's reorder buffer may hold: past it, its oldest go on even when still within the window
# (a scan's millions of lines make six minutes of conn.log too many to hold).
MAX_REORDER_RECORDS = 131072
_CHUNK = 512  # records read at a time; the held ones are sorted at most each time they have doubled

_Item = TypeVar("_Item", bound=tuple[float, int, str, Any])
_ORDER = operator.itemgetter(0, 1)  # ts, then the merge priority (conn first): what the directory merge orders by
_TS = operator.itemgetter(0)
_PRIORITY = operator.itemgetter(1)


def in_time_order(items: Iterable[_Item]) -> Iterator[_Item]:
    """``items`` (ts first, merge priority second) in that order, but for records later than
    :data:`REORDER_WINDOW_S` or pushed out by :data:`MAX_REORDER_RECORDS`; equal keys keep their order."""
    return itertools.chain.from_iterable(_released(iter(items)))


def _released(items: Iterator[_Item]) -> Iterator[list[_Item]]:
    """Lists of records in order: each held until the latest ts read is a window past its own.

    Records are read a chunk at a time and the held ones sorted once they have doubled (or grown by a
    chunk) since the last look, so each record is sorted a bounded number of times, and not at all while
    the log reads in order: per record, the work is C's (list, map, compare), not the interpreter's.
    """
    window, most, chunk_size = REORDER_WINDOW_S, max(MAX_REORDER_RECORDS, 2 * _CHUNK), _CHUNK
    held: list[_Item] = []
    high = -math.inf  # the latest ts read; while ``ordered``, also the last one held
    ordered = True  # ``held`` is in order: a log already sorted is never sorted again
    sort_at = chunk_size
    while chunk := list(itertools.islice(items, chunk_size)):
        times = list(map(_TS, chunk))
        if ordered and not (times[0] >= high and times == sorted(times)  # sorting sorted floats: a compare each
                            and set(map(_PRIORITY, held[-1:] + chunk)) == {chunk[0][1]}):
            keys = list(map(_ORDER, held[-1:] + chunk))  # several priorities: equal times need theirs in order
            ordered = all(map(operator.le, keys, keys[1:]))
        high = max(high, times[-1] if ordered else max(times))
        held += chunk
        if len(held) >= sort_at:
            if not ordered:
                held.sort(key=_ORDER)
                ordered = True
            cut = max(bisect_right(held, high - window, key=_TS), len(held) - most // 2)
            yield held[:cut]
            del held[:cut]
            sort_at = max(2 * len(held), len(held) + chunk_size)
    if not ordered:
        held.sort(key=_ORDER)
    yield held
