"""Kerberos abuse seen at the KDC exchanges (dissect/kerberos.py, Zeek kerberos.log): AS-REP roasting,
Kerberoasting and user enumeration by one client.

Ids:

* ``detect.kerberos.asrep_roast`` (ATT&CK T1558.004 AS-REP Roasting): an AS-REP answering an AS-REQ that carried no
  pre-authentication (``preauth`` False; RFC 4120 §5.2.7.2, [MS-KILE] §3.3.5.7.1): the account does not require it
  (DONT_REQUIRE_PREAUTH), and the reply's enc-part, in the account's key, can be cracked offline. A Windows logon
  sends its first AS-REQ bare too, but is refused KDC_ERR_PREAUTH_REQUIRED (25) and sends it again with
  PA-ENC-TIMESTAMP: that AS-REP answers a pre-authenticated request. Raised when one client gets such replies for
  ``min_accounts`` distinct accounts within ``window_s`` (a legacy application logging on without pre-auth uses one
  account), or for one from an IoT/OT device (no business asking for tickets without proving a key). Zeek does not
  log pre-authentication: a Zeek AS success is judged by its number alone, ``min_unproven_accounts`` distinct user
  accounts (not computer accounts, "WS01$") getting a TGT from one client within ``window_s``, never one an error
  25 was logged for (a site whose Zeek logs NEEDED_PREAUTH, ``KRB::ignored_errors``); a workstation gets TGTs
  for its own account and its user.
* ``detect.kerberos.kerberoast`` (T1558.003 Kerberoasting): one client asking for service tickets for
  ``min_spns`` distinct service principals of user accounts within ``window_s``, or ``min_rc4_spns`` of any with
  RC4-HMAC (a TGS-REQ whose preferred etype, §5.4.1, is RC4 or that offers no AES, as Rubeus and impacket's
  GetUserSPNs ask; or a ticket returned in RC4, ``ticket_etype`` 23: the service account has no AES key, the
  ticket cracks fastest). krbtgt (TGT renewal, referrals) is not counted. A Windows client asks for AES first and
  needs tickets for a handful of services a day (cifs/ldap/host of its DCs and file servers, an intranet site, a
  database), most of them computer accounts whose tickets are AES; a roasting tool asks for every SPN of the
  directory's user accounts in seconds (GetUserSPNs and Rubeus search for user objects with a
  servicePrincipalName). A management or monitoring server (SCCM, SCOM, a WinRM or Kerberos-authenticated poller)
  may ask tickets for tens of hosts in minutes, but for the services a Windows host runs as its computer account:
  HOST/ and the service classes Active Directory maps to it (``sPNMappings`` of CN=Directory Service: cifs, http,
  rpcss, schedule, ...; [MS-ADA3] §2.276, [MS-DRSR] §4.1.4.2.19, the default list as Samba's
  python/samba/tests/ldap_spn.py states it) and the ones Windows registers on the computer object (RestrictedKrbHost,
  TERMSRV, WSMAN; on DCs ldap, GC, DNS, the DRS GUID): :data:`COMPUTER_SERVICE_CLASSES`. Their keys are the
  computer's random 120-character password, which no one cracks (ADSecurity, "Detecting Kerberoasting Activity",
  adsecurity.org/?p=3458: "this attack will not be successful when targeting services hosted by the Windows system
  since these services are mapped to the computer account"), so they are not counted toward ``min_spns``, nor
  toward ``min_rc4_spns`` for an RC4 ticket returned (an old host's computer account without AES keys: still a
  random password), only when the client asked RC4 first (a tool, whatever it asks for). An RC4 ticket *returned*
  for such a class is a user account's ticket, counted toward ``min_rc4_spns``, when the directory's answers say
  the SPN is not the host's computer account (:class:`ComputerKeys`; Zeek's kerberos.log logs the ticket's
  ``cipher``, never the request's etypes, so a tool's RC4 request is seen only this way): the same KDC issued an
  AES ticket for that host's HOST/ or RestrictedKrbHost/ SPN (always its computer account, which therefore has AES
  keys: the RC4 SPN sits on another account, one without AES keys configured, a user account); or, for an HTTP/
  SPN (the computer class most often registered on service accounts: IIS application pools, SharePoint, setspn -S
  HTTP/intranet svc_web), the host's computer account is not known to lack AES (no RC4 HOST/ ticket), the KDC
  issues AES tickets to computer accounts, and the same client got, within ``window_s``, an RC4 ticket for an SPN
  of a user account's class (MSSQLSvc/, custom ones): a roasting tool asks every user SPN of the directory.
  (Microsoft's guidance to detect Kerberoasting is the same fact from the KDC: event 4769 with ticket encryption
  type 0x17 where accounts otherwise get AES.) A poller's RC4 tickets of old hosts stay silent: their HOST/
  ticket is RC4 too, or they are not HTTP/, or no user-class RC4 ticket goes with them.
* ``detect.kerberos.user_enum`` (T1087.002 Account Discovery: Domain Account): KDC_ERR_C_PRINCIPAL_UNKNOWN (6)
  for ``min_unknown_names`` distinct names asked by one client within ``window_s`` (kerbrute userenum, nmap's
  krb5-enum-users: the KDC tells an existing name, refused for pre-auth, from an unknown one). Discovery, not
  Reconnaissance: the names are tried from inside the network against the domain's own KDC (T1589 is gathering
  victim identities before access).

The KDC's reply is joined to its request by connection (client address and port, KDC address; a UDP exchange
keeps its ports, a TCP one its connection): :class:`AsRequests`. (The dissector's ``login_attempt`` does the same
within a flow for detect.bruteforce, but says nothing of a request without pre-authentication.)

Each client's series is one device's (detect/base.same_holder): a lease that moves to another device after
``handover_s`` of the series' silence starts the new holder's own; a device taking the address over sooner continues
it, so a tool changing its MAC every few names is one series.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from iotwarden.detect.base import (
    COUNT,
    DURATION,
    ENTRIES,
    HANDOVER_S,
    IOT_CATEGORIES,
    SECONDS,
    Detector,
    Options,
    Range,
    category,
    number,
    same_holder,
    site_host,
    subject_key,
    text,
)
from iotwarden.dissect.kerberos import RC4_ETYPES
from iotwarden.hooks import Context
from iotwarden.model import Observation

ASREP_ID = "detect.kerberos.asrep_roast"
KERBEROAST_ID = "detect.kerberos.kerberoast"
ENUM_ID = "detect.kerberos.user_enum"
PRINCIPAL_UNKNOWN, PREAUTH_REQUIRED = 6, 25  # RFC 4120 §7.5.9
AES_ETYPES = frozenset({17, 18, 19, 20})  # RFC 3962, RFC 8009
# service classes of a Windows computer account's own services (module docstring): HOST and the sPNMappings aliases
# of the default AD configuration, then the classes Windows registers on computer and DC objects
COMPUTER_SERVICE_CLASSES = frozenset({
    "host", "alerter", "appmgmt", "cisvc", "clipsrv", "browser", "dhcp", "dnscache", "replicator", "eventlog",
    "eventsystem", "policyagent", "oakley", "dmserver", "dns", "mcsvc", "fax", "msiserver", "ias", "messenger",
    "netlogon", "netman", "netdde", "netddedsm", "nmagent", "plugplay", "protectedstorage", "rasman", "rpclocator",
    "rpc", "rpcss", "remoteaccess", "rsvp", "samss", "scardsvr", "scesrv", "seclogon", "scm", "dcom", "cifs",
    "spooler", "snmp", "schedule", "tapisrv", "trksvr", "trkwks", "ups", "time", "wins", "www", "http", "w3svc",
    "iisadmin", "msdtc",
    "restrictedkrbhost", "termsrv", "wsman", "ldap", "gc", "e3514235-4b06-11d1-ab04-00c04fc2dcd2",
})
MAX_NAMES_PER_CLIENT = 256  # accounts or SPNs remembered per client (the most recent)
MAX_REQUESTS = 50_000  # AS requests awaiting their answer (LRU): a KDC answers within milliseconds
MAX_HOSTS = 50_000  # hosts whose computer account's ticket cipher is remembered, per KDC and host (LRU)
MAX_KDCS = 1024  # KDCs remembered as issuing AES tickets to computer accounts (LRU)
# classes only a computer account holds (HOST/ is unique to it; Windows registers RestrictedKrbHost/ beside it): their
# ticket's cipher is the computer account's key
COMPUTER_ONLY_CLASSES = frozenset({"host", "restrictedkrbhost"})
# computer classes also registered on service (user) accounts often enough to count on the client's other tickets
SERVICE_ACCOUNT_CLASSES = frozenset({"http"})
Conn = tuple[str, int, str]  # client address, client port, KDC address


@dataclass(frozen=True)
class AsRequest:
    cname: str | None
    preauth: bool | None  # None: not known (Zeek logs no padata)


class AsRequests:
    """AS requests by connection, until the KDC answers (bounded: :data:`MAX_REQUESTS`, least recent dropped)."""

    def __init__(self, limit: int = MAX_REQUESTS) -> None:
        self._requests: OrderedDict[Conn, AsRequest] = OrderedDict()
        self._limit = limit

    def __len__(self) -> int:
        return len(self._requests)

    def see(self, obs: Observation) -> None:
        """Remember an ``as_req`` (sent by the client)."""
        if obs.kind != "as_req" or not obs.src_ip or not obs.dst_ip or obs.src_port is None:
            return
        preauth = obs.fields.get("preauth")
        key = (obs.src_ip, obs.src_port, obs.dst_ip)
        self._requests[key] = AsRequest(text(obs.fields.get("cname")), preauth if isinstance(preauth, bool) else None)
        self._requests.move_to_end(key)
        if len(self._requests) > self._limit:
            self._requests.popitem(last=False)

    def answered(self, obs: Observation) -> AsRequest | None:
        """The request a KDC's answer (sent to the client) is for, if seen."""
        if not obs.src_ip or not obs.dst_ip or obs.dst_port is None:
            return None
        return self._requests.get((obs.dst_ip, obs.dst_port, obs.src_ip))

    def account(self, obs: Observation) -> str | None:
        """The account a KDC's answer is about: the joined request's client name, else the answer's own."""
        request = self.answered(obs)
        return (request.cname if request is not None else None) or text(obs.fields.get("cname"))


