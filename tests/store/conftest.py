"""Store fixtures: a fresh SQLite file, and a private schema on the local PostgreSQL server.

PostgreSQL tests are marked ``postgres``; each gets its own schema (dropped afterwards) so parallel
pytest workers never see each other's tables. If the server is down the fixture tries to start the
Debian cluster once, and skips with the reason only if that fails.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from iotwarden.store import Store

PG_URL = os.environ.get("IOTWARDEN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def _pg_connect() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3,
                           autocommit=True)


def _pg_reason() -> str | None:
    """None when PostgreSQL answers (starting the cluster once if needed), else why not."""
    if "reason" in _pg_state:
        return _pg_state["reason"]
    reason: str | None = None
    try:
        _pg_connect().close()
    except psycopg.OperationalError as first:
        versions = sorted(p.name for p in Path("/etc/postgresql").iterdir()) if Path("/etc/postgresql").is_dir() else []
        if versions:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", "start"],
                           check=False, capture_output=True, timeout=60)
        try:
            _pg_connect().close()
        except psycopg.OperationalError:
            reason = f"PostgreSQL at {PG_URL} is down and could not be started: {str(first).strip()}"
    _pg_state["reason"] = reason
    return reason


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A new, empty PostgreSQL schema of its own for the test (skipped when PostgreSQL cannot be reached), dropped
    with everything in it afterwards."""
    reason = _pg_reason()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    conn = _pg_connect()
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


@pytest.fixture
def pg_store(pg_schema: str) -> Iterator[Store]:
    store = Store(PG_URL, schema=pg_schema)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'test.db'}")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    """The same test on both backends."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]
