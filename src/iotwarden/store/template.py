"""A new SQLite store made from the schema the migrations produce, without running them.

Alembic's import and the eleven migrations cost a new store ~0.15 CPU s, more than analysing a small
capture. ``migrations/sqlite_head.json`` holds what they make of an empty SQLite database, as SQLite
itself dumps it (``Connection.iterdump``: every table and index, and the version row), for
:data:`~iotwarden.store.db.HEAD_REVISION`; :meth:`Store.upgrade` runs those statements on a database
that holds nothing yet. Like the knowledge base's compiled index (``kb check``), the file is generated
(:func:`write_template`) and a test fails when it differs from what the migrations make now, so the
migrations stay the one definition of the schema. PostgreSQL stores are always migrated by Alembic.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from functools import cache
from pathlib import Path

from sqlalchemy import Connection

TEMPLATE_FILE = Path(__file__).resolve().parent / "migrations" / "sqlite_head.json"
TEMPLATE_FORMAT = 1  # version of the file's layout


@cache
def head_template() -> tuple[str, tuple[str, ...]]:
    """(revision, statements) of the shipped template."""
    data = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    if data.get("format") != TEMPLATE_FORMAT:
        raise ValueError(f"{TEMPLATE_FILE}: format {data.get('format')!r}, expected {TEMPLATE_FORMAT}")
    return str(data["revision"]), tuple(data["statements"])


def is_empty(conn: Connection) -> bool:
    """Whether the SQLite database holds no schema object at all (a new file)."""
    return conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0


def create(conn: Connection) -> str:
    """Run the template's statements in ``conn``'s transaction; returns the revision it is at."""
    revision, statements = head_template()
    for statement in statements:
        conn.exec_driver_sql(statement)
    return revision


def schema(conn: sqlite3.Connection) -> list[tuple[str, str, str, str | None]]:
    """(type, name, table, sql) of every schema object, in the order the database made them."""
    return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()


def dump(db: Path) -> list[str]:
    """The statements that make the SQLite database ``db`` again: its schema objects in the order it made
    them (so a copy lists them, and so plans them, as the original does; SQLite's own internal tables and
    the indexes of constraints come with their tables), then its rows as ``iterdump`` writes them."""
    conn = sqlite3.connect(db)
    try:
        objects = [sql + ";" for _, name, _, sql in schema(conn) if sql is not None and not name.startswith("sqlite_")]
        rows = [s for s in conn.iterdump() if s.startswith("INSERT INTO ") or s.startswith('DELETE FROM "sqlite_')]
        return objects + rows
    finally:
        conn.close()


def render() -> str:
    """The template text the migrations make now: a new SQLite database migrated by Alembic, dumped."""
    from iotwarden.store.db import Store  # noqa: PLC0415 - db imports this module

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "head.db"
        store = Store(f"sqlite:///{db}", migrate=False)
        try:
            revision = store.upgrade(template=False)
        finally:
            store.close()
        statements = dump(db)
    body = ",\n".join(json.dumps(s) for s in statements)
    return f'{{"format": {TEMPLATE_FORMAT}, "revision": {json.dumps(revision)}, "statements": [\n{body}\n]}}\n'


def write_template(path: Path | None = None) -> Path:
    """Regenerate the template file (after adding a migration); returns its path."""
    path = path or TEMPLATE_FILE
    path.write_text(render(), encoding="utf-8")
    head_template.cache_clear()
    return path


def template_problem(path: Path | None = None) -> str | None:
    """Why the template file is stale (None when it is exactly what the migrations make)."""
    path = path or TEMPLATE_FILE
    if not path.is_file():
        return f"{path} is missing: run iotwarden.store.template.write_template()"
    if path.read_text(encoding="utf-8") != render():
        return f"{path} is stale: run iotwarden.store.template.write_template() and commit it"
    return None