def spn_parts(spn: str) -> tuple[str, str]:
    """An SPN's service class and host's first label, lower case ("HTTP/web01.corp.example:80" -> http, web01)."""
    cls, _, rest = spn.lower().partition("/")
    return cls, rest.split("/", 1)[0].split(":", 1)[0].split(".", 1)[0]


class ComputerKeys:
    """What a KDC's tickets say of computer accounts' keys: per (KDC, host), whether the host's computer account got
    an AES ticket (for HOST/ or RestrictedKrbHost/, :data:`COMPUTER_ONLY_CLASSES`), and the KDCs that issue AES
    tickets to computer accounts at all. Bounded: :data:`MAX_HOSTS` hosts, :data:`MAX_KDCS` KDCs (least recent
    dropped)."""

    def __init__(self, max_hosts: int = MAX_HOSTS, max_kdcs: int = MAX_KDCS) -> None:
        self._hosts: OrderedDict[tuple[str, str], bool] = OrderedDict()
        self._aes_kdcs: OrderedDict[str, None] = OrderedDict()
        self._max_hosts, self._max_kdcs = max_hosts, max_kdcs

    def __len__(self) -> int:
        return len(self._hosts)

    def see(self, kdc: str, spn: str, etype: int | None) -> None:
        """Remember a ticket the KDC issued for ``spn`` in ``etype`` (a computer-only class's, else nothing)."""
        cls, host = spn_parts(spn)
        if cls not in COMPUTER_ONLY_CLASSES or not host or etype is None:
            return
        aes = etype in AES_ETYPES
        if not aes and etype not in RC4_ETYPES:
            return
        self._hosts[(kdc, host)] = aes
        self._hosts.move_to_end((kdc, host))
        if len(self._hosts) > self._max_hosts:
            self._hosts.popitem(last=False)
        if aes:
            self._aes_kdcs[kdc] = None
            self._aes_kdcs.move_to_end(kdc)
            if len(self._aes_kdcs) > self._max_kdcs:
                self._aes_kdcs.popitem(last=False)

    def computer_aes(self, kdc: str, host: str) -> bool | None:
        """Whether the host's computer account has AES keys: True, False (an RC4 ticket), None (not seen)."""
        return self._hosts.get((kdc, host))

    def issues_aes(self, kdc: str) -> bool:
        return kdc in self._aes_kdcs


