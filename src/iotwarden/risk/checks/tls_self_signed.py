"""risk.tls.self_signed: a server presenting a self-signed leaf certificate (RFC 5280 §6.1: no chain to
a trust anchor, so clients either skip verification or pin it by hand)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check


class TlsSelfSigned(Check):
    """The sender of a Certificate message (RFC 5246 §7.4.2) whose first (leaf) certificate is self-signed."""

    id: ClassVar[str] = "risk.tls.self_signed"
    title: ClassVar[str] = "Self-signed TLS certificate"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Enrol the device in the organisation's PKI (iotwarden identity: EST, RFC 7030) "
                                  "and install a certificate issued by a CA its clients trust.")
    references: ClassVar[tuple[str, ...]] = (ref.ETSI_BEST_PRACTICE_CRYPTO, ref.NIST_IDENTIFICATION,
                                             ref.CWE_CERT_VALIDATION, "RFC 5280 §6.1")
    protos: ClassVar[frozenset[str]] = frozenset({"tls"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "certificate":
            return
        certs = obs.fields.get("certs")
        if not isinstance(certs, list) or not certs or not isinstance(certs[0], dict):
            return
        leaf = certs[0]
        if leaf.get("self_signed") is True:
            self.hit_subject(obs, subjects=str(leaf.get("subject") or "") or [],
                             sha256=str(leaf.get("sha256") or "") or [], clients=obs.dst_ip or "",
                             ports=str(obs.src_port or ""))
