"""Certificate revocation lists (RFC 5280 §5) of the issuing CA, built from the repository's revoked
certificates and written to ``crl.pem`` in the CA folder with a monotonically increasing CRL number.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from iotwarden.errors import IdentityError
from iotwarden.identity import defaults
from iotwarden.identity.ca import DeviceCA
from iotwarden.identity.records import REVOCATION_REASONS
from iotwarden.identity.signing import sign_crl

DEFAULT_VALIDITY_HOURS = defaults.DEFAULT_VALIDITY_HOURS  # nextUpdate - thisUpdate (§5.1.2.5)
MAX_VALIDITY_HOURS = 24.0 * 366  # no CRL claims to stay current longer than a year (nor past datetime's range)
EXPIRED_GRACE_S = 86400  # revoked certificates stay listed this long after they expire (§3.3 allows removal)
CRL_FILE, CRL_NUMBER_FILE = "crl.pem", "crlnumber"

_REASONS = {name: x509.ReasonFlags[name] for name in REVOCATION_REASONS}


def reason_flag(name: str) -> x509.ReasonFlags:
    """The CRLReason (RFC 5280 §5.3.1) called ``name``; :class:`IdentityError` for an unknown one."""
    try:
        return _REASONS[name]
    except KeyError:
        raise IdentityError(f"unknown revocation reason {name!r}: one of {', '.join(REVOCATION_REASONS)}") from None


def next_crl_number(folder: Path) -> int:
    """Increment and return the CRL number kept in ``crlnumber`` (cRLNumber, §5.2.3: monotonic)."""
    path = folder / CRL_NUMBER_FILE
    try:
        current = int(path.read_text().strip() or "0") if path.exists() else 0
    except ValueError:
        raise IdentityError(f"{path}: not a CRL number") from None
    path.write_text(f"{current + 1}\n")
    return current + 1


def _check_validity(hours: float) -> None:
    if not 0 < hours <= MAX_VALIDITY_HOURS:  # nextUpdate later than thisUpdate (§5.1.2.5); NaN fails too
        raise IdentityError(f"CRL validity must be between 0 and {MAX_VALIDITY_HOURS:g} hours, not {hours:g}")


def build(ca: DeviceCA, *, number: int, validity_hours: float = DEFAULT_VALIDITY_HOURS,
          now: float | None = None) -> x509.CertificateRevocationList:
    """The CRL listing every revoked certificate of ``ca`` that has not long expired."""
    _check_validity(validity_hours)
    now = ca.clock() if now is None else now
    this_update = dt.datetime.fromtimestamp(now, dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.issuing.subject)
        .last_update(this_update)
        .next_update(this_update + dt.timedelta(hours=validity_hours))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.issuing.public_key()),  # type: ignore[arg-type]
                       critical=False)
    )
    for rec in ca.repo.list_certificates(status="revoked"):
        if rec.not_after + EXPIRED_GRACE_S < now:
            continue
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(rec.serial, 16))
            .revocation_date(dt.datetime.fromtimestamp(rec.revoked_at or now, dt.UTC))
        )
        if rec.reason and rec.reason != "unspecified":  # §5.3.1: omit the extension for unspecified
            entry = entry.add_extension(x509.CRLReason(reason_flag(rec.reason)), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return sign_crl(builder, ca.issuing_key)


def publish(ca: DeviceCA, *, validity_hours: float = DEFAULT_VALIDITY_HOURS, path: Path | None = None) -> Path:
    """Build the next CRL and write it as PEM to ``path`` (default ``crl.pem`` in the CA folder)."""
    _check_validity(validity_hours)  # before the CRL number is spent
    crl = build(ca, number=next_crl_number(ca.folder), validity_hours=validity_hours)
    target = path or ca.folder / CRL_FILE
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    tmp.replace(target)  # readers (Mosquitto on SIGHUP) never see half a CRL
    return target
