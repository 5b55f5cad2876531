"""The SQLite bulk path of the flows table: each chunk of flows upserted straight through the sqlite3
cursor, and, for one file's bulk load, the table's plain indexes set aside and built again before commit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from json.encoder import JSONEncoder, c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from iotwarden.model import Flow

# SQLite page cache (KiB) of a connection that writes flows: the flows table's indexes take random
# inserts (a scan's addresses), and SQLite's default 2 MiB cache spills their dirty pages to the WAL
# and reads them back (a 250k-line IoT-23 log: 2 s of system time); bounded, per connection
SQLITE_FLOW_CACHE_KIB = 65536
# flows one bulk load writes before the flows table's plain (non-unique) indexes are dropped, to be
# built again by one CREATE INDEX each before the load's transaction commits; also never before the
# load has written as many flows as the table held when it began (see :class:`DeferredIndexes`). Two
# chunks: an IoT-23-shaped load into a new store keeps them ~2.5 µs a row, builds them ~1 µs a row
# (200k rows: 0.3-0.5 CPU s less than from 100,000 on)
DEFER_INDEXES_AFTER = 10_000

# FlowRow columns in the order :func:`flow_values` gives them
FLOW_COLUMNS = ("capture_id", "vlan", "ip_proto", "a_ip", "a_port", "b_ip", "b_port", "first_seen", "last_seen",
                "a_mac", "b_mac", "pkts_ab", "pkts_ba", "bytes_ab", "bytes_ba", "payload_ab", "payload_ba",
                "tcp_flags_ab", "tcp_flags_ba", "app", "end_reason", "extra")


def flow_values(flow: Flow, capture_id: int | None) -> list[Any]:
    """The row of a flow, in :data:`FLOW_COLUMNS` order (``extra`` as the flow holds it)."""
    return [
        capture_id, flow.vlan or 0, flow.ip_proto, flow.a_ip, flow.a_port or 0, flow.b_ip, flow.b_port or 0,
        flow.first_seen, flow.last_seen, flow.a_mac, flow.b_mac, flow.pkts_ab, flow.pkts_ba, flow.bytes_ab,
        flow.bytes_ba, flow.payload_ab, flow.payload_ba, flow.tcp_flags_ab, flow.tcp_flags_ba,
        (flow.app or None) and flow.app[:32], (flow.end_reason or None) and flow.end_reason[:16],
        flow.extra,
    ]


def json_safe(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as JSON can store it (sets, bytes and the like become text) so one odd value never fails a capture."""
    try:
        json.dumps(data)
    except (TypeError, ValueError):
        return dict(json.loads(json.dumps(data, default=str, skipkeys=True)))
    return dict(data)


# json.dumps's own C encoder with json.dumps's settings (", " and ": ", ASCII escapes, NaN allowed),
# built once: json.dumps builds one per call, which cost a flow-heavy run more than the encoding. It
# keeps no circular-reference markers; a cycle ends in RecursionError and goes the json.dumps way.
_ENCODE = (c_make_encoder(None, JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False, False, True)
           if c_make_encoder is not None else None)


def json_text(data: dict[str, Any]) -> str:
    """What SQLAlchemy's JSON type stores for ``json_safe(data)`` (json.dumps), with one dumps, not two."""
    if not data:
        return "{}"
    if _ENCODE is not None:
        try:
            return "".join(_ENCODE(data, 0))
        except (TypeError, ValueError, RecursionError):
            pass  # decided by json.dumps below, as before
    try:
        return json.dumps(data)
    except (TypeError, ValueError):
        return json.dumps(json_safe(data))


def _widen_cache(cursor: sqlite3.Cursor) -> None:
    """Raise the connection's page cache to :data:`SQLITE_FLOW_CACHE_KIB` unless it is larger already."""
    size = cursor.execute("PRAGMA cache_size").fetchone()[0]
    page = cursor.execute("PRAGMA page_size").fetchone()[0]
    if (-size if size < 0 else size * page // 1024) < SQLITE_FLOW_CACHE_KIB:
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_FLOW_CACHE_KIB:d}")


