"""risk.cleartext.ftp: an FTP server (RFC 959) whose logins cross the network in cleartext."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check

ANONYMOUS_USERS = frozenset({"anonymous", "ftp"})  # RFC 1635 §2: anonymous FTP sends no secret


class CleartextFtp(Check):
    """Medium for an FTP service seen (its greeting), high once a named user logged in with USER/PASS
    in cleartext (RFC 959 §4.1.1; FTPS, RFC 4217, is not dissected because AUTH TLS ends the session)."""

    id: ClassVar[str] = "risk.cleartext.ftp"
    title: ClassVar[str] = "FTP logins in cleartext"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Replace FTP with SFTP or FTPS (RFC 4217, AUTH TLS required); if FTP must "
                                  "stay, restrict it to a management network and rotate the exposed passwords.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_DATA_PROTECTION, ref.ETSI_PROTECT_CREDENTIALS,
                                             ref.CWE_CLEARTEXT, "RFC 959", "RFC 4217")
    protos: ClassVar[frozenset[str]] = frozenset({"ftp"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind == "banner":
            self.hit_subject(obs, clients=obs.peer_ip or "")
        elif obs.kind == "login_attempt":
            user = str(obs.fields.get("username") or "")
            severity: Severity = "medium" if user.lower() in ANONYMOUS_USERS else "high"
            self.hit_subject(obs, severity, clients=obs.peer_ip or "", usernames=user or [],
                             login_results=str(obs.fields.get("result") or "unknown"))
