"""Device facts the console derives rather than stores (risk bands, zones): a cache that rebuilds them when
a cheap mark of the store moves, and the SQL that selects devices by a derived set of row ids.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, ColumnElement, Select, any_, bindparam, column, false, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from iotwarden.store.schema import DeviceRow

T = TypeVar("T")


def ids_clause(ids: Sequence[int], dialect: str) -> ColumnElement[bool]:
    """Devices whose row id is in ``ids``, as ONE bound parameter however many ids there are (a zone or a
    risk band may hold most of 100,000 devices): ``= ANY`` of a bigint array on PostgreSQL (hashed since
    PostgreSQL 14, negated as a hashed ``<> ALL`` since 15, and estimated from the array's length, so the
    planner still walks the sort index; an unnested subquery measured 3x slower sorted), a JSON array read
    by ``json_each`` on SQLite."""
    if not ids:
        return false()
    values = [int(i) for i in ids]
    if dialect == "postgresql":
        return DeviceRow.id == any_(bindparam("derived_ids", values, type_=ARRAY(BigInteger)))
    listed: Select[Any] = select(column("value")).select_from(
        func.json_each(bindparam("derived_ids", json.dumps(values))))
    return DeviceRow.id.in_(listed.scalar_subquery())


class MarkedCache(Generic[T]):
    """``build(session)``'s result, reused while ``mark(session)`` (a few indexed MAX/COUNT queries) is
    unchanged and for at most ``ttl_s`` seconds; :meth:`clear` drops it at once (after a change made here)."""

    def __init__(self, build: Callable[[Session], T], mark: Callable[[Session], tuple[object, ...]],
                 empty: T, ttl_s: float) -> None:
        self.build, self.mark, self.ttl_s = build, mark, ttl_s
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._mark: tuple[object, ...] | None = None
        self._value = empty

    def get(self, session: Session) -> T:
        mark = self.mark(session)
        with self._lock:
            if mark == self._mark and time.monotonic() - self._at < self.ttl_s:
                return self._value
        value = self.build(session)
        with self._lock:
            self._value, self._mark, self._at = value, mark, time.monotonic()
        return value

    def clear(self) -> None:
        with self._lock:
            self._mark = None