class DeferredIndexes:
    """The flows table's plain indexes set aside during one transaction's bulk load.

    SQLite keeps every index of a table up to date row by row; a scan's flows land at random places
    in the address indexes, which costs about four times what one ``CREATE INDEX`` (a sort) costs per
    row afterwards. So once a load has written :data:`DEFER_INDEXES_AFTER` flows, and at least as many
    as the table held before it (the rebuild also reads those), the indexes created by ``CREATE
    INDEX`` without ``UNIQUE`` are dropped and built again from their own stored SQL before the
    transaction commits (:meth:`restore`, also run by the session's ``before_commit``), so the schema
    is the same after. Unique indexes stay: the upsert and the natural key need them.

    Nothing stored before is put at risk: DDL is transactional in SQLite, the drop happens inside the
    load's own transaction (never outside one), and with the WAL journal (``store/db.py``) a crash or
    a rollback before the commit leaves the database as of the last commit, indexes included; other
    connections read that committed state meanwhile (https://sqlite.org/wal.html, https://sqlite.org/
    lang_transaction.html). Only this transaction's own statements see the table without them.
    """

    def __init__(self) -> None:
        self.existing: int | None = None  # rows the table held when the load began (max id)
        self.written = 0
        self.dropped: list[str] = []  # CREATE INDEX statements to run again
        self._decided = False

    def begin(self, cursor: sqlite3.Cursor) -> None:
        """Note the table's size before the load's first chunk."""
        if self.existing is None:
            self.existing = int(cursor.execute("SELECT coalesce(max(id), 0) FROM flows").fetchone()[0])

    def after_chunk(self, session: Session, dbapi: sqlite3.Connection, cursor: sqlite3.Cursor, rows: int) -> None:
        """Count a chunk written; set the indexes aside when the load has become big enough."""
        self.written += rows
        if self._decided or self.written < max(DEFER_INDEXES_AFTER, self.existing or 0):
            return
        self._decided = True  # once per load, dropped or not
        if not dbapi.in_transaction:
            return  # the drop would commit at once: only ever inside the load's transaction
        plain = [row[1] for row in cursor.execute("PRAGMA index_list(flows)").fetchall()
                 if row[2] == 0 and row[3] == "c"]  # (seq, name, unique, origin 'c': CREATE INDEX, partial)
        if not plain:
            return
        cursor.execute("SAVEPOINT iotwarden_defer_indexes")
        try:
            for name in plain:
                sql = cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                                     (name,)).fetchone()[0]
                cursor.execute(f'DROP INDEX "{name}"')
                self.dropped.append(sql)
        except sqlite3.Error:
            cursor.execute("ROLLBACK TO iotwarden_defer_indexes")  # all of them stay, as before
            self.dropped.clear()
        cursor.execute("RELEASE iotwarden_defer_indexes")
        if self.dropped:
            event.listen(session, "before_commit", self._before_commit, once=True)

    def restore(self, dbapi: sqlite3.Connection) -> None:
        """Build the indexes set aside again (a no-op when none is); an error is SQLAlchemy's DBAPIError."""
        cursor = dbapi.cursor()
        try:
            while self.dropped:
                cursor.execute(self.dropped[0])
                del self.dropped[0]
        except sqlite3.Error as exc:
            raise DBAPIError.instance(self.dropped[0], None, exc, sqlite3.Error) from None
        finally:
            cursor.close()

    def _before_commit(self, session: Session) -> None:
        self.restore(session.connection().connection.driver_connection)  # type: ignore[arg-type]


class SqliteFlowRows:
    """The flow upsert straight through the sqlite3 cursor: SQLAlchemy's per-row parameter handling
    cost more than SQLite's own work on flow-heavy runs (IoT-23: millions of flows). The statement is
    the one SQLAlchemy compiles, and each value goes through the bind processor SQLAlchemy would
    apply to its column (float()), ``extra`` through :func:`json_text` (the JSON type's default
    json.dumps), so the rows stored are the same. ``bulk``: one file's load, whose plain indexes may
    be set aside (:class:`DeferredIndexes`) until :meth:`finish` or the commit."""

    def __init__(self, stmt: Any, dialect: Any, table: Any, *, bulk: bool = False) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(FLOW_COLUMNS))
        if list(compiled.positiontup or ()) != list(FLOW_COLUMNS):
            raise ValueError("flow upsert parameters out of FLOW_COLUMNS order")
        self.sql = compiled.string
        self._tuned: Any = None  # the connection whose page cache was widened
        self.processors = tuple((i, proc) for i, name in enumerate(FLOW_COLUMNS) if name != "extra"
                                and (proc := table.c[name].type.bind_processor(dialect)) is not None)
        self.indexes = DeferredIndexes() if bulk else None

    def rows(self, flows: Iterable[Flow], capture_id: int | None) -> list[list[Any]]:
        """The parameters of each flow (sqlite3 takes a list as a row's sequence)."""
        out: list[list[Any]] = []
        append = out.append
        processors = self.processors
        last = len(FLOW_COLUMNS) - 1
        for flow in flows:
            values = flow_values(flow, capture_id)
            for i, proc in processors:
                values[i] = proc(values[i])
            values[last] = json_text(flow.extra)
            append(values)
        return out

    def execute(self, session: Session, rows: list[list[Any]]) -> None:
        """One executemany inside the session's transaction; a driver error is SQLAlchemy's, as before."""
        dbapi = session.connection().connection.driver_connection
        cursor = dbapi.cursor()  # type: ignore[union-attr]
        try:
            if dbapi is not self._tuned:
                self._tuned = dbapi
                _widen_cache(cursor)
            if self.indexes is not None:
                self.indexes.begin(cursor)
            cursor.executemany(self.sql, rows)
            if self.indexes is not None:
                self.indexes.after_chunk(session, dbapi, cursor, len(rows))  # type: ignore[arg-type]
        except sqlite3.Error as exc:
            raise DBAPIError.instance(self.sql, None, exc, sqlite3.Error) from None
        finally:
            cursor.close()

    def finish(self, session: Session) -> None:
        """The end of the load: the indexes set aside are built again."""
        if self.indexes is not None and self.indexes.dropped:
            self.indexes.restore(session.connection().connection.driver_connection)  # type: ignore[arg-type]
