"""Users, sessions and tokens in the store: creation rules, authentication, expiry, revocation, audit."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import argon2
import pytest
from sqlalchemy import select

from iotwarden.api import accounts, create_app
from iotwarden.api import security as sec
from iotwarden.errors import ConfigError
from iotwarden.store import Store
from iotwarden.store.auth_models import ApiTokenRow, AuditRow, SessionRow, UserRow


def test_create_user_refuses_bad_names_roles_passwords_and_duplicates(store: Store) -> None:
    with store.transaction() as session:
        for name, password, role in (("bad name", "long enough password", "viewer"),
                                     ("dave", "short", "viewer"), ("dave", "long enough password", "root"),
                                     ("admin", "long enough password", "viewer")):
            with pytest.raises(ConfigError):
                accounts.create_user(session, name, password, role)
        row = accounts.create_user(session, "Dave", "long enough password", "analyst")
    assert row.username == "dave" and row.password_hash.startswith("$argon2id$")


def test_authenticate(store: Store) -> None:
    with store.transaction() as session:
        assert accounts.authenticate(session, "admin", "admin-password-1") is not None
        assert accounts.authenticate(session, "admin", "wrong") is None
        assert accounts.authenticate(session, "nobody", "admin-password-1") is None
        assert accounts.authenticate(session, "bad name!", "x") is None
        session.scalars(select(UserRow).where(UserRow.username == "viewer")).one().disabled = True
        assert accounts.authenticate(session, "viewer", "viewer-password-1") is None


def _cpu_s(call: Callable[[], object]) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def test_an_unknown_name_costs_what_a_wrong_password_costs(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A login for a name that does not exist runs one argon2 verification with a real user's hash
    parameters and makes no hash, from the API's first login on (the dummy hash is made when the API
    starts, not at import nor by that login), so its time does not tell whether the name exists."""
    verified: list[argon2.Parameters] = []
    hashed: list[str] = []
    verify, make = argon2.PasswordHasher.verify, argon2.PasswordHasher.hash

    def counted_verify(self: argon2.PasswordHasher, stored: str | bytes, password: str | bytes) -> bool:
        verified.append(argon2.extract_parameters(stored if isinstance(stored, str) else stored.decode()))
        return verify(self, stored, password)

    def counted_hash(self: argon2.PasswordHasher, password: str | bytes, *, salt: bytes | None = None) -> str:
        hashed.append("hash")
        return make(self, password, salt=salt)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted_verify)
    monkeypatch.setattr(argon2.PasswordHasher, "hash", counted_hash)
    sec.dummy_hash.cache_clear()  # as in a fresh process: nothing made yet
    create_app(store)  # the API starts
    assert hashed == ["hash"]
    hashed.clear()
    guess = "a guessed password"
    with store.transaction() as session:
        real = argon2.extract_parameters(session.scalars(select(UserRow).where(UserRow.username == "admin"))
                                         .one().password_hash)
        unknown = [_cpu_s(lambda: accounts.authenticate(session, "nobody", guess)) for _ in range(3)]
        wrong = [_cpu_s(lambda: accounts.authenticate(session, "admin", guess)) for _ in range(3)]
    assert hashed == []
    assert verified == [real] * 6
    assert 0.5 < statistics.median(unknown) / statistics.median(wrong) < 2.0


def test_a_session_is_stored_as_digests_and_expires_when_idle(store: Store) -> None:
    with store.transaction() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == "analyst")).one()
        sid, csrf = accounts.open_session(session, user, ip="127.0.0.1", user_agent="test")
    with store.transaction() as session:
        stored = session.scalars(select(SessionRow)).one()
        assert sid not in (stored.id_hash, stored.csrf_hash) and csrf not in (stored.id_hash, stored.csrf_hash)
        principal, _ = accounts.session_principal(session, sid) or (None, None)
        assert principal is not None and principal.scopes == {"read", "write"}
        stored.last_seen = time.time() - accounts.SESSION_IDLE_S - 1
    with store.transaction() as session:
        assert accounts.session_principal(session, sid) is None
        assert session.scalars(select(SessionRow)).first() is None  # the expired row is gone


def test_sessions_per_user_are_bounded(store: Store) -> None:
    with store.transaction() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == "viewer")).one()
        sids = [accounts.open_session(session, user, ip=None, user_agent=None)[0]
                for _ in range(accounts.MAX_SESSIONS_PER_USER + 5)]
        assert len(list(session.scalars(select(SessionRow)))) == accounts.MAX_SESSIONS_PER_USER
        assert accounts.session_principal(session, sids[-1]) is not None


def test_tokens_expire_are_revoked_and_shrink_with_the_role(store: Store) -> None:
    with store.transaction() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == "admin")).one()
        row, token = accounts.create_token(session, user, name="t", scopes=["read", "write", "admin"],
                                           expires_in_s=60)
        assert row.token_hash != token and row.prefix == token[:12]
        assert accounts.token_principal(session, token).scopes == {"read", "write", "admin"}  # type: ignore[union-attr]
        user.role = "viewer"
        assert accounts.token_principal(session, token).scopes == {"read"}  # type: ignore[union-attr]
        row.expires_at = time.time() - 1
        assert accounts.token_principal(session, token) is None
        row.expires_at, row.revoked_at = None, time.time()
        assert accounts.token_principal(session, token) is None
        assert accounts.token_principal(session, "not-ours") is None


def test_live_tokens_per_user_are_bounded(store: Store) -> None:
    with store.transaction() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == "analyst")).one()
        for i in range(accounts.MAX_TOKENS_PER_USER):
            accounts.create_token(session, user, name=f"t{i}", scopes=["read"], expires_in_s=None)
        with pytest.raises(ConfigError):
            accounts.create_token(session, user, name="one more", scopes=["read"], expires_in_s=None)
        assert len(list(session.scalars(select(ApiTokenRow)))) == accounts.MAX_TOKENS_PER_USER


def test_audit_records_in_the_callers_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as session:
        accounts.audit(session, "admin", "alert.close", "alert:1", ip="127.0.0.1", note="x")
        raise RuntimeError("the change failed")
    with store.session() as session:
        assert session.scalars(select(AuditRow)).first() is None  # no record of a change that did not happen
