"""Zeek's snmp.log, ftp.log, sip.log and ntlm.log -> the Observations dissect/snmp.py, dissect/ftp.py, dissect/sip.py
and dissect/smb.py (with dissect/ntlmssp.py) make.

Columns are those of Zeek's own scripts (``<Proto>::Info``, scripts/base/protocols/<proto>/; docs.zeek.org
"base/protocols/snmp/main.zeek" and the like):

* snmp.log (``SNMP::Info``): one line per session (``version`` "1", "2c" or "3" from ``SNMP::version_map``,
  ``community`` of its first packet, RFC 1157 / RFC 1901); ``get_requests`` (GetRequest and GetNextRequest),
  ``get_bulk_requests``, ``set_requests`` and ``get_responses`` count the variable bindings each kind of PDU
  carried, ``display_string`` is the sysDescr.0 (1.3.6.1.2.1.1.1.0) a response held. Each counted kind is one
  Observation as the dissector makes per message: a ``get``/``getbulk``/``set`` from the originator (the
  manager), a ``response`` from the responder (the agent) with ``sys_descr``. A session to udp/162 that Zeek
  counted nothing of is the originator's notification (``trap``: Zeek counts no trap or inform). Nothing
  else is said of a session Zeek counted nothing of (an encrypted v3 one): unknown stays unknown.
* ftp.log (``FTP::Info``, base/protocols/ftp/info.zeek and main.zeek): Zeek writes a line only for the
  commands of ``FTP::logged_commands`` (file transfers and data channel set-up: RETR, STOR, PASV, ...),
  each carrying the session's ``user`` (``<unknown>`` until USER was seen) and ``password`` (``<hidden>``
  unless ``FTP::default_capture_password`` or a guest id such as ``anonymous``). A session whose user is
  known is one cleartext USER/PASS login (RFC 959 §4.1.1): the dissector's ``login_attempt``, subject the
  server, reported once per session (:class:`FtpLogins`). Its ``result`` comes from the line's
  ``reply_code``: 530 "Not logged in" is a refused login, any other reply to these commands (RFC 959 §5.4
  lists 530 among each one's replies) shows a logged-in session, "success"; no reply, "unknown". A hidden
  password is no password: only the cleartext-login finding can follow, never the default-credential one.
  Zeek does not log the 220 greeting, so no ``banner``.
* sip.log (``SIP::Info``): one line per request/response pair; the request (``method``, ``uri``,
  ``request_from``/``request_to``, ``call_id``, ``seq``, ``user_agent``, ``request_path``: its Via
  headers) from the originator, the response (``status_code``, ``status_msg``, ``response_from``/
  ``response_to``, ``response_path``, ``content_type``) from the responder (Zeek's SIP analyzer takes the
  originator's messages as requests). As dissect/sip.py, ``sender`` is the request's User-Agent only when
  one Via shows no proxy forwarded it (RFC 3261 §16.6 step 8); Zeek logs no Server header.
* ntlm.log (``NTLM::Info``, base/protocols/ntlm/main.zeek): one line per NTLM exchange: the AUTHENTICATE's
  ``hostname`` (workstation), ``domainname`` and ``username``, the CHALLENGE's TargetInfo names
  ``server_nb_computer_name``, ``server_dns_computer_name``, ``server_tree_name`` ([MS-NLMP] §2.2.2.1).
  On SMB's ports (tcp/445, tcp/139), where the packet path reads NTLMSSP from SESSION_SETUP, they are the
  client's ``session_setup_request`` (``workstation``, ``domain``, ``user_present``: the user name itself is
  never kept) and the server's ``session_setup_response`` (``nb_computer``, ``dns_computer``, ``dns_tree``),
  so SMB hosts are named from Zeek as from packets. NTLM elsewhere (HTTP, DCE-RPC) is left out: no
  dissector of ours describes it.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect import sipmsg
from iotwarden.model import Observation
from iotwarden.sources.zeek_fields import ConnId, get_int, get_list, get_str

SNMP_TRAP_PORT = 162  # RFC 3417 §3.1: notification receivers listen on udp/162
SNMP_VERSIONS = frozenset({"1", "2c", "3"})  # SNMP::version_map's names, the dissector's too
# SNMP::Info counters -> the dissector's kind of the PDUs they count (RFC 3416 §3)
SNMP_REQUEST_COUNTS = (("get_requests", "get"), ("get_bulk_requests", "getbulk"), ("set_requests", "set"))

FTP_UNKNOWN_USER = "<unknown>"  # FTP::Info$user's default: no USER command seen
# FTP::ftp_message's stand-in for a password it does not log (a placeholder Zeek writes, no credential)
FTP_HIDDEN_PASSWORD = "<hidden>"  # noqa: S105
FTP_NOT_LOGGED_IN = 530  # RFC 959 §4.2.2
MAX_FTP_SESSIONS = 16384  # FTP sessions (uid, user, password) remembered to report each login once

SMB_PORTS = frozenset({445, 139})  # dissect/smb.py's: Direct TCP ([MS-SMB2] §2.1) and NBSS (RFC 1002 §4.3)


# --- snmp.log -----------------------------------------------------------------------------------

def map_snmp(rec: dict[str, Any]) -> list[Observation]:
    """snmp.log -> the manager's requests and the agent's response (module docstring)."""
    cid = ConnId.addressed(rec, 17)
    version = get_str(rec, "version")
    base: dict[str, Any] = {"version": version if version in SNMP_VERSIONS else None,
                            "community": get_str(rec, "community")}
    out = [cid.forward("snmp", kind, {**base, "pdu_type": kind})
           for column, kind in SNMP_REQUEST_COUNTS if get_int(rec, column)]
    sys_descr = get_str(rec, "display_string")
    if get_int(rec, "get_responses") or sys_descr is not None:
        out.append(cid.reverse("snmp", "response", {**base, "pdu_type": "response", "sys_descr": sys_descr}))
    if not out and cid.resp_p == SNMP_TRAP_PORT:
        out.append(cid.forward("snmp", "trap", {**base, "pdu_type": "trap"}))
    return out


# --- ftp.log ------------------------------------------------------------------------------------

class FtpLogins:
    """ftp.log -> one ``login_attempt`` per FTP session and user (module docstring); one per log read."""

    def __init__(self, limit: int = MAX_FTP_SESSIONS) -> None:
        self.limit = limit
        self._seen: dict[tuple[Any, str, str | None], None] = {}  # insertion order: the oldest goes first

    def map(self, rec: dict[str, Any]) -> list[Observation]:
        cid = ConnId.addressed(rec, 6)
        user = get_str(rec, "user")
        if user is None or user == FTP_UNKNOWN_USER:
            return []
        password = get_str(rec, "password")
        if password == FTP_HIDDEN_PASSWORD:
            password = None
        uid = get_str(rec, "uid")
        key = (uid if uid is not None else (cid.orig_h, cid.orig_p, cid.resp_h, cid.resp_p), user, password)
        if key in self._seen:
            return []
        self._seen[key] = None
        if len(self._seen) > self.limit:
            del self._seen[next(iter(self._seen))]
        code = get_int(rec, "reply_code")
        result = "unknown" if code is None else "failure" if code == FTP_NOT_LOGGED_IN else "success"
        obs = cid.forward("ftp", "login_attempt", {"username": user, "password": password, "result": result,
                                                   "code": code})
        obs.subject = "dst"  # the server logged into, as dissect/ftp.py says
        return [obs]


# --- sip.log ------------------------------------------------------------------------------------

def _sip_address(value: str | None) -> str | None:
    """``user@host`` of a From/To value, as dissect/sip.py keeps it (display name and tag dropped)."""
    return sipmsg.address(sipmsg.uri_of(value)[0]) if value else None


def _sip_common(rec: dict[str, Any], cid: ConnId, side: str) -> dict[str, Any]:
    """Fields requests and responses share, from the ``side`` ("request"/"response") columns."""
    vias = [str(v) for v in get_list(rec, f"{side}_path")]
    top = vias[0].split(";", 1)[0].split() if vias else []  # "SIP/2.0/UDP host:port" (RFC 3261 §20.42)
    seq, cseq_method = sipmsg.cseq(get_str(rec, "seq"))
    return {
        "transport": {6: "tcp", 17: "udp"}.get(cid.ip_proto or 17),
        "from": _sip_address(get_str(rec, f"{side}_from")), "to": _sip_address(get_str(rec, f"{side}_to")),
        "call_id": sipmsg.call_id_hash(get_str(rec, "call_id")), "cseq": seq, "cseq_method": cseq_method,
        "via_hops": len(vias) or None,
        "via_transport": top[0].rpartition("/")[2].upper()[:16] if top else None,
        "via_sent_by": top[1][: sipmsg.MAX_NAME] if len(top) > 1 else None,
    }


def map_sip(rec: dict[str, Any]) -> list[Observation]:
    """sip.log -> the originator's request and the responder's response (module docstring)."""
    cid = ConnId.addressed(rec, 17)
    out = []
    method, uri = get_str(rec, "method"), get_str(rec, "uri")
    if method is not None:
        user_agent = get_str(rec, "user_agent")
        fields = _sip_common(rec, cid, "request")
        one_hop = fields["via_hops"] == 1
        fields.update(method=method.upper()[:32], uri=sipmsg.request_uri(uri) if uri else None,
                      user_agent=user_agent,
                      sender={"user_agent": user_agent, "server": None} if user_agent and one_hop else None)
        out.append(cid.forward("sip", "request", fields))
    status = get_int(rec, "status_code")
    if status is not None:
        fields = _sip_common(rec, cid, "response")
        fields.update(status=status, reason=get_str(rec, "status_msg"), content_type=get_str(rec, "content_type"))
        out.append(cid.reverse("sip", "response", fields))
    return out


# --- ntlm.log -----------------------------------------------------------------------------------

def map_ntlm(rec: dict[str, Any]) -> list[Observation]:
    """ntlm.log on SMB's ports -> the SMB SESSION_SETUP facts each end states (module docstring)."""
    cid = ConnId.addressed(rec, 6)
    if cid.resp_p not in SMB_PORTS:
        return []
    out = []
    workstation, domain, user = (get_str(rec, k) for k in ("hostname", "domainname", "username"))
    if workstation is not None or domain is not None or user is not None:
        out.append(cid.forward("smb", "session_setup_request", {
            "auth_mech": "ntlmssp", "ntlm_message": "authenticate", "workstation": workstation, "domain": domain,
            "user_present": user is not None}))
    server = {"nb_computer": get_str(rec, "server_nb_computer_name"),
              "dns_computer": get_str(rec, "server_dns_computer_name"), "dns_tree": get_str(rec, "server_tree_name")}
    if any(v is not None for v in server.values()):
        out.append(cid.reverse("smb", "session_setup_response", {"auth_mech": "ntlmssp", "ntlm_message": "challenge",
                                                                 **server}))
    return out
