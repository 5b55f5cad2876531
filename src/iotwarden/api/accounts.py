"""Users, login sessions, API tokens and the audit log in the store: create, authenticate, revoke, record.

Used by the API, the web console and ``iotwarden users``; every function takes an open session and
leaves committing to the caller, so a change and its audit entry land in one transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from iotwarden.api import security as sec
from iotwarden.errors import ConfigError
from iotwarden.store.auth_models import USERNAME_LEN, ApiTokenRow, AuditRow, SessionRow, UserRow

SESSION_IDLE_S = 8 * 3600.0  # a console session unused this long ends
SESSION_MAX_S = 24 * 3600.0  # and none lives longer than this
MAX_SESSIONS_PER_USER = 20  # oldest sessions of a user are ended beyond this
MAX_TOKENS_PER_USER = 50  # live (unrevoked) tokens a user may hold
SESSION_TOUCH_S = 60.0  # last_seen is written at most this often per session
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and what they may do (the role's scopes, narrowed by a token's scopes)."""

    user_id: int
    username: str
    role: str
    via: str  # "session" or "token"
    scopes: frozenset[str] = field(default_factory=frozenset)
    session_hash: str | None = None
    token_id: int | None = None

    def can(self, scope: str) -> bool:
        return scope in self.scopes


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not name or len(name) > USERNAME_LEN or not set(name) <= USERNAME_CHARS:
        raise ConfigError(f"username must be 1-{USERNAME_LEN} characters of a-z 0-9 . _ - @")
    return name


def create_user(session: Session, username: str, password: str, role: str) -> UserRow:
    """A new user; raises :class:`ConfigError` for a bad name, role or password, or a taken name."""
    name = check_username(username)
    if role not in sec.ROLES:
        raise ConfigError(f"role must be one of {', '.join(sec.ROLES)}")
    problem = sec.password_problem(password)
    if problem:
        raise ConfigError(problem)
    if session.scalar(select(UserRow.id).where(UserRow.username == name)) is not None:
        raise ConfigError(f"user {name!r} already exists")
    row = UserRow(username=name, password_hash=sec.hash_password(password), role=role, disabled=False,
                  created_at=time.time(), last_login=None)
    session.add(row)
    session.flush()
    return row


def set_password(row: UserRow, password: str) -> None:
    problem = sec.password_problem(password)
    if problem:
        raise ConfigError(problem)
    row.password_hash = sec.hash_password(password)


def count_admins(session: Session) -> int:
    stmt = select(func.count()).select_from(UserRow).where(UserRow.role == "admin", UserRow.disabled.is_(False))
    return int(session.scalar(stmt) or 0)


def authenticate(session: Session, username: str, password: str) -> UserRow | None:
    """The enabled user with this name and password, else None (same cost whether the name exists)."""
    try:
        name = check_username(username)
    except ConfigError:
        name = ""
    row = session.scalars(select(UserRow).where(UserRow.username == name)).first() if name else None
    if row is None or row.disabled:
        sec.verify_password(sec.dummy_hash(), password)
        return None
    if not sec.verify_password(row.password_hash, password):
        return None
    if sec.needs_rehash(row.password_hash):
        row.password_hash = sec.hash_password(password)
    row.last_login = time.time()
    return row


def open_session(session: Session, user: UserRow, *, ip: str | None, user_agent: str | None) -> tuple[str, str]:
    """A new console session; returns (session id, CSRF token), both shown only to the browser."""
    now = time.time()
    sid, csrf = sec.new_secret(), sec.new_secret()
    session.add(SessionRow(id_hash=sec.digest(sid), user_id=user.id, csrf_hash=sec.digest(csrf), created_at=now,
                           last_seen=now, expires_at=now + SESSION_MAX_S, ip=ip,
                           user_agent=(user_agent or "")[:256] or None))
    session.flush()
    live = list(session.scalars(select(SessionRow.id_hash).where(SessionRow.user_id == user.id)
                                .order_by(SessionRow.created_at.desc()).offset(MAX_SESSIONS_PER_USER)))
    if live:
        session.execute(delete(SessionRow).where(SessionRow.id_hash.in_(live)))
    return sid, csrf


def session_principal(session: Session, sid: str) -> tuple[Principal, str] | None:
    """The principal of a live session id and its CSRF token hash; expired sessions are deleted."""
    now = time.time()
    row = session.get(SessionRow, sec.digest(sid))
    if row is None:
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or user.disabled or row.expires_at <= now or now - row.last_seen > SESSION_IDLE_S:
        session.delete(row)
        return None
    if now - row.last_seen > SESSION_TOUCH_S:
        row.last_seen = now
    scopes = frozenset(sec.ROLE_SCOPES[user.role])
    return Principal(user.id, user.username, user.role, "session", scopes, session_hash=row.id_hash), row.csrf_hash


def close_session(session: Session, session_hash: str) -> None:
    session.execute(delete(SessionRow).where(SessionRow.id_hash == session_hash))


def purge_expired_sessions(session: Session) -> int:
    now = time.time()
    result = session.execute(delete(SessionRow).where(
        (SessionRow.expires_at <= now) | (SessionRow.last_seen < now - SESSION_IDLE_S)))
    return int(getattr(result, "rowcount", 0) or 0)


def create_token(session: Session, user: UserRow, *, name: str, scopes: list[str],
                 expires_in_s: float | None) -> tuple[ApiTokenRow, str]:
    """A new API token for ``user`` limited to ``scopes`` (within the user's role); returns (row, token)."""
    allowed = sec.ROLE_SCOPES[user.role]
    wanted = sorted(set(scopes))
    if not wanted or not set(wanted) <= allowed:
        raise ConfigError(f"scopes must be a non-empty subset of {', '.join(sorted(allowed))} for role {user.role}")
    live = session.scalar(select(func.count()).select_from(ApiTokenRow).where(
        ApiTokenRow.user_id == user.id, ApiTokenRow.revoked_at.is_(None)))
    if int(live or 0) >= MAX_TOKENS_PER_USER:
        raise ConfigError(f"a user may hold at most {MAX_TOKENS_PER_USER} live tokens: revoke one first")
    token = sec.new_token()
    now = time.time()
    row = ApiTokenRow(user_id=user.id, name=name.strip()[:100] or "token", token_hash=sec.digest(token),
                      prefix=token[:12], scopes=wanted, created_at=now,
                      expires_at=now + expires_in_s if expires_in_s else None, last_used=None, revoked_at=None)
    session.add(row)
    session.flush()
    return row, token


def token_principal(session: Session, token: str) -> Principal | None:
    """The principal of a live (unrevoked, unexpired) token of an enabled user, else None."""
    if not token.startswith(sec.TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalars(select(ApiTokenRow).where(ApiTokenRow.token_hash == sec.digest(token))).first()
    now = time.time()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or user.disabled:
        return None
    if row.last_used is None or now - row.last_used > SESSION_TOUCH_S:
        row.last_used = now
    scopes = frozenset(set(row.scopes) & sec.ROLE_SCOPES[user.role])  # a demoted user's tokens shrink too
    return Principal(user.id, user.username, user.role, "token", scopes, token_id=row.id)


def audit(session: Session, actor: str, action: str, target: str | None = None, *, ip: str | None = None,
          **detail: Any) -> None:
    """Record one change (in the caller's transaction, so the change and its record commit together)."""
    session.add(AuditRow(ts=time.time(), actor=actor[:64] or "-", action=action, target=target and target[:320],
                         ip=ip, detail=detail))
