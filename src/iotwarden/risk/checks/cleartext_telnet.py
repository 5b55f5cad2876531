"""risk.cleartext.telnet: a Telnet service (RFC 854) that carries its banner and logins in cleartext."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check


class CleartextTelnet(Check):
    """The server of every Telnet session: medium when only its banner was seen, high once a login
    (username and password typed in the clear, RFC 854 has no encryption) crossed the network."""

    id: ClassVar[str] = "risk.cleartext.telnet"
    title: ClassVar[str] = "Telnet management in cleartext"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Disable Telnet on the device; manage it over SSH or HTTPS, and block TCP 23 "
                                  "towards the device at the segment boundary.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_DATA_PROTECTION, ref.ETSI_PROTECT_CREDENTIALS,
                                             ref.ETSI_MINIMISE_SURFACE, ref.CWE_CLEARTEXT, "RFC 854")
    protos: ClassVar[frozenset[str]] = frozenset({"telnet"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind == "banner":
            self.hit_subject(obs, clients=obs.peer_ip or "", ports=str(obs.src_port or ""))
        elif obs.kind == "login_attempt":
            user = obs.fields.get("username")
            self.hit_subject(obs, "high", clients=obs.peer_ip or "", ports=str(obs.dst_port or ""),
                             usernames=str(user) if user else [],
                             login_results=str(obs.fields.get("result") or "unknown"))
