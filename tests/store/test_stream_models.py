"""The stream_messages table: migrated with the rest, one row per stored message digest, pruned by age."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, inspect, select

from iotwarden.errors import StoreError
from iotwarden.store import Store
from iotwarden.store.stream_models import StreamMessageRow


@pytest.fixture
def db(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'stream.db'}")


def test_the_migration_creates_the_table_with_its_age_index(db: Store) -> None:
    assert "stream_messages" in set(inspect(db.engine).get_table_names())
    assert [i["name"] for i in inspect(db.engine).get_indexes("stream_messages")] == ["ix_stream_messages_stored_at"]


def test_a_message_is_marked_once_and_old_marks_go_by_age(db: Store) -> None:
    with db.transaction() as session:
        session.add_all([StreamMessageRow(digest="a" * 64, capture_id=1, stored_at=10.0),
                         StreamMessageRow(digest="b" * 64, capture_id=1, stored_at=20.0)])
    with pytest.raises(StoreError, match=r"(?i)unique"), db.transaction() as session:
        session.add(StreamMessageRow(digest="a" * 64, capture_id=2, stored_at=30.0))
    with db.transaction() as session:
        session.execute(delete(StreamMessageRow).where(StreamMessageRow.stored_at < 15.0))
    with db.session() as session:
        assert list(session.scalars(select(StreamMessageRow.digest))) == ["b" * 64]
