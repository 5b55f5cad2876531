"""risk.rtsp.unauthenticated_stream: a camera or recorder that serves its video stream to a client that
sent no credentials (RFC 2326 §10.2 DESCRIBE, §10.5 PLAY answered 200 without an Authorization header)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import endpoint_of

MAX_PENDING_REQUESTS = 10_000  # unauthenticated DESCRIBE/PLAY awaiting their answer; past it the oldest is dropped
MAX_AUTHENTICATED_CONNECTIONS = 10_000  # connections remembered to have sent credentials (oldest forgotten)
# A stream is handed out by DESCRIBE (its SDP) and started by PLAY. SETUP is left out: an AirPlay sender's
# SETUP before RECORD pushes media *to* the receiver, and a 200 to it serves nothing.
STREAM_METHODS = frozenset({"DESCRIBE", "PLAY"})

Connection = tuple[str | None, int | None, str | None, int | None]  # client ip, port, server ip, port


class RtspUnauthenticatedStream(Check):
    """The server: high when it answered 2xx to a DESCRIBE without credentials with an SDP describing
    media, or to such a PLAY on a connection that never sent credentials (a PLAY after an authenticated
    SETUP rides on the session the server granted). A 401 is no finding, whether or not the client
    then retries with credentials; evidence names the clients, the stream paths and the Server header."""

    id: ClassVar[str] = "risk.rtsp.unauthenticated_stream"
    title: ClassVar[str] = "Video stream served without authentication"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = ("Require authentication for RTSP on the camera or recorder (Digest; on Axis "
                                  "turn off 'Allow anonymous viewers', on Hikvision and Dahua enable RTSP "
                                  "authentication), give the recorder its own account, and keep cameras on a "
                                  "segment that only the recorder can reach.")
    # the stream is device functionality reached over the network without authentication (5.5-4); a camera's
    # picture is personal data, and served to anyone it crosses the segment to anyone, in clear RTP (5.8-1)
    references: ClassVar[tuple[str, ...]] = (ref.NIST_LOGICAL_ACCESS, ref.ETSI_AUTHENTICATED_ACCESS,
                                             ref.ETSI_PERSONAL_DATA, ref.CWE_MISSING_AUTH,
                                             "RFC 2326 §7.1.1, §10.2, §10.5")
    protos: ClassVar[frozenset[str]] = frozenset({"rtsp"})

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[tuple[Connection, int], Observation] = {}  # unauthenticated stream requests by CSeq
        self.authenticated: dict[Connection, None] = {}  # connections that sent credentials (insertion order)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind == "request":
            self._request(obs)
        elif obs.kind == "response":
            self._response(obs)

    def _request(self, obs: Observation) -> None:
        conn: Connection = (obs.src_ip, obs.src_port, obs.dst_ip, obs.dst_port)
        cseq = obs.fields.get("cseq")
        if obs.fields.get("authorization_scheme") or obs.fields.get("uri_password_present"):
            if len(self.authenticated) >= MAX_AUTHENTICATED_CONNECTIONS:
                del self.authenticated[next(iter(self.authenticated))]
            self.authenticated[conn] = None
        elif obs.fields.get("method") in STREAM_METHODS and obs.fields.get("path") and isinstance(cseq, int):
            if len(self.pending) >= MAX_PENDING_REQUESTS:
                del self.pending[next(iter(self.pending))]
            self.pending[(conn, cseq)] = obs

    def _response(self, obs: Observation) -> None:
        cseq = obs.fields.get("cseq")
        if not isinstance(cseq, int):
            return
        conn: Connection = (obs.dst_ip, obs.dst_port, obs.src_ip, obs.src_port)
        request = self.pending.pop((conn, cseq), None)
        status = obs.fields.get("status")
        if request is None or not isinstance(status, int) or not 200 <= status < 300:
            return
        method = request.fields["method"]
        if method == "DESCRIBE" and not obs.fields.get("media"):
            return  # no stream described (RFC 2326 §10.2: the answer is the description)
        if method == "PLAY" and conn in self.authenticated:
            return
        server = obs.fields.get("server")
        self.hit(endpoint_of(obs, "src"), obs.ts, clients=request.src_ip or "", paths=str(request.fields["path"]),
                 methods=method, media=obs.fields.get("media") or [], servers=str(server) if server else [],
                 ports=str(obs.src_port or ""))
