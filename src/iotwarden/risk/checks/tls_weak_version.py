"""risk.tls.weak_version: a server that negotiated SSL 3.0 (RFC 7568), TLS 1.0 or TLS 1.1 (RFC 8996)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import endpoint_of

# version names as the TLS dissector writes them (dissect/tlshello.py VERSION_NAMES)
WEAK_VERSIONS: dict[str, Severity] = {
    "SSL 2.0": "critical",  # RFC 6176
    "SSL 3.0": "high",  # RFC 7568 §3 (POODLE)
    "TLS 1.0": "medium",  # RFC 8996 §2
    "TLS 1.1": "medium",  # RFC 8996 §3
}


class TlsWeakVersion(Check):
    """Both ends of a ServerHello (RFC 8446 §4.1.3) whose selected version is deprecated: the server
    chose it and the client accepted it (``roles`` in the evidence says which end the device was)."""

    id: ClassVar[str] = "risk.tls.weak_version"
    title: ClassVar[str] = "Deprecated TLS/SSL version negotiated"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Update the device's TLS stack or configuration to offer TLS 1.2 and 1.3 only "
                                  "(RFC 8996); if the firmware cannot, isolate the device and proxy its traffic.")
    references: ClassVar[tuple[str, ...]] = (ref.ETSI_BEST_PRACTICE_CRYPTO, ref.NIST_DATA_PROTECTION,
                                             ref.CWE_BROKEN_CRYPTO, "RFC 8996", "RFC 7568")
    protos: ClassVar[frozenset[str]] = frozenset({"tls"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "server_hello":
            return
        version = obs.fields.get("version")
        if isinstance(version, str) and version in WEAK_VERSIONS:
            severity = WEAK_VERSIONS[version]
            self.hit_subject(obs, severity, versions=version, roles="server", peers=obs.dst_ip or "",
                             ports=str(obs.src_port or ""))
            self.hit(endpoint_of(obs, "dst"), obs.ts, severity, versions=version, roles="client",
                     peers=obs.src_ip or "", ports=str(obs.src_port or ""))
