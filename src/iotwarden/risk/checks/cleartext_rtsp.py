"""risk.cleartext.rtsp: RTSP credentials sent in cleartext: Basic authentication (RTSP 1.0 borrows
HTTP's, RFC 2326 §12.5 and Appendix D.1.2 / D.2.2; RFC 7617 §4) or a password in the Request-URI
(RFC 3986 §3.2.1 deprecates it)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.checks.cleartext_http_basic import CleartextHttpBasic
from iotwarden.risk.subjects import endpoint_of


class CleartextRtsp(CleartextHttpBasic):
    """The streaming server (a camera, a recorder): high once a password crossed the network to it, in
    Basic credentials or in a URI's userinfo; medium when it asks for Basic (WWW-Authenticate). The
    Basic logic is HTTP's, the scheme being the same. Digest (RFC 2617 §3.2.2) sends no password: no
    finding. A camera's RTSP account is usually its web interface's account too."""

    id: ClassVar[str] = "risk.cleartext.rtsp"
    title: ClassVar[str] = "RTSP credentials in cleartext"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Set the device's RTSP authentication to Digest only (not 'digest/basic' or "
                                  "'basic'), or stream over RTSPS/SRTP; configure recorders with the credentials "
                                  "as settings rather than in the stream URL, and change the passwords that were "
                                  "sent in the clear.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_DATA_PROTECTION, ref.ETSI_PROTECT_CREDENTIALS,
                                             ref.CWE_CLEARTEXT, "RFC 2326 §12.5", "RFC 7617 §4",
                                             "RFC 3986 §3.2.1")
    protos: ClassVar[frozenset[str]] = frozenset({"rtsp"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        super().on_observation(ctx, obs)  # Basic sent (high) or asked for (medium)
        if obs.kind == "request" and obs.fields.get("uri_password_present"):
            user = obs.fields.get("uri_user")
            self.hit(endpoint_of(obs, "dst"), obs.ts, "high", clients=obs.src_ip or "",
                     usernames=str(user) if user else [], ports=str(obs.dst_port or ""), sent_in="uri")
