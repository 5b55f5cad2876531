"""Certificate lifecycle: rotation schedule and expiry reminders, revocation (then a fresh CRL),
enrolment tokens, and the inventory link (which device holds which certificate).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from iotwarden.errors import IdentityError
from iotwarden.identity import crl, defaults, profiles
from iotwarden.identity.ca import DeviceCA
from iotwarden.identity.records import REVOCATION_REASONS, EnrolmentToken, IdentityRepository, IssuedCert

RENEW_AT_FRACTION = 2 / 3  # rotate once two thirds of the lifetime has passed (cert-manager's default)
DEFAULT_REMIND_DAYS = defaults.DEFAULT_REMIND_DAYS  # `iotwarden identity expiring` looks this far ahead
TOKEN_BYTES = 32  # enrolment token entropy (256 bits, URL-safe base64 on the wire)
DEFAULT_TOKEN_HOURS = defaults.DEFAULT_TOKEN_HOURS  # an unused enrolment token expires after this
MAX_TOKEN_HOURS = 24.0 * 30  # no token lives longer than this


@dataclass(frozen=True, slots=True)
class Reminder:
    """A certificate due for rotation or close to expiry."""

    serial: str
    device_id: str
    device_key: str | None
    not_after: float
    renew_at: float
    days_left: float  # negative once expired

    def to_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "device_id": self.device_id, "device_key": self.device_key,
                "not_after": self.not_after, "renew_at": self.renew_at, "days_left": round(self.days_left, 2)}


def renew_at(cert: IssuedCert, fraction: float = RENEW_AT_FRACTION) -> float:
    """When ``cert`` should be re-enrolled: ``fraction`` of the way through its validity."""
    return cert.not_before + (cert.not_after - cert.not_before) * fraction


def _reminder(cert: IssuedCert, now: float) -> Reminder:
    return Reminder(cert.serial, cert.device_id, cert.device_key, cert.not_after, renew_at(cert),
                    (cert.not_after - now) / 86400)


def expiring(repo: IdentityRepository, now: float, within_days: float = DEFAULT_REMIND_DAYS) -> list[Reminder]:
    """Valid certificates whose ``not_after`` falls within ``within_days`` of ``now`` (or has passed),
    soonest first."""
    due = repo.list_certificates(status="valid", expiring_before=now + within_days * 86400)
    return sorted((_reminder(c, now) for c in due), key=lambda r: r.not_after)


def rotation_due(repo: IdentityRepository, now: float, fraction: float = RENEW_AT_FRACTION) -> list[Reminder]:
    """Valid certificates past their renewal point, soonest expiry first."""
    due = [c for c in repo.list_certificates(status="valid") if renew_at(c, fraction) <= now]
    return sorted((_reminder(c, now) for c in due), key=lambda r: r.not_after)


def revoke(ca: DeviceCA, serial: str, reason: str = "unspecified", *, publish: bool = True) -> IssuedCert:
    """Revoke ``serial`` with CRLReason ``reason`` (RFC 5280 §5.3.1) and, by default, publish a new CRL."""
    if reason not in REVOCATION_REASONS:
        raise IdentityError(f"unknown revocation reason {reason!r}: one of {', '.join(REVOCATION_REASONS)}")
    serial = serial.lower().removeprefix("0x").lstrip("0") or "0"
    rec = ca.repo.get_certificate(serial)
    if rec is None:
        raise IdentityError(f"no certificate with serial {serial} was issued by this CA")
    if rec.status == "revoked":
        raise IdentityError(f"certificate {serial} is already revoked")
    now = ca.clock()
    ca.repo.set_status(serial, "revoked", revoked_at=now, reason=reason)
    if publish:
        crl.publish(ca)
    rec.status, rec.revoked_at, rec.reason = "revoked", now, reason
    return rec


def holders(repo: IdentityRepository) -> dict[str, list[IssuedCert]]:
    """The inventory link: device key -> its valid certificates (unlinked certificates left out)."""
    out: dict[str, list[IssuedCert]] = {}
    for cert in repo.list_certificates(status="valid"):
        if cert.device_key:
            out.setdefault(cert.device_key, []).append(cert)
    return out


def token_hash(token: str) -> str:
    """What the repository keeps of a token: its SHA-256 (the token itself is shown once)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(repo: IdentityRepository, device_id: str, now: float, *, device_key: str | None = None,
              profile: str = "device", valid_hours: float = DEFAULT_TOKEN_HOURS) -> str:
    """Create a one-time enrolment token for ``device_id`` and return it (it is not stored in clear)."""
    profiles.check_device_id(device_id)
    profiles.get(profile)
    if not 0 < valid_hours <= MAX_TOKEN_HOURS:
        raise IdentityError(f"token lifetime must be between 0 and {MAX_TOKEN_HOURS:g} hours")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    repo.add_token(EnrolmentToken(token_hash(token), device_id, device_key, profile, now, now + valid_hours * 3600))
    return token
