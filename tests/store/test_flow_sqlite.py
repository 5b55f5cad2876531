"""The SQLite bulk path of the flows table: rows as SQLAlchemy would store them, extra as json.dumps
writes it, and a bulk load's plain indexes set aside and built again before its commit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotwarden.store import Store, flow_sqlite
from iotwarden.store import writer as w
from iotwarden.store.schema import FlowRow
from tests.store.test_writer import count, flow


@pytest.mark.parametrize("extra", [
    {"uid": "CAbc1", "conn_state": "S0", "history": "S", "missed_bytes": 0, "local_orig": True},
    {"failed_services": ["tls"], "services": ["http", "-ssl"], "icmp_type": 8, "nested": {"a": [1, 2.5, None]}},
    {"odd": float("nan"), "inf": float("-inf"), "text": "é\x00\u2028\"\\", 7: "int key", None: 1, 2.5: False},
    {"a set": {1, 2}, "bytes": b"\x00\xff"},
])
def test_flow_extra_is_stored_as_json_dumps_writes_it(extra: dict[object, object]) -> None:
    expected = json.dumps(flow_sqlite.json_safe(extra))  # what SQLAlchemy's JSON type would store
    assert flow_sqlite.json_text(extra) == expected  # type: ignore[arg-type]


def test_circular_flow_extra_is_refused_as_json_dumps_refuses_it() -> None:
    extra: dict[str, object] = {}
    extra["self"] = extra
    with pytest.raises(ValueError, match="Circular"):
        flow_sqlite.json_text(extra)


def _plain_indexes(s: object) -> dict[str, str]:
    """The flows table's indexes made by CREATE INDEX, with their SQL, as the transaction sees them."""
    conn = s.connection()  # type: ignore[attr-defined]
    return dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                     "AND tbl_name = 'flows' AND sql IS NOT NULL").all())


@pytest.fixture
def lite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A SQLite store whose flow chunks are 4 flows and whose loads set indexes aside past 8."""
    monkeypatch.setattr(w, "FLOW_CHUNK", 4)
    monkeypatch.setattr(flow_sqlite, "DEFER_INDEXES_AFTER", 8)
    store = Store(f"sqlite:///{tmp_path / 'bulk.db'}")
    yield store
    store.close()


def test_a_bulk_load_writes_every_flow_on_both_backends(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(w, "FLOW_CHUNK", 4)
    monkeypatch.setattr(flow_sqlite, "DEFER_INDEXES_AFTER", 8)
    for _ in range(2):  # the second load updates what the first stored
        with store.transaction() as s:
            fw = w.FlowWriter(s, None, bulk=True)
            fw.add([flow(i) for i in range(30)])
            fw.finish()
            assert fw.written == 30
    assert count(store, FlowRow) == 30


def test_a_bulk_load_sets_the_plain_indexes_aside_and_builds_them_again(lite: Store) -> None:
    with lite.session() as s:
        before = _plain_indexes(s)
    assert set(before) == {"ix_flows_a_ip", "ix_flows_b_ip"}
    seen = []
    with lite.transaction() as s:
        fw = w.FlowWriter(s, None, bulk=True)
        for i in range(0, 30, 3):
            fw.add([flow(j) for j in range(i, i + 3)])
            seen.append(set(_plain_indexes(s)))
        fw.finish()
        assert _plain_indexes(s) == before
    assert seen[1] == set(before)  # 6 flows written: kept
    assert seen[-1] == set()  # past 8: set aside for the rest of the load
    assert count(lite, FlowRow) == 30
    with lite.session() as s:
        assert _plain_indexes(s) == before
        assert s.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        plan = " ".join(str(r) for r in s.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT * FROM flows WHERE b_ip = '192.0.2.10'").all())
        assert "ix_flows_b_ip" in plan


def test_the_commit_builds_set_aside_indexes_when_finish_was_not_called(lite: Store) -> None:
    with lite.transaction() as s:
        fw = w.FlowWriter(s, None, bulk=True)
        fw.add([flow(i) for i in range(20)])
        fw.flush()
        assert _plain_indexes(s) == {}
    with lite.session() as s:
        assert set(_plain_indexes(s)) == {"ix_flows_a_ip", "ix_flows_b_ip"}
        assert s.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_a_bulk_load_rolled_back_leaves_the_indexes_and_nothing_else(lite: Store) -> None:
    with pytest.raises(RuntimeError), lite.transaction() as s:
        fw = w.FlowWriter(s, None, bulk=True)
        fw.add([flow(i) for i in range(20)])
        assert _plain_indexes(s) == {}
        raise RuntimeError("the analysis broke")
    assert count(lite, FlowRow) == 0
    with lite.session() as s:
        assert set(_plain_indexes(s)) == {"ix_flows_a_ip", "ix_flows_b_ip"}


def test_indexes_stay_when_the_table_holds_more_than_the_load_writes_or_the_load_is_not_bulk(lite: Store) -> None:
    with lite.transaction() as s:
        fw = w.FlowWriter(s, None)  # not a bulk load: never set aside
        fw.add([flow(i) for i in range(100, 140)])
        assert len(_plain_indexes(s)) == 2
        fw.finish()
    with lite.transaction() as s:
        fw = w.FlowWriter(s, None, bulk=True)
        fw.add([flow(i) for i in range(30)])  # 30 flows, under the 40 rows stored before
        assert len(_plain_indexes(s)) == 2
        fw.add([flow(i) for i in range(30, 45)])  # now as many as the table held: set aside
        assert _plain_indexes(s) == {}
        fw.finish()
    assert count(lite, FlowRow) == 85
