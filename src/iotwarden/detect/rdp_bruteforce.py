"""RDP password guessing and spraying: many Remote Desktop connections from one client that end before a
session starts.

Ids: ``detect.bruteforce.rdp`` (ATT&CK T1110.001 Password Guessing: ``min_attempts`` such connections from one
client to one server within ``window_s``) and ``detect.bruteforce.rdp_spray`` (T1110.003 Password Spraying: within
``window_s`` the attempts of one client name ``min_users`` distinct ``Cookie: mstshash`` user names, or reach
``min_servers`` distinct servers). With NLA the password is checked in CredSSP inside TLS ([MS-CSSP]), so a
guess is seen only by its shape: an attempt is a connection to an RDP port (``Flow.app`` rdp, or tcp/3389) that
closed within ``short_session_s`` having carried less than ``max_server_bytes`` from the server, and either
``min_client_bytes`` from the client (past the X.224 request, the client's TLS handshake and CredSSP's NTLM
NEGOTIATE: the AUTHENTICATE with the password's response was sent; docs/detection.md gives the sizes) or an
RDP_NEG_FAILURE ([MS-RDPBCGR] §2.2.1.2.2: the server refused the client's protocols). Where the packets show
CredSSP's turns (dissect/rdp.py ``encrypted_turns``), they decide instead of the size: a client that spoke again
after the server's CHALLENGE sent a password's response (an attempt, whatever its size); one that read the
CHALLENGE and stopped probed for the server's names (nmap's rdp-ntlm-info: no attempt, whatever its size). A
logged-on session streams the desktop (hundreds of KB within seconds) and lasts; an admin's few mistyped
passwords stay under ``min_attempts``. Inputs: flows (packets or Zeek conn.log) and ``rdp`` Observations
(dissect/rdp.py, Zeek rdp.log), joined by connection (client address and port, server address) whichever comes
first (``max_connections``).

Through a Remote Desktop Gateway ([MS-TSGU], dissect/tsgu.py) the guess is checked by the gateway in HTTP before any
RDP connection exists: where the HTTP is visible (a TLS-terminating sensor, a plain-HTTP gateway), a request that
opens a gateway tunnel (``http`` Observations with ``rdp_gateway``: RDG_OUT_DATA/RDG_IN_DATA, the WebSocket upgrade
to /remoteDesktopGateway/, RPC_IN_DATA/RPC_OUT_DATA to the gateway's RPC port 3388) and carried credentials, answered
401 with no next handshake leg, is an attempt against the gateway (``tsgu.credentials_rejected``; an NTLM exchange's
challenge 401 and the opening 401 are not), counted with the direct ones (the gateway as the server; a Basic
user-id as the user name; at most ``MAX_PENDING`` unanswered gateway requests per connection). Over TLS that the
sensor cannot read nothing of this is seen, and a gateway's TLS connections alone are not taken for guesses.

Each series is one device's (detect/base.same_holder): a lease that moves to another device after ``handover_s`` of
the series' silence starts the new holder's own; a device taking the address over sooner continues it, so a guesser
changing its MAC every few tries is one series.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import ClassVar

from iotwarden.detect.base import (
    BYTES,
    COUNT,
    DURATION,
    ENTRIES,
    HANDOVER_S,
    SECONDS,
    Detector,
    Options,
    Range,
    flow_domain,
    same_holder,
    site_host,
    subject_key,
    text,
)
from iotwarden.dissect import tsgu
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation

GUESS_ID = "detect.bruteforce.rdp"
SPRAY_ID = "detect.bruteforce.rdp_spray"
RDP_PORT = 3389  # IANA ms-wbt-server
MAX_NAMES_PER_CLIENT = 256  # user names and servers remembered per client (the most recent)
MAX_PENDING = 8  # gateway requests of one connection awaiting their answers (HTTP pipelining, RFC 9112 §9.3.2)
CHALLENGED_TURN, AUTHENTICATE_TURN = 2, 3  # dissect/rdp.py encrypted_turns: CHALLENGE answered, AUTHENTICATE sent
Conn = tuple[str, int, str]  # client address, client port, server address


@dataclass
class _GatewayRequest:
    request: Observation
    sent_credentials: bool


@dataclass
class _Connection:
    user: str | None = None
    refused: bool = False  # RDP_NEG_FAILURE seen
    turns: int = 0  # CredSSP's encrypted turns seen (dissect/rdp.py encrypted_turns): 2 challenged, 3 answered
    flow: Flow | None = None  # closed, not yet an attempt (a refusal may come after it from Zeek's logs)
    counted: bool = False


@dataclass
class _Guesses:
    subject: str  # the device the series is of (detect/base.same_holder): a lease that moves starts another
    times: deque[float]
    last: float = -math.inf  # the series' latest attempt (detect/base.same_holder's handover)


@dataclass
class _Client:
    subject: str
    last: float = -math.inf  # the series' latest attempt (detect/base.same_holder's handover)
    users: OrderedDict[str, float] = field(default_factory=OrderedDict)
    servers: OrderedDict[str, float] = field(default_factory=OrderedDict)
    evidence: list[Flow] = field(default_factory=list)


@dataclass(frozen=True)
class RdpBruteForceOptions(Options):
    window_s: float = 600.0  # attempts counted within this long
    min_attempts: int = 10  # attempts from one client to one server: password guessing
    min_users: int = 5  # distinct user names in one client's attempts: spraying
    min_servers: int = 5  # distinct servers in one client's attempts: spraying
    short_session_s: float = 30.0  # an attempt closes within this long
    max_server_bytes: int = 16_384  # and the server sent less than this (no desktop was drawn)
    min_client_bytes: int = 832  # past X.224, a TLS handshake and NTLM's NEGOTIATE: the AUTHENTICATE was sent
    max_connections: int = 50_000  # connections remembered for the join (LRU)
    max_clients: int = 50_000  # clients and (client, server) pairs tracked (LRU)
    handover_s: float = HANDOVER_S  # another device on the address this soon after the series continues it
    bounds: ClassVar[dict[str, Range]] = {
        "window_s": SECONDS, "min_attempts": COUNT, "min_users": COUNT, "min_servers": COUNT,
        "short_session_s": DURATION, "max_server_bytes": BYTES, "min_client_bytes": BYTES,
        "max_connections": ENTRIES, "max_clients": ENTRIES, "handover_s": DURATION}


class RdpBruteForceDetector(Detector):
    observes = frozenset({"rdp", "http"})
    name: ClassVar[str] = "detect.rdp_bruteforce"
    ids: ClassVar[tuple[str, ...]] = (GUESS_ID, SPRAY_ID)
    defaults: ClassVar[Options] = RdpBruteForceOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._conns: OrderedDict[Conn, _Connection] = OrderedDict()
        self._pairs: OrderedDict[tuple[str, str], _Guesses] = OrderedDict()
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        # per connection (its client address and port, server address): the gateway requests awaiting answers
        # (None: another request pipelined on the same connection, answered in its turn, RFC 9112 §9.3.2)
        self._gateway: OrderedDict[Conn, deque[_GatewayRequest | None]] = OrderedDict()

    def _conn(self, key: Conn) -> _Connection:
        found = self._conns.get(key)
        if found is None:
            found = self._conns[key] = _Connection()
            if len(self._conns) > self.options.max_connections:
                self._conns.popitem(last=False)
        return found

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if not obs.src_ip or not obs.dst_ip or obs.src_port is None or obs.dst_port is None:
            return
        if obs.proto == "http":
            self._http(ctx, obs)
        elif obs.kind == "connection_request":
            conn = self._conn((obs.src_ip, obs.src_port, obs.dst_ip))
            conn.user = text(obs.fields.get("username"))
            if conn.counted and conn.user:  # the attempt was counted before its request was known
                self._spray(ctx, obs.src_ip, obs.dst_ip, conn.user, obs.ts, flow=None, domain=obs.domain)
        elif obs.kind == "negotiation_failure":  # sent by the server
            conn = self._conn((obs.dst_ip, obs.dst_port, obs.src_ip))
            conn.refused = True
            if conn.flow is not None and not conn.counted:
                self._attempt(ctx, conn, conn.flow)
        elif obs.kind == "encrypted_turns":
            turns = obs.fields.get("turns")
            if not isinstance(turns, int):
                return
            # the 2nd turn is the server's (the CHALLENGE), the 3rd the client's (the AUTHENTICATE)
            key = (obs.src_ip, obs.src_port, obs.dst_ip) if turns >= AUTHENTICATE_TURN else (
                obs.dst_ip, obs.dst_port, obs.src_ip)
            conn = self._conn(key)
            conn.turns = max(conn.turns, turns)
            if conn.turns >= AUTHENTICATE_TURN and conn.flow is not None and not conn.counted:
                self._attempt(ctx, conn, conn.flow)

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # flow() takes only RDP flows whose client sent a payload: the rest (scans' empty probes, other
        # protocols) are passed over here, without a call each
        for flow in flows:
            if flow.payload_ab and (flow.b_port == RDP_PORT or flow.app == "rdp"):
                self.flow(ctx, flow)

    def flow(self, ctx: Context, flow: Flow) -> None:
        if flow.ip_proto != 6 or not (flow.app == "rdp" or flow.b_port == RDP_PORT) or not flow.payload_ab:
            return
        o: RdpBruteForceOptions = self.options
        if flow.duration > o.short_session_s or flow.payload_ba >= o.max_server_bytes:
            return  # a session, not a try
        conn = self._conn((flow.a_ip, flow.a_port, flow.b_ip))
        if conn.refused or conn.turns >= AUTHENTICATE_TURN:
            self._attempt(ctx, conn, flow)
        elif conn.turns == CHALLENGED_TURN:
            return  # CredSSP's CHALLENGE read and nothing sent after it: a probe (rdp-ntlm-info), whatever its size
        elif flow.payload_ab >= o.min_client_bytes:
            self._attempt(ctx, conn, flow)
        else:
            conn.flow = flow  # a refusal logged later makes it one

    def _http(self, ctx: Context, obs: Observation) -> None:
        """A gateway request remembered, or the answer to one judged (module docstring)."""
        if obs.kind == "request":
            key: Conn = (obs.src_ip or "", obs.src_port or 0, obs.dst_ip or "")
            pending = self._gateway.get(key)
            if "rdp_gateway" not in obs.fields:
                if pending is not None:  # another request on a gateway connection: its answer comes in turn
                    pending.append(None)
                return
            if pending is None:
                pending = self._gateway[key] = deque(maxlen=MAX_PENDING)
                if len(self._gateway) > self.options.max_connections:
                    self._gateway.popitem(last=False)
            pending.append(_GatewayRequest(obs, bool(obs.fields.get("authorization_scheme"))))
            return
        if obs.kind != "response":
            return
        key = (obs.dst_ip or "", obs.dst_port or 0, obs.src_ip or "")
        pending = self._gateway.get(key)
        if not pending:
            return
        status = obs.fields.get("status")
        if isinstance(status, int) and status < 200 and status != 101:  # an interim answer (RFC 9110 §15.2)
            return
        asked = pending.popleft()
        if asked is None:
            return
        www = obs.fields.get("www_authenticate")
        if isinstance(status, int) and tsgu.credentials_rejected(status, www if isinstance(www, str) else None,
                                                                 asked.sent_credentials):
            self._gateway_attempt(ctx, asked.request, obs)

    def _gateway_attempt(self, ctx: Context, request: Observation, response: Observation) -> None:
        client, server = request.src_ip or "", request.dst_ip or ""
        via = {"via": "rd_gateway", "transport": request.fields.get("rdp_gateway"),
               "gateway_host": text(request.fields.get("host")), "gateway_server": text(response.fields.get("server")),
               "method": request.fields.get("method")}
        self._count(ctx, client, server, request.ts, mac=request.src_mac,
                    user=text(request.fields.get("basic_user")), flow=None, observations=[request, response], via=via,
                    domain=request.domain)

    def _attempt(self, ctx: Context, conn: _Connection, flow: Flow) -> None:
        conn.counted, conn.flow = True, None
        self._count(ctx, flow.a_ip, flow.b_ip, flow.first_seen, mac=flow.a_mac, user=conn.user, flow=flow,
                    domain=flow_domain(flow))

    def _count(self, ctx: Context, client: str, server: str, ts: float, *, mac: str | None, user: str | None,
               flow: Flow | None, observations: list[Observation] | None = None,
               via: dict[str, object] | None = None, domain: str = "") -> None:
        """One attempt of ``client`` against ``server`` (a direct connection's ``flow``, or a gateway's refusal),
        both within broadcast ``domain`` (detect/base.site_host: two VLANs' 10.0.0.5 are two clients)."""
        o: RdpBruteForceOptions = self.options
        pair = (site_host(client, domain), site_host(server, domain)) if domain else (client, server)
        subject = subject_key(ctx, mac, client, domain, ts)
        guesses = self._pairs.get(pair)
        if guesses is None or not same_holder(ctx, guesses.subject, subject, ts - guesses.last, o.handover_s):
            guesses = self._pairs[pair] = _Guesses(subject, deque(maxlen=o.min_attempts))
            if len(self._pairs) > o.max_clients:
                self._pairs.popitem(last=False)
        guesses.subject, guesses.last = subject, ts  # one device's series, or its handover's (same_holder)
        self._pairs.move_to_end(pair)
        times = guesses.times
        times.append(ts)
        recent = sum(1 for t in times if abs(ts - t) <= o.window_s)
        if recent >= o.min_attempts:
            basis = ("credentials an RD Gateway refused (HTTP 401)" if via
                     else "short RDP connections that ended before a session")
            self.raise_alert(
                ctx, GUESS_ID, title=f"RDP password guessing from {client} against {server}"
                + (" (RD Gateway)" if via else ""), severity="high",
                subject=subject, ts=ts, key=server, mitre=("T1110", "T1110.001"),
                src_ip=client, dst_ip=server, flows=[flow] if flow else [], observations=observations or [],
                evidence={"service": "rdp", "tries": recent, "window_s": o.window_s, "basis": basis, **(via or {})})
            times.clear()
        self._spray(ctx, client, server, user, ts, flow=flow, mac=mac, domain=domain)

    def _spray(self, ctx: Context, client: str, server: str, user: str | None, ts: float, *,
               flow: Flow | None, mac: str | None = None, domain: str = "") -> None:
        o: RdpBruteForceOptions = self.options
        at = site_host(client, domain)
        subject = subject_key(ctx, mac or (flow.a_mac if flow else None), client, domain, ts)
        state = self._clients.get(at)
        if state is None or not same_holder(ctx, state.subject, subject, ts - state.last, o.handover_s):
            state = self._clients[at] = _Client(subject)
            if len(self._clients) > o.max_clients:
                self._clients.popitem(last=False)
        state.subject, state.last = subject, ts  # one device's series, or its handover's (same_holder)
        self._clients.move_to_end(at)
        for table, name in ((state.users, user), (state.servers, server)):
            if name:
                table[name] = ts
                table.move_to_end(name)
                while len(table) > MAX_NAMES_PER_CLIENT:
                    table.popitem(last=False)
        if flow is not None and len(state.evidence) < 8:
            state.evidence.append(flow)
        users = sorted(u for u, t in state.users.items() if abs(ts - t) <= o.window_s)
        servers = sorted(s for s, t in state.servers.items() if abs(ts - t) <= o.window_s)
        if len(users) < o.min_users and len(servers) < o.min_servers:
            return
        self.raise_alert(
            ctx, SPRAY_ID, title=f"RDP password spraying from {client}", severity="high", subject=state.subject,
            ts=ts, key=client, mitre=("T1110", "T1110.003"), src_ip=client,
            dst_ip=servers[0] if len(servers) == 1 else None, flows=state.evidence,
            evidence={"service": "rdp", "users": users[:20], "user_count": len(users), "servers": servers[:20],
                      "server_count": len(servers), "window_s": o.window_s})
        state.users.clear()
        state.servers.clear()
        state.evidence = []
