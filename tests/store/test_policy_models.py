"""The policies table: migrated with the rest, one row per (name, version)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from iotwarden.errors import StoreError
from iotwarden.store import Store
from iotwarden.store.policy_models import PolicyRow


@pytest.fixture
def db(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'policies.db'}")


def test_the_migration_creates_the_policies_table(db: Store) -> None:
    assert "policies" in set(inspect(db.engine).get_table_names())


def test_a_version_of_a_policy_is_stored_once(db: Store) -> None:
    with db.transaction() as session:
        session.add(PolicyRow(name="site", version=1, yaml="name: site\n", created_at=1.0, comment=""))
        session.add(PolicyRow(name="other", version=1, yaml="name: other\n", created_at=1.0, comment=""))
    with pytest.raises(StoreError, match=r"(?i)unique"), db.transaction() as session:
        session.add(PolicyRow(name="site", version=1, yaml="name: site\n", created_at=2.0, comment=""))
