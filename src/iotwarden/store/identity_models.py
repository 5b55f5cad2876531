"""Store tables of the device CA (issued certificates, enrolment tokens) and the SQL implementation of
:class:`iotwarden.identity.records.IdentityRepository` on SQLite and PostgreSQL.

Migration ``0002_identity`` creates exactly these tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from iotwarden.identity.records import CertStatus, EnrolmentToken, IssuedCert
from iotwarden.store.db import Store
from iotwarden.store.schema import KEY_LEN, Base

SERIAL_LEN = 40  # 159-bit random serials (RFC 5280 §4.1.2.2: at most 20 octets) in hex


class IssuedCertRow(Base):
    """One certificate the device CA issued, with its status (valid, revoked, superseded)."""

    __tablename__ = "identity_certificates"

    serial: Mapped[str] = mapped_column(String(SERIAL_LEN), primary_key=True)
    subject: Mapped[str] = mapped_column(String(512))
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    device_key: Mapped[str | None] = mapped_column(String(KEY_LEN), index=True)
    profile: Mapped[str] = mapped_column(String(32))
    not_before: Mapped[float] = mapped_column(Float)
    not_after: Mapped[float] = mapped_column(Float, index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    pem: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    revoked_at: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(32))


class EnrolmentTokenRow(Base):
    """A one-time EST enrolment token, kept only as its SHA-256."""

    __tablename__ = "identity_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    device_key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    profile: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def _cert(row: IssuedCertRow) -> IssuedCert:
    return IssuedCert(
        serial=row.serial, subject=row.subject, device_id=row.device_id, device_key=row.device_key,
        profile=row.profile, not_before=row.not_before, not_after=row.not_after, sha256=row.sha256, pem=row.pem,
        issued_at=row.issued_at, method=row.method, status=row.status,  # type: ignore[arg-type]
        revoked_at=row.revoked_at, reason=row.reason,
    )


def _token(row: EnrolmentTokenRow) -> EnrolmentToken:
    return EnrolmentToken(token_hash=row.token_hash, device_id=row.device_id, device_key=row.device_key,
                          profile=row.profile, created_at=row.created_at, expires_at=row.expires_at,
                          used_at=row.used_at, extra=dict(row.extra or {}))


class SqlIdentityRepository:
    """The identity repository on a migrated :class:`~iotwarden.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add_certificate(self, cert: IssuedCert) -> None:
        with self.store.transaction() as s:
            s.add(IssuedCertRow(**cert.to_dict()))

    def get_certificate(self, serial: str) -> IssuedCert | None:
        with self.store.session() as s:
            row = s.get(IssuedCertRow, serial.lower().lstrip("0") or "0")
            return _cert(row) if row else None

    def find_by_sha256(self, sha256: str) -> IssuedCert | None:
        with self.store.session() as s:
            row = s.scalars(select(IssuedCertRow).where(IssuedCertRow.sha256 == sha256.lower())).first()
            return _cert(row) if row else None

    def list_certificates(self, *, device_key: str | None = None, device_id: str | None = None,
                          status: CertStatus | None = None, expiring_before: float | None = None
                          ) -> list[IssuedCert]:
        query = select(IssuedCertRow).order_by(IssuedCertRow.issued_at, IssuedCertRow.serial)
        if device_key is not None:
            query = query.where(IssuedCertRow.device_key == device_key)
        if device_id is not None:
            query = query.where(IssuedCertRow.device_id == device_id)
        if status is not None:
            query = query.where(IssuedCertRow.status == status)
        if expiring_before is not None:
            query = query.where(IssuedCertRow.not_after < expiring_before)
        with self.store.session() as s:
            return [_cert(r) for r in s.scalars(query)]

    def set_status(self, serial: str, status: CertStatus, *, revoked_at: float | None = None,
                   reason: str | None = None) -> bool:
        with self.store.transaction() as s:
            done = s.execute(update(IssuedCertRow).where(IssuedCertRow.serial == serial)
                             .values(status=status, revoked_at=revoked_at, reason=reason))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def set_device_key(self, serial: str, device_key: str) -> bool:
        with self.store.transaction() as s:
            done = s.execute(update(IssuedCertRow).where(IssuedCertRow.serial == serial)
                             .values(device_key=device_key))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def add_token(self, token: EnrolmentToken) -> None:
        with self.store.transaction() as s:
            s.add(EnrolmentTokenRow(token_hash=token.token_hash, device_id=token.device_id,
                                    device_key=token.device_key, profile=token.profile,
                                    created_at=token.created_at, expires_at=token.expires_at,
                                    used_at=token.used_at, extra=dict(token.extra)))

    def consume_token(self, token_hash: str, now: float) -> EnrolmentToken | None:
        # one conditional UPDATE: of two concurrent enrolments with the same token only one matches
        with self.store.transaction() as s:
            done = s.execute(update(EnrolmentTokenRow)
                             .where(EnrolmentTokenRow.token_hash == token_hash,
                                    EnrolmentTokenRow.used_at.is_(None),
                                    EnrolmentTokenRow.expires_at > now)
                             .values(used_at=now))
            if not done.rowcount:  # type: ignore[attr-defined]
                return None
            row = s.get(EnrolmentTokenRow, token_hash)
            return _token(row) if row else None


def link_certificates(session: Session, links: dict[str, str]) -> int:
    """Record which device presented each issued certificate (serial -> device key) in ``session``'s
    transaction; returns how many certificates were linked."""
    done = 0
    for serial, device_key in links.items():
        result = session.execute(update(IssuedCertRow).where(IssuedCertRow.serial == serial)
                                 .values(device_key=device_key))
        done += int(bool(result.rowcount))  # type: ignore[attr-defined]
    return done
