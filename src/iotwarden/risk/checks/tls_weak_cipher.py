"""risk.tls.weak_cipher: a server that negotiated a NULL, EXPORT, RC4, DES/3DES or anonymous cipher suite
(the list is data: ``kb/data/risk/tls_weak_ciphers.yaml``, from the IANA registry)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.knowledge import weak_ciphers
from iotwarden.risk.subjects import endpoint_of

SEVERITY_BY_WEAKNESS: dict[str, Severity] = {
    "null": "critical", "export": "high", "anon": "high", "rc4": "high", "des": "high", "3des": "medium",
}


class TlsWeakCipher(Check):
    """Both ends of a ServerHello whose ``cipher_suite`` (RFC 8446 §4.1.3) is in the weak list
    (``roles`` in the evidence says whether the device served or accepted it)."""

    id: ClassVar[str] = "risk.tls.weak_cipher"
    title: ClassVar[str] = "Weak TLS cipher suite negotiated"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = ("Disable NULL, EXPORT, anonymous, RC4 and (3)DES suites on the device and "
                                  "prefer AEAD suites (AES-GCM, ChaCha20-Poly1305) with forward secrecy.")
    references: ClassVar[tuple[str, ...]] = (ref.ETSI_BEST_PRACTICE_CRYPTO, ref.NIST_DATA_PROTECTION,
                                             ref.CWE_BROKEN_CRYPTO, ref.CWE_WEAK_ENCRYPTION, "RFC 7465",
                                             "CVE-2016-2183")
    protos: ClassVar[frozenset[str]] = frozenset({"tls"})

    def __init__(self) -> None:
        super().__init__()
        self.weak = weak_ciphers()

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "server_hello":
            return
        suite = obs.fields.get("cipher_suite")
        if not isinstance(suite, int) or isinstance(suite, bool) or suite not in self.weak:
            return
        name, weakness = self.weak[suite]
        severity = SEVERITY_BY_WEAKNESS.get(weakness, "high")
        facts = {"cipher_suites": f"0x{suite:04X} {name}", "weaknesses": weakness, "ports": str(obs.src_port or "")}
        self.hit_subject(obs, severity, roles="server", peers=obs.dst_ip or "", **facts)
        self.hit(endpoint_of(obs, "dst"), obs.ts, severity, roles="client", peers=obs.src_ip or "", **facts)
