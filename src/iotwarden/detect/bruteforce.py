"""Login brute force against one server: failed logins seen in the protocol, or, where the login is
encrypted or the input has no payload (Zeek conn.log), a burst of short connections to a login port.

Ids (ATT&CK T1110 Brute Force; T1110.001 password guessing): ``detect.bruteforce.telnet``,
``detect.bruteforce.ssh``, ``detect.bruteforce.http``, ``detect.bruteforce.ftp``, ``detect.bruteforce.mqtt``,
``detect.bruteforce.rtsp``, ``detect.bruteforce.sip``, ``detect.bruteforce.ldap``.
Failures: Telnet/FTP/LDAP ``login_attempt`` result "failure" (RFC 854 dialogue, RFC 959 530, an LDAP bind answered
invalidCredentials 49 or inappropriateAuthentication 48, RFC 4511 §4.2.2 and A.1: one DN's guessed passwords or one
password over many DNs, both from one client to one directory server; never a bind Active Directory refused after
its password proved right, result "refused": data 530/531/532/701/773, password expired and the like, is no wrong
guess, dissect/ldap.py ``ad_refusal``); HTTP
``response`` 401 (RFC 9110 §15.5.2); MQTT ``connack`` return code 4/5 (3.1.1 §3.2.2.3) or reason
0x86/0x87 (5.0 §3.2.2.2); RTSP ``response`` 401/403 to a request that carried credentials (RFC 2326
§7.1.1; Basic or Digest alike: camera credential guessing, e.g. THC-Hydra's rtsp module), never the 401
that challenges a session's first, credential-less request (every authenticated viewer gets one), and for
the dictionary test RTSP ``login_attempt`` failures (Basic credentials, whose pair is visible); SIP
``response`` 401/403/407 to a request that carried Authorization or Proxy-Authorization (RFC 3261 §22.2,
§22.3: SIPVicious svcrack and sippts guess a line's Digest password this way), never a Digest challenge whose
``stale`` flag says only the nonce expired (RFC 7616 §3.3: the phone's credentials were right). A phone left
with a wrong password retries at its registration interval (tens of seconds), so SIP failures count within
their own, shorter window (``sip_window_s``, ``min_sip_failures``), and per account (the To user of the refused
request): a desk phone's many lines refused at once after a password change fail once each, a guessing tool
(svcrack: one extension, several guesses within milliseconds) many times on one account.
Kerberos (``detect.bruteforce.kerberos``, T1110.001): KRB-ERROR KDC_ERR_PREAUTH_FAILED (24, RFC 4120 §7.5.9) is the
KDC refusing an AS-REQ's PA-ENC-TIMESTAMP, a wrong password: the failed ``login_attempt`` of dissect/kerberos.py
(and of Zeek's kerberos.log), counted per account (its ``username``), ``min_kerberos_failures`` within ``window_s``.
KDC_ERR_PREAUTH_REQUIRED (25) is the first answer of every Windows logon ([MS-KILE] §3.1.5.1: the first AS-REQ goes
without pre-authentication), never a failure. ``detect.bruteforce.kerberos_spray`` (T1110.003):
refused pre-authentication for ``min_spray_users`` distinct accounts from one client within ``window_s``, however
few tries each (kerbrute passwordspray, Rubeus spray: one password over the directory's users). A pre-authenticated
AS-REQ answered KDC_ERR_CLIENT_REVOKED (18: account locked out or disabled; Microsoft's KDC answers so once the
lockout threshold is reached, the ``login_attempt`` result "revoked") counts toward spraying too (a spray that
locks accounts gets exactly these), never toward one account's guessing: a locked-out user retrying is no
password guessed. An 18 whose request was not seen (``preauth_proved`` False: every Zeek kerberos.log line, which
logs no padata) counts only once the client has shown it pre-authenticates, by a KDC_ERR_PREAUTH_FAILED answered
to it by the same KDC within ``window_s`` (24 answers nothing else): then it is the same spray; kerbrute's user
enumeration, bare requests alone, gets 18s for locked accounts and never a 24.
A client walking the published default-credential list (Mirai's pairs first,
:func:`iotwarden.identity.credcheck.creds.load_default`) is a dictionary attack after fewer failures
(``min_dictionary_failures``): Mirai tries a handful of pairs per target, one connection each, and
stops at the first that works, so it may fail only three times before getting in.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import ClassVar

from iotwarden.detect.base import (
    BYTES,
    COUNT,
    ENTRIES,
    SECONDS,
    Detector,
    Options,
    Range,
    flow_domain,
    initiator,
    number,
    site_host,
    subject_key,
    text,
)
from iotwarden.hooks import Context
from iotwarden.identity.credcheck.creds import load_default
from iotwarden.model import Flow, Observation

IDS = {name: f"detect.bruteforce.{name}"
       for name in ("telnet", "ssh", "http", "ftp", "mqtt", "rtsp", "sip", "kerberos", "kerberos_spray", "ldap")}
# login ports per service (IANA service names registry) for the connection-burst test
LOGIN_PORTS = {23: "telnet", 2323: "telnet", 22: "ssh", 21: "ftp", 1883: "mqtt", 8883: "mqtt"}
MQTT_AUTH_FAILED = frozenset({4, 5, 0x86, 0x87})
RTSP_REFUSED = frozenset({401, 403})  # RFC 2326 §7.1.1: Unauthorized, Forbidden
SIP_REFUSED = frozenset({401, 403, 407})  # RFC 3261 §21.4.2, §21.4.4, §21.4.8
MAX_SPRAY_USERS = 256  # accounts remembered per spraying client (the most recent)
BASIS = {"fail": "failed logins", "dict": "failed logins with published default credentials",
         "conn": "short connections to the login port", "sip": "refused SIP credentials",
         "krb": "refused Kerberos pre-authentication (KDC_ERR_PREAUTH_FAILED)"}


@dataclass(frozen=True)
class BruteForceOptions(Options):
    window_s: float = 600.0  # failures (or connections) counted within this long
    min_failures: int = 4  # failed logins from one client to one server: brute force
    min_dictionary_failures: int = 3  # of them with published default credentials: a dictionary attack
    min_connections: int = 12  # short connections to a login port of one server (no payload view)
    short_payload: int = 4096  # a connection carrying less than this each way counts as one try
    sip_window_s: float = 60.0  # refused SIP credentials counted within this long
    min_sip_failures: int = 6  # of them from one client for one account of one server: password guessing
    # refused Kerberos pre-authentication for one account from one client: a user's few mistyped passwords (and a
    # device retrying a changed one a few times) stay under it; a guessing tool tries tens
    min_kerberos_failures: int = 5
    min_spray_users: int = 5  # distinct accounts refused pre-authentication for one client: password spraying
    max_pairs: int = 50_000  # (client, server, service) triples tracked (LRU)
    bounds: ClassVar[dict[str, Range]] = {"window_s": SECONDS, "min_failures": COUNT,
                                          "min_dictionary_failures": COUNT, "min_connections": COUNT,
                                          "short_payload": BYTES, "sip_window_s": SECONDS, "min_sip_failures": COUNT,
                                          "min_kerberos_failures": COUNT, "min_spray_users": COUNT,
                                          "max_pairs": ENTRIES}


@dataclass
class _Spray:
    """One client's refused Kerberos logons at one KDC: accounts by their last refusal (pre-authentication proved),
    accounts answered 18 to a request not seen, and when a 24 last showed the client pre-authenticating."""

    users: OrderedDict[str, float] = field(default_factory=OrderedDict)
    unproven: OrderedDict[str, float] = field(default_factory=OrderedDict)
    preauth_ts: float | None = None

    @staticmethod
    def remember(names: OrderedDict[str, float], name: str, ts: float) -> None:
        names[name] = ts
        names.move_to_end(name)
        if len(names) > MAX_SPRAY_USERS:
            names.popitem(last=False)

    def accounts(self, ts: float, window_s: float) -> int:
        """Distinct accounts refused within ``window_s`` of ``ts``; the unproven ones only when the client showed
        pre-authentication within it too."""
        recent = {name for name, t in self.users.items() if abs(ts - t) <= window_s}
        if self.preauth_ts is not None and abs(ts - self.preauth_ts) <= window_s:
            recent |= {name for name, t in self.unproven.items() if abs(ts - t) <= window_s}
        return len(recent)


class BruteForceDetector(Detector):
    # on_observation only for these (hooks.py)
    observes = frozenset({"telnet", "ftp", "http", "mqtt", "rtsp", "sip", "kerberos", "ldap"})
    name: ClassVar[str] = "detect.bruteforce"
    ids: ClassVar[tuple[str, ...]] = tuple(IDS.values())
    defaults: ClassVar[Options] = BruteForceOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._fails: OrderedDict[tuple[str, str, str, str], deque[float]] = OrderedDict()
        self._evidence: dict[tuple[str, str, str, str], list[Observation | Flow]] = {}
        self._defaults = frozenset((c.username, c.password) for c in load_default())
        self._sprayed: OrderedDict[tuple[str, str], _Spray] = OrderedDict()  # (client, KDC)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        service, f = None, obs.fields
        if (obs.proto in ("telnet", "ftp", "ldap") and obs.kind == "login_attempt"
                and text(f.get("result")) == "failure"):
            service, client, server = obs.proto, obs.src_ip, obs.dst_ip
            mac = obs.src_mac
        elif obs.proto == "http" and obs.kind == "response" and number(f.get("status")) == 401:
            service, client, server, mac = "http", obs.dst_ip, obs.src_ip, obs.dst_mac
        elif obs.proto == "mqtt" and obs.kind == "connack" and number(f.get("return_code")) in MQTT_AUTH_FAILED:
            service, client, server, mac = "mqtt", obs.dst_ip, obs.src_ip, obs.dst_mac
        elif obs.proto == "rtsp":
            self._rtsp(ctx, obs)
            return
        elif obs.proto == "kerberos":
            self._kerberos(ctx, obs)
            return
        elif obs.proto == "sip":
            if (obs.kind == "response" and number(f.get("status")) in SIP_REFUSED and f.get("credentials_sent") is True
                    and f.get("auth_stale") is not True and obs.src_ip and obs.dst_ip):
                account = (text(f.get("to")) or "").split("@", 1)[0]
                self._count(ctx, (f"sip:{account}", "sip", obs.dst_ip, obs.src_ip), obs.ts,
                            subject_key(ctx, obs.dst_mac, obs.dst_ip, obs.domain, obs.ts), obs, domain=obs.domain)
            return
        if service is None or not client or not server:
            return
        subject = subject_key(ctx, mac, client, obs.domain, obs.ts)
        self._count(ctx, ("fail", service, client, server), obs.ts, subject, obs, domain=obs.domain)
        if (text(f.get("username")), text(f.get("password"))) in self._defaults:
            self._count(ctx, ("dict", service, client, server), obs.ts, subject, obs, domain=obs.domain)

    def _rtsp(self, ctx: Context, obs: Observation) -> None:
        """A refused RTSP login counts once as a failure (the server's answer, whatever the scheme) and, when its
        Basic pair is a published default, once for the dictionary test (the dissector's login_attempt)."""
        f = obs.fields
        if obs.kind == "response" and number(f.get("status")) in RTSP_REFUSED and f.get("credentials_sent"):
            client, server, mac, key = obs.dst_ip, obs.src_ip, obs.dst_mac, "fail"
        elif (obs.kind == "login_attempt" and text(f.get("result")) == "failure"
              and (text(f.get("username")), text(f.get("password"))) in self._defaults):
            client, server, mac, key = obs.src_ip, obs.dst_ip, obs.src_mac, "dict"
        else:
            return
        if client and server:
            self._count(ctx, (key, "rtsp", client, server), obs.ts, subject_key(ctx, mac, client, obs.domain, obs.ts),
                        obs, domain=obs.domain)

    def _kerberos(self, ctx: Context, obs: Observation) -> None:
        """A failed Kerberos ``login_attempt`` (dissect/kerberos.py: KDC_ERR_PREAUTH_FAILED to a pre-authenticated AS
        request) counts for its account and for the client's spraying, a revoked one (KDC_ERR_CLIENT_REVOKED) for
        the spraying only, once pre-authentication is shown when its request was not seen (module docstring)."""
        result = text(obs.fields.get("result"))
        if obs.kind != "login_attempt" or result not in ("failure", "revoked"):
            return
        client, server, account = obs.src_ip, obs.dst_ip, text(obs.fields.get("username"))
        if not client or not server or not account:
            return
        subject = subject_key(ctx, obs.src_mac, client, obs.domain, obs.ts)
        if result == "failure":
            self._count(ctx, (f"krb:{account.lower()}", "kerberos", client, server), obs.ts, subject, obs,
                        domain=obs.domain)
        o: BruteForceOptions = self.options
        pair = (site_host(client, obs.domain), site_host(server, obs.domain))  # per broadcast domain
        spray = self._sprayed.get(pair)
        if spray is None:
            spray = self._sprayed[pair] = _Spray()
            if len(self._sprayed) > o.max_pairs:
                self._sprayed.popitem(last=False)
        self._sprayed.move_to_end(pair)
        if result == "failure":
            spray.preauth_ts = obs.ts
        unproven = result == "revoked" and obs.fields.get("preauth_proved") is False
        spray.remember(spray.unproven if unproven else spray.users, account.lower(), obs.ts)
        recent = spray.accounts(obs.ts, o.window_s)
        if recent >= o.min_spray_users:
            self.raise_alert(
                ctx, IDS["kerberos_spray"], title=f"Kerberos password spraying from {client}: {recent} accounts",
                severity="high", subject=subject, ts=obs.ts, key=server, mitre=("T1110", "T1110.003"), src_ip=client,
                dst_ip=server, evidence={"service": "kerberos", "accounts": recent, "basis": BASIS["krb"]},
                observations=[obs])
            spray.users.clear()
            spray.unproven.clear()

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # flow() counts only flows whose client sent a payload: a scan's empty probes (most of an
        # infected device's flows) are passed over here, without a call each
        for flow in flows:
            if flow.payload_ab:
                self.flow(ctx, flow)

    def flow(self, ctx: Context, flow: Flow) -> None:
        service = LOGIN_PORTS.get(flow.b_port) if flow.ip_proto == 6 else None
        if service is None or flow.payload_ab == 0 or flow.payload_ab >= self.options.short_payload:
            return
        if flow.payload_ba >= self.options.short_payload:
            return
        self._count(ctx, ("conn", service, flow.a_ip, flow.b_ip), flow.first_seen,
                    initiator(ctx, flow), flow, domain=flow_domain(flow))

    def _count(self, ctx: Context, shown: tuple[str, str, str, str], ts: float, subject: str,
               item: Observation | Flow, *, domain: str) -> None:
        """Count one try of ``shown`` (kind, service, client, server), its addresses counted within their broadcast
        ``domain`` (site_host: two VLANs' same internal client or server are two), and alert at the threshold."""
        o: BruteForceOptions = self.options
        kind, service, client, server = shown
        key = (kind, service, site_host(client, domain), site_host(server, domain)) if domain else shown
        times = self._fails.get(key)
        if times is None:
            times = self._fails[key] = deque(maxlen=max(o.min_failures, o.min_connections, o.min_dictionary_failures,
                                                        o.min_sip_failures, o.min_kerberos_failures))
            self._evidence[key] = []
            if len(self._fails) > o.max_pairs:
                old, _ = self._fails.popitem(last=False)
                self._evidence.pop(old, None)
        self._fails.move_to_end(key)
        times.append(ts)
        ev = self._evidence[key]
        if len(ev) < 6:
            ev.append(item)
        kind = kind.split(":", 1)[0]  # "sip:<account>": SIP failures are counted per account
        need = {"fail": o.min_failures, "dict": o.min_dictionary_failures, "sip": o.min_sip_failures,
                "krb": o.min_kerberos_failures}.get(kind, o.min_connections)
        window = o.sip_window_s if kind == "sip" else o.window_s
        recent = sum(1 for t in times if ts - t <= window)
        if recent < need:
            return
        self.raise_alert(
            ctx, IDS[service], title=f"{service.upper()} brute force from {client} against {server}",
            severity="high", subject=subject, ts=ts, key=server, mitre=("T1110", "T1110.001"), src_ip=client,
            dst_ip=server, evidence={"service": service, "tries": recent, "basis": BASIS[kind]},
            flows=[e for e in ev if isinstance(e, Flow)], observations=[e for e in ev if isinstance(e, Observation)])
        times.clear()