@dataclass
class _Client:
    subject: str
    last: float = -math.inf  # the series' latest record (detect/base.same_holder's handover)
    roasted: OrderedDict[str, float] = field(default_factory=OrderedDict)  # accounts answered without pre-auth
    unproven: OrderedDict[str, float] = field(default_factory=OrderedDict)  # Zeek: pre-auth not known
    refused: OrderedDict[str, float] = field(default_factory=OrderedDict)  # accounts refused with error 25
    spns: OrderedDict[str, float] = field(default_factory=OrderedDict)
    rc4_spns: OrderedDict[str, float] = field(default_factory=OrderedDict)
    rc4_returned: OrderedDict[str, float] = field(default_factory=OrderedDict)  # computer classes' RC4 tickets
    unknown: OrderedDict[str, float] = field(default_factory=OrderedDict)  # names the KDC does not know
    evidence: list[Observation] = field(default_factory=list)


@dataclass(frozen=True)
class KerberosAbuseOptions(Options):
    window_s: float = 600.0  # accounts, SPNs and names counted within this long
    min_accounts: int = 2  # accounts answered without pre-authentication to one client: AS-REP roasting
    min_unproven_accounts: int = 5  # Zeek: user accounts given a TGT, pre-authentication not logged
    min_spns: int = 20  # distinct service principals of user accounts asked for by one client: Kerberoasting
    min_rc4_spns: int = 4  # of them with RC4 asked for or returned
    min_unknown_names: int = 5  # names refused as unknown to one client: user enumeration
    max_clients: int = 50_000  # clients tracked (LRU)
    handover_s: float = HANDOVER_S  # another device on the address this soon after the series continues it
    bounds: ClassVar[dict[str, Range]] = {
        "window_s": SECONDS, "min_accounts": COUNT, "min_unproven_accounts": COUNT, "min_spns": COUNT,
        "min_rc4_spns": COUNT, "min_unknown_names": COUNT, "max_clients": ENTRIES,
        "handover_s": DURATION}


