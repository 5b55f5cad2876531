"""Identity records (issued certificates, enrolment tokens) and the repository interface that keeps them.

The store implements :class:`IdentityRepository` on SQLite/PostgreSQL
(:mod:`iotwarden.store.identity_models`); identity logic only sees this interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

CertStatus = Literal["valid", "revoked", "superseded"]
STATUSES: tuple[CertStatus, ...] = ("valid", "revoked", "superseded")

# CRLReason names (RFC 5280 §5.3.1) accepted for revocation
REVOCATION_REASONS = (
    "unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
    "cessation_of_operation", "certificate_hold", "privilege_withdrawn",
)


@dataclass(slots=True)
class IssuedCert:
    """One certificate the device CA issued. ``serial`` is lower-case hex without leading zeros (as
    :mod:`iotwarden.dissect.x509info` writes it); times are seconds since the epoch (UTC)."""

    serial: str
    subject: str  # RFC 4514 string
    device_id: str  # the subject CN
    device_key: str | None  # inventory link: the device that holds this certificate (``mac:..``)
    profile: str
    not_before: float
    not_after: float
    sha256: str  # of the DER certificate, to match certificates seen in traffic
    pem: str
    issued_at: float
    method: str = "direct"  # direct | est | est-reenroll
    status: CertStatus = "valid"
    revoked_at: float | None = None
    reason: str | None = None  # CRLReason name when revoked

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class EnrolmentToken:
    """A one-time secret that lets one device enrol over EST (RFC 7030 §3.2.3 HTTP Basic password).

    Only the SHA-256 of the token is kept; ``used_at`` is set by the one enrolment it allows."""

    token_hash: str
    device_id: str  # the CN the CSR must carry
    device_key: str | None
    profile: str
    created_at: float
    expires_at: float
    used_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class IdentityRepository(Protocol):
    """Where issued certificates and enrolment tokens live."""

    def add_certificate(self, cert: IssuedCert) -> None: ...

    def get_certificate(self, serial: str) -> IssuedCert | None: ...

    def find_by_sha256(self, sha256: str) -> IssuedCert | None: ...

    def list_certificates(self, *, device_key: str | None = None, device_id: str | None = None,
                          status: CertStatus | None = None, expiring_before: float | None = None
                          ) -> list[IssuedCert]:
        """Certificates matching every given filter, oldest issuance first."""
        ...

    def set_status(self, serial: str, status: CertStatus, *, revoked_at: float | None = None,
                   reason: str | None = None) -> bool:
        """Change a certificate's status; False when no such serial."""
        ...

    def set_device_key(self, serial: str, device_key: str) -> bool:
        """Link a certificate to the inventory device that holds it; False when no such serial."""
        ...

    def add_token(self, token: EnrolmentToken) -> None: ...

    def consume_token(self, token_hash: str, now: float) -> EnrolmentToken | None:
        """Mark the token used and return it, atomically; None when unknown, used or expired."""
        ...
