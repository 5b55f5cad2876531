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
  random password), only when the client asked RC4 first (a tool, whatever it asks for).
* ``detect.kerberos.user_enum`` (T1087.002 Account Discovery: Domain Account): KDC_ERR_C_PRINCIPAL_UNKNOWN (6)
  for ``min_unknown_names`` distinct names asked by one client within ``window_s`` (kerbrute userenum, nmap's
  krb5-enum-users: the KDC tells an existing name, refused for pre-auth, from an unknown one). Discovery, not
  Reconnaissance: the names are tried from inside the network against the domain's own KDC (T1589 is gathering
  victim identities before access).

The KDC's reply is joined to its request by connection (client address and port, KDC address; a UDP exchange
keeps its ports, a TCP one its connection): :class:`AsRequests`. (The dissector's ``login_attempt`` does the same
within a flow for detect.bruteforce, but says nothing of a request without pre-authentication.)
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from iotwarden.detect.base import (
    COUNT,
    ENTRIES,
    IOT_CATEGORIES,
    SECONDS,
    Detector,
    Options,
    Range,
    category,
    number,
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


@dataclass
class _Client:
    subject: str
    roasted: OrderedDict[str, float] = field(default_factory=OrderedDict)  # accounts answered without pre-auth
    unproven: OrderedDict[str, float] = field(default_factory=OrderedDict)  # Zeek: pre-auth not known
    refused: OrderedDict[str, float] = field(default_factory=OrderedDict)  # accounts refused with error 25
    spns: OrderedDict[str, float] = field(default_factory=OrderedDict)
    rc4_spns: OrderedDict[str, float] = field(default_factory=OrderedDict)
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
    bounds: ClassVar[dict[str, Range]] = {
        "window_s": SECONDS, "min_accounts": COUNT, "min_unproven_accounts": COUNT, "min_spns": COUNT,
        "min_rc4_spns": COUNT, "min_unknown_names": COUNT, "max_clients": ENTRIES}


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
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def _client(self, ctx: Context, ip: str, mac: str | None) -> _Client:
        state = self._clients.get(ip)
        if state is None:
            state = self._clients[ip] = _Client(subject_key(ctx, mac, ip))
            if len(self._clients) > self.options.max_clients:
                self._clients.popitem(last=False)
        self._clients.move_to_end(ip)
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
            self._service(ctx, obs, obs.dst_ip, obs.dst_mac, number(f.get("ticket_etype")) in RC4_ETYPES)
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
        client = self._client(ctx, obs.dst_ip, obs.dst_mac)
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
        client = self._client(ctx, obs.dst_ip, obs.dst_mac)
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
        if computer and not (rc4 and obs.kind == "tgs_req"):
            return  # a computer account's own service, unless asked RC4 first: nothing to crack (module docstring)
        client = self._client(ctx, ip, mac)
        count = (_in_window(client.spns, obs.ts, o.window_s) if computer
                 else _add(client.spns, spn.lower(), obs.ts, o.window_s))
        rc4_count = _add(client.rc4_spns, spn.lower(), obs.ts, o.window_s) if rc4 else 0
        if rc4 or len(client.evidence) < 4:
            self._evidence(client, obs)
        if count >= o.min_spns or rc4_count >= o.min_rc4_spns:
            self._alert(ctx, KERBEROAST_ID, client, obs, count,
                        basis="service tickets for distinct SPNs of user accounts, or asked or returned in RC4",
                        title=f"Kerberoasting from {ip}: service tickets for {count} user-account SPNs "
                              f"({rc4_count} RC4)", extra={"rc4_spns": rc4_count})
            client.spns.clear()
            client.rc4_spns.clear()

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