def computer_service(spn: str) -> bool:
    """Whether ``spn`` (service class/host[:port][/name]) names a service of a Windows host's computer account."""
    return spn.split("/", 1)[0].lower() in COMPUTER_SERVICE_CLASSES


def _add(names: OrderedDict[str, float], name: str, ts: float, window_s: float) -> int:
    """Remember ``name`` at ``ts``; how many names were seen within ``window_s`` before it."""
    names[name] = ts
    names.move_to_end(name)
    if len(names) > MAX_NAMES_PER_CLIENT:
        names.popitem(last=False)
    return _in_window(names, ts, window_s)


def _in_window(names: OrderedDict[str, float], ts: float, window_s: float) -> int:
    return sum(1 for t in names.values() if abs(ts - t) <= window_s)


class KerberosAbuseDetector(Detector):
    observes = frozenset({"kerberos"})
    name: ClassVar[str] = "detect.kerberos_abuse"
    ids: ClassVar[tuple[str, ...]] = (ASREP_ID, KERBEROAST_ID, ENUM_ID)
    defaults: ClassVar[Options] = KerberosAbuseOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._requests = AsRequests()
        self._keys = ComputerKeys()
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def _client(self, ctx: Context, ip: str, mac: str | None, domain: str, ts: float) -> _Client:
        """The client at ``ip`` within its broadcast ``domain`` (detect/base.site_host): two VLANs' 10.0.0.5
        are two clients, each named as the inventory names it there at ``ts``. A series is one device's: when the
        address's holder changed (a lease moved after ``handover_s``, detect/base.same_holder) the new holder's starts
        afresh."""
        at = site_host(ip, domain)
        subject = subject_key(ctx, mac, ip, domain, ts)
        state = self._clients.get(at)
        if state is None or not same_holder(ctx, state.subject, subject, ts - state.last, self.options.handover_s):
            state = self._clients[at] = _Client(subject)
            if len(self._clients) > self.options.max_clients:
                self._clients.popitem(last=False)
        state.subject, state.last = subject, ts
        self._clients.move_to_end(at)
        return state

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if not obs.src_ip or not obs.dst_ip:
            return
        f = obs.fields
        if obs.kind == "as_req":
            self._requests.see(obs)
        elif obs.kind == "tgs_req":  # from the client
            offered = f.get("etypes")
            etypes = [e for e in offered if number(e) is not None] if isinstance(offered, list) else []
            rc4 = bool(etypes) and (etypes[0] in RC4_ETYPES or AES_ETYPES.isdisjoint(etypes))
            self._service(ctx, obs, obs.src_ip, obs.src_mac, rc4)
        elif obs.kind == "tgs_rep":  # to the client
            etype, spn = number(f.get("ticket_etype")), text(f.get("sname"))
            if spn:
                self._keys.see(obs.src_ip, spn, etype)
            self._service(ctx, obs, obs.dst_ip, obs.dst_mac, etype in RC4_ETYPES)
        elif obs.kind == "as_rep":
            self._as_rep(ctx, obs)
        elif obs.kind == "error":
            self._error(ctx, obs)

    def _as_rep(self, ctx: Context, obs: Observation) -> None:
        o: KerberosAbuseOptions = self.options
        request = self._requests.answered(obs)
        account = self._requests.account(obs)
        if account is None or obs.dst_ip is None or (request is not None and request.preauth):
            return
        client = self._client(ctx, obs.dst_ip, obs.dst_mac, obs.domain, obs.ts)
        if request is not None and request.preauth is False:
            count = _add(client.roasted, account, obs.ts, o.window_s)
            iot = category(ctx, client.subject) in IOT_CATEGORIES
            self._evidence(client, obs)
            if count >= o.min_accounts or iot:
                self._alert(ctx, ASREP_ID, client, obs, count, basis="AS-REPs for requests without pre-authentication",
                            title=f"AS-REP roasting from {obs.dst_ip}: {count} account(s) without pre-authentication")
                client.roasted.clear()
            return
        recent_refusal = client.refused.get(account)
        if account.endswith("$") or (recent_refusal is not None and obs.ts - recent_refusal <= o.window_s):
            return
        count = _add(client.unproven, account, obs.ts, o.window_s)
        self._evidence(client, obs)
        if count >= o.min_unproven_accounts:
            self._alert(ctx, ASREP_ID, client, obs, count, basis="TGTs for user accounts (pre-auth not logged)",
                        title=f"AS-REP roasting suspected from {obs.dst_ip}: TGTs for {count} user accounts")
            client.unproven.clear()

    def _error(self, ctx: Context, obs: Observation) -> None:
        o: KerberosAbuseOptions = self.options
        code, account = number(obs.fields.get("error_code")), self._requests.account(obs)
        if account is None or obs.dst_ip is None or code not in (PRINCIPAL_UNKNOWN, PREAUTH_REQUIRED):
            return
        client = self._client(ctx, obs.dst_ip, obs.dst_mac, obs.domain, obs.ts)
        if code == PREAUTH_REQUIRED:
            _add(client.refused, account, obs.ts, o.window_s)
            return
        count = _add(client.unknown, account, obs.ts, o.window_s)
        self._evidence(client, obs)
        if count >= o.min_unknown_names:
            self._alert(ctx, ENUM_ID, client, obs, count, basis="KDC_ERR_C_PRINCIPAL_UNKNOWN for distinct names",
                        title=f"Kerberos user enumeration from {obs.dst_ip}: {count} unknown names")
            client.unknown.clear()

    def _service(self, ctx: Context, obs: Observation, ip: str, mac: str | None, rc4: bool) -> None:
        o: KerberosAbuseOptions = self.options
        spn = text(obs.fields.get("sname"))
        if not spn or spn.lower().startswith("krbtgt/"):
            return
        computer = computer_service(spn)
        returned = computer and rc4 and obs.kind == "tgs_rep"  # maybe a user account's (module docstring)
        if computer and not (rc4 and obs.kind == "tgs_req") and not returned:
            # a computer account's own service, unless asked RC4 first: nothing to crack (module docstring); but a
            # computer account's AES ticket may show the client's earlier RC4 tickets of its host to be a user's
            client = self._clients.get(site_host(ip, obs.domain))
            if (client is not None and client.rc4_returned and obs.kind == "tgs_rep"
                    and same_holder(ctx, client.subject, subject_key(ctx, mac, ip, obs.domain, obs.ts),
                                    obs.ts - client.last, o.handover_s)):
                self._judge(ctx, obs, client, ip, count=_in_window(client.spns, obs.ts, o.window_s), rc4=True)
            return
        client = self._client(ctx, ip, mac, obs.domain, obs.ts)
        if returned:
            _add(client.rc4_returned, spn.lower(), obs.ts, o.window_s)
        count = (_in_window(client.spns, obs.ts, o.window_s) if computer
                 else _add(client.spns, spn.lower(), obs.ts, o.window_s))
        if rc4 and not returned:
            _add(client.rc4_spns, spn.lower(), obs.ts, o.window_s)
        if rc4 or len(client.evidence) < 4:
            self._evidence(client, obs)
        self._judge(ctx, obs, client, ip, count=count, rc4=rc4)

    def _judge(self, ctx: Context, obs: Observation, client: _Client, ip: str, *, count: int, rc4: bool) -> None:
        o: KerberosAbuseOptions = self.options
        rc4_count = self._rc4_count(client, obs.src_ip if obs.kind == "tgs_rep" else obs.dst_ip, obs.ts)
        if count >= o.min_spns or (rc4 and rc4_count >= o.min_rc4_spns):
            self._alert(ctx, KERBEROAST_ID, client, obs, count,
                        basis="service tickets for distinct SPNs of user accounts, or asked or returned in RC4",
                        title=f"Kerberoasting from {ip}: service tickets for {count} user-account SPNs "
                              f"({rc4_count} RC4)", extra={"rc4_spns": rc4_count})
            client.spns.clear()
            client.rc4_spns.clear()
            client.rc4_returned.clear()

    def _rc4_count(self, client: _Client, kdc: str | None, ts: float) -> int:
        """Distinct SPNs asked or returned in RC4 within ``window_s``: those of user-account classes and those asked
        RC4 first, and the computer classes' RC4 tickets the KDC's answers show to be a user account's."""
        window_s = self.options.window_s
        counted = {spn for spn, t in client.rc4_spns.items() if abs(ts - t) <= window_s}
        user_class = any(not computer_service(spn) for spn in counted)
        for spn, t in client.rc4_returned.items():
            if spn in counted or abs(ts - t) > window_s or kdc is None:
                continue
            cls, host = spn_parts(spn)
            aes = self._keys.computer_aes(kdc, host)
            if aes or (aes is None and cls in SERVICE_ACCOUNT_CLASSES and user_class and self._keys.issues_aes(kdc)):
                counted.add(spn)
        return len(counted)

    @staticmethod
    def _evidence(client: _Client, obs: Observation) -> None:
        if len(client.evidence) >= 8:
            client.evidence.pop(0)
        client.evidence.append(obs)

    def _alert(self, ctx: Context, detector_id: str, client: _Client, obs: Observation, count: int, *, basis: str,
               title: str, extra: dict[str, Any] | None = None) -> None:
        mitre = {ASREP_ID: ("T1558", "T1558.004"), KERBEROAST_ID: ("T1558", "T1558.003"),
                 ENUM_ID: ("T1087", "T1087.002")}[detector_id]
        ip, kdc = (obs.src_ip, obs.dst_ip) if obs.kind.endswith("_req") else (obs.dst_ip, obs.src_ip)
        self.raise_alert(ctx, detector_id, title=title, severity="high", subject=client.subject, ts=obs.ts,
                         key=kdc or "", mitre=mitre, src_ip=ip, dst_ip=kdc,
                         evidence={"count": count, "basis": basis, "window_s": self.options.window_s, **(extra or {})},
                         observations=client.evidence)
        client.evidence = []
