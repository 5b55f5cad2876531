"""The platform's own security tables: unique user names and token digests, cascades on user removal."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, select

from iotwarden.errors import StoreError
from iotwarden.store import Store
from iotwarden.store.auth_models import ApiTokenRow, SessionRow, UserRow


def _user(name: str) -> UserRow:
    return UserRow(username=name, password_hash="$argon2id$stub", role="viewer", disabled=False,
                   created_at=time.time(), last_login=None)


def test_user_names_are_unique(store: Store) -> None:
    with store.transaction() as session:
        session.add(_user("alice"))
    with pytest.raises(StoreError), store.transaction() as session:
        session.add(_user("alice"))


def test_removing_a_user_removes_their_tokens_and_sessions(store: Store) -> None:
    now = time.time()
    with store.transaction() as session:
        user = _user("bob")
        session.add(user)
        session.flush()
        session.add(ApiTokenRow(user_id=user.id, name="t", token_hash="a" * 64, prefix="iwt_x", scopes=["read"],
                                created_at=now, expires_at=None, last_used=None, revoked_at=None))
        session.add(SessionRow(id_hash="b" * 64, user_id=user.id, csrf_hash="c" * 64, created_at=now, last_seen=now,
                               expires_at=now + 60, ip=None, user_agent=None))
    with store.transaction() as session:
        session.execute(delete(UserRow).where(UserRow.username == "bob"))
    with store.session() as session:
        assert session.scalars(select(ApiTokenRow)).first() is None
        assert session.scalars(select(SessionRow)).first() is None
