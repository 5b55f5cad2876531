"""Derived device facts: a set of row ids selects its devices with one bound parameter however large, and
the cache rebuilds only when its mark moves, its time is up, or it is cleared."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, select

from iotwarden.api.derived import MarkedCache, ids_clause
from iotwarden.store import Store
from iotwarden.store.schema import DeviceRow
from tests.store.conftest import pg_schema, pg_store

__all__ = ["pg_schema", "pg_store"]  # the store package's fixture: a private schema on the local server

DEVICES = 40_000  # more ids than SQLite (32,766) or PostgreSQL (65,535 in all) bind as separate parameters


def _fill(store: Store) -> list[int]:
    rows = [{"key": f"mac:02:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}", "first_seen": 0.0,
             "last_seen": 0.0, "ips": [], "hostnames": [], "attributes": {}, "protocols": []} for i in range(DEVICES)]
    with store.transaction() as session:
        session.execute(insert(DeviceRow), rows)
    with store.session() as session:
        return list(session.scalars(select(DeviceRow.id).order_by(DeviceRow.id)))


def _check_selects_exactly(store: Store) -> None:
    ids = _fill(store)
    dialect = store.engine.dialect.name
    wanted = ids[::3]
    with store.session() as session:
        got = list(session.scalars(select(DeviceRow.id).where(ids_clause(wanted, dialect)).order_by(DeviceRow.id)))
        assert got == wanted
        assert list(session.scalars(select(DeviceRow.id).where(ids_clause([], dialect)))) == []
        assert session.scalar(select(DeviceRow.id).where(ids_clause([ids[-1] + 10], dialect))) is None


def test_an_id_set_larger_than_the_parameter_limit_selects_exactly_its_devices(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'ids.db'}") as store:
        _check_selects_exactly(store)


@pytest.mark.postgres
def test_an_id_set_on_postgresql(pg_store: Store) -> None:
    _check_selects_exactly(pg_store)


def test_the_cache_rebuilds_when_the_mark_moves_the_time_is_up_or_it_is_cleared(tmp_path: Path) -> None:
    marks = iter([(1,), (1,), (2,), (2,), (2,), (2,)])
    built: list[int] = []

    def build(_session: object) -> int:
        built.append(len(built))
        return len(built)

    cache: MarkedCache[int] = MarkedCache(build, lambda _s: next(marks), 0, ttl_s=3600)
    with Store(f"sqlite:///{tmp_path / 'c.db'}") as store, store.session() as session:
        assert cache.get(session) == 1
        assert cache.get(session) == 1  # same mark, in time: the same value
        assert cache.get(session) == 2  # the mark moved
        cache.clear()
        assert cache.get(session) == 3
        cache.ttl_s = 0
        assert cache.get(session) == 4  # time is up
        assert cache.get(session) == 5
