"""risk.tls.expired: a server presenting a leaf certificate whose notAfter (RFC 5280 §4.1.2.5) is before
the time of the capture (capture time, not wall-clock time: an old capture is judged as of its day)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check, Option

DAY = 86_400.0


def epoch(iso: object) -> float | None:
    """Seconds since the epoch of an ISO 8601 UTC time as x509info writes it ("2025-03-06T09:00:00Z")."""
    if not isinstance(iso, str):
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class TlsExpired(Check):
    """Medium when expired, high when expired for longer than ``long_expired_days``."""

    id: ClassVar[str] = "risk.tls.expired"
    title: ClassVar[str] = "Expired TLS certificate"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Renew the certificate and automate renewal (EST, RFC 7030, or ACME, RFC 8555); "
                                  "clients that accept it are not validating certificates and must be fixed too.")
    references: ClassVar[tuple[str, ...]] = (ref.ETSI_BEST_PRACTICE_CRYPTO, ref.NIST_IDENTIFICATION,
                                             ref.CWE_CERT_EXPIRED, "RFC 5280 §4.1.2.5")
    protos: ClassVar[frozenset[str]] = frozenset({"tls"})
    options: ClassVar[tuple[Option, ...]] = (
        Option("long_expired_days", float, 365.0, "Days past notAfter after which the finding is high."),
    )

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "certificate":
            return
        certs = obs.fields.get("certs")
        if not isinstance(certs, list) or not certs or not isinstance(certs[0], dict):
            return
        leaf = certs[0]
        not_after = epoch(leaf.get("not_after"))
        if not_after is None or not_after >= obs.ts:
            return
        days = (obs.ts - not_after) / DAY
        severity: Severity = "high" if days > self.config["long_expired_days"] else "medium"
        self.hit_subject(obs, severity, not_after=str(leaf["not_after"]), subjects=str(leaf.get("subject") or "")
                         or [], days_expired=str(int(days)), clients=obs.dst_ip or "")
