"""Store tables of the platform's own security: console users, API tokens, login sessions, audit log.

Secrets never sit in the database in clear: passwords as argon2id hashes, tokens and session ids as
SHA-256 of 256-bit random values. Migration ``0004_console`` creates exactly these tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from iotwarden.store.schema import Base, BigId

USERNAME_LEN = 64
ROLE_LEN = 16  # admin | analyst | viewer
HASH_LEN = 64  # SHA-256 in hex
TOKEN_NAME_LEN = 100
TOKEN_PREFIX_LEN = 12  # the first characters of a token, kept to recognise it in listings
IP_TEXT_LEN = 64
USER_AGENT_LEN = 256


class UserRow(Base):
    """A console user: a unique name, an argon2id password hash (RFC 9106) and one role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LEN), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # PHC string "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
    role: Mapped[str] = mapped_column(String(ROLE_LEN))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    last_login: Mapped[float | None] = mapped_column(Float)


class ApiTokenRow(Base):
    """A bearer token for scripts: only its SHA-256 is stored; scoped, expiring, revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(TOKEN_NAME_LEN))
    token_hash: Mapped[str] = mapped_column(String(HASH_LEN), unique=True)
    prefix: Mapped[str] = mapped_column(String(TOKEN_PREFIX_LEN))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)  # subset of read, write, admin
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)
    last_used: Mapped[float | None] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)


class SessionRow(Base):
    """A browser login: the cookie carries the random id, the row only its SHA-256 and the CSRF token's."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(HASH_LEN), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    created_at: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    ip: Mapped[str | None] = mapped_column(String(IP_TEXT_LEN))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LEN))


class AuditRow(Base):
    """One change made through the API or console (or a login attempt): who, what, on what, from where."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_ts", "ts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(USERNAME_LEN))  # username, or "-" when unknown
    action: Mapped[str] = mapped_column(String(64))  # dotted verb: "alert.acknowledge", "auth.login_failed"
    target: Mapped[str | None] = mapped_column(String(320))  # what was changed: "alert:12", "user:bob"
    ip: Mapped[str | None] = mapped_column(String(IP_TEXT_LEN))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
