"""A new SQLite store from the migrations' template: the same schema, object by object and in the same
order, as Alembic's migrations make; the shipped template is what they make now; Alembic is not imported."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from iotwarden.store import Store
from iotwarden.store import template as t
from iotwarden.store.db import HEAD_REVISION


def _migrated(db: Path) -> None:
    store = Store(f"sqlite:///{db}", migrate=False)
    try:
        assert store.upgrade(template=False) == HEAD_REVISION
    finally:
        store.close()


def _schema(db: Path) -> list[tuple[str, str, str, str | None]]:
    conn = sqlite3.connect(db)
    try:
        return t.schema(conn)
    finally:
        conn.close()


def test_the_shipped_template_is_what_the_migrations_make() -> None:
    assert t.template_problem() is None
    assert t.head_template()[0] == HEAD_REVISION


def test_a_store_from_the_template_is_the_migrated_store(tmp_path: Path) -> None:
    _migrated(tmp_path / "alembic.db")
    Store(f"sqlite:///{tmp_path / 'template.db'}").close()
    made, migrated = _schema(tmp_path / "template.db"), _schema(tmp_path / "alembic.db")
    assert len(made) > 100  # every table and index, the constraints' own indexes included
    assert made == migrated  # type, name, table and SQL of each object, in creation order
    assert t.dump(tmp_path / "template.db") == t.dump(tmp_path / "alembic.db")  # and the version row


def test_a_new_store_is_made_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code = f"import sys; from iotwarden.store import Store; s = Store({url!r}); print('alembic' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False"]
    with Store(url) as store:
        assert store.revision() == HEAD_REVISION


def test_a_template_behind_the_migrations_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template of an older revision (a migration added, the template not regenerated) is passed over:
    Alembic migrates the new store, and the store is at the head all the same."""
    monkeypatch.setattr(t, "head_template", lambda: ("0010_stream_messages", ("CREATE TABLE stale (x);",)))
    with Store(f"sqlite:///{tmp_path / 'new.db'}") as store:
        assert store.revision() == HEAD_REVISION
        assert "stale" not in inspect(store.engine).get_table_names()
        assert "device_aliases" in inspect(store.engine).get_table_names()


def test_a_database_holding_anything_is_left_to_alembic(tmp_path: Path) -> None:
    """Only a database with no schema object takes the template: one holding a table of someone else's
    is migrated by Alembic, which adds the store's tables beside it."""
    db = tmp_path / "shared.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (x TEXT)")
    with Store(f"sqlite:///{db}") as store:
        assert store.revision() == HEAD_REVISION
        assert {"notes", "devices"} <= set(inspect(store.engine).get_table_names())
