"""The SQL vulnerability repository (store/firmware_models.py) gives the same matches as the
in-memory one, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from iotwarden.store.db import Store
from iotwarden.store.firmware_models import SqlVulnRepository
from tests.firmware.vulndb.test_importers import _load, check_issue_examples

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_sqlite(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'v.db'}") as store:
        repo = SqlVulnRepository(store)
        _load(repo)
        _load(repo)  # importing again replaces, never duplicates
        stats = repo.stats()
        assert stats["kev"] > 1000 and stats["vulns.nvd"] == 3
        check_issue_examples(repo)


@pytest.mark.postgres
def test_postgresql() -> None:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = Store(PG_URL, migrate=False)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with Store(PG_URL, schema=schema) as store:
            repo = SqlVulnRepository(store)
            _load(repo)
            check_issue_examples(repo)
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.close()
