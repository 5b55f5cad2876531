"""risk.cleartext.http_basic: HTTP Basic authentication (RFC 7617) sent or offered without TLS."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import endpoint_of


class CleartextHttpBasic(Check):
    """The HTTP server that received Basic credentials over plain HTTP (high: the base64 user-pass of
    RFC 7617 §2 is cleartext), or that asks for Basic authentication (WWW-Authenticate, medium)."""

    id: ClassVar[str] = "risk.cleartext.http_basic"
    title: ClassVar[str] = "HTTP Basic authentication without TLS"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Serve the device's web interface over HTTPS only (redirect HTTP), or use an "
                                  "authentication scheme that does not send the password; change the passwords "
                                  "that were sent in the clear.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_DATA_PROTECTION, ref.ETSI_PROTECT_CREDENTIALS,
                                             ref.CWE_CLEARTEXT, "RFC 7617 §4")
    protos: ClassVar[frozenset[str]] = frozenset({"http"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind == "request" and obs.fields.get("basic_auth"):
            user = obs.fields.get("basic_user")
            self.hit(endpoint_of(obs, "dst"), obs.ts, "high", clients=obs.src_ip or "",
                     usernames=str(user) if user else [], ports=str(obs.dst_port or ""),
                     hosts=str(obs.fields.get("host") or "") or [])
        elif obs.kind == "response":
            challenge = str(obs.fields.get("www_authenticate") or "")
            if challenge.lower().startswith("basic"):
                self.hit_subject(obs, clients=obs.dst_ip or "", ports=str(obs.src_port or ""),
                                 challenges=challenge)
