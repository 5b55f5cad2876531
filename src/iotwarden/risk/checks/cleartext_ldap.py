"""risk.cleartext.ldap: a client that binds to LDAP with a simple bind (RFC 4511 §4.2: the DN and its password in
the BindRequest) on a connection without TLS: the service account's password crosses the network in cleartext.

Multifunction printers, scanners, badge systems and NVRs look users up in Active Directory this way (the
"LDAP pass-back" an attacker who reaches the device's web page also abuses). RFC 4513 §5.1.2 and §6.3.3: a simple
bind's password is protected only by TLS, started before it with StartTLS (§3) or by LDAPS on 636. The dissector
never sees a bind after a successful StartTLS (the stream is TLS from there), nor on 636.
"""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check

LDAPS_PORTS = frozenset({636, 3269})  # IANA ldaps, msft-gc-ssl: TLS from the first byte
CWE_UNPROTECTED_CREDENTIALS = "CWE-523 (Unprotected Transport of Credentials)"


class CleartextLdap(Check):
    """The client of a ``bind_request`` (dissect/ldap.py, or Zeek's ldap.log "bind simple" with its REDACTED
    argument, sources/zeek_ldap.py) whose simple password is not empty; the server is named in the evidence."""

    id: ClassVar[str] = "risk.cleartext.ldap"
    title: ClassVar[str] = "LDAP simple bind password in cleartext"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = (
        "Configure the device's LDAP (address book, scan-to-folder, user authentication) for LDAPS on 636 or "
        "StartTLS, or for a SASL/Kerberos bind; give its service account the least rights, change the password that "
        "was exposed, and on the domain controllers require LDAP signing and channel binding (Microsoft ADV190023).")
    references: ClassVar[tuple[str, ...]] = (
        ref.NIST_DATA_PROTECTION, ref.ETSI_BEST_PRACTICE_CRYPTO, ref.ETSI_PROTECT_CREDENTIALS, ref.CWE_CLEARTEXT,
        CWE_UNPROTECTED_CREDENTIALS, "RFC 4511 §4.2", "RFC 4513 §5.1.2, §6.3.3")
    protos: ClassVar[frozenset[str]] = frozenset({"ldap"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        f = obs.fields
        if obs.kind != "bind_request" or f.get("auth") != "simple" or f.get("password_present") is not True:
            return
        if obs.dst_port in LDAPS_PORTS:
            return
        self.hit_subject(obs, servers=obs.dst_ip or "", ports=str(obs.dst_port or ""),
                         bind_names=str(f.get("name") or "") or [])
