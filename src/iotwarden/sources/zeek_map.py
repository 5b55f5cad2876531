"""Zeek log records -> the Flows and Observations the packet path produces, one function per log type.

Field names follow the dissectors' vocabulary (``dissect/<proto>.py``), so analyzers cannot tell a
Zeek-fed Observation from a packet-fed one. Column names are Zeek's ``<Proto>::Info`` records.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, NamedTuple

from iotwarden.dissect import tsgu
from iotwarden.errors import ParseError
from iotwarden.model import Flow, Observation
from iotwarden.sources.zeek_fields import (
    IP_PROTOS,
    ConnId,
    drop_none,
    get_bool,
    get_count,
    get_float,
    get_int,
    get_ip,
    get_list,
    get_port,
    get_str,
)
from iotwarden.sources.zeek_format import to_time

ICMP6 = 58
# Zeek service names that differ from our dissector names, after :func:`service_name` took off the
# "spicy_" prefix and a transport suffix. Zeek's own analyzers: "ssl" is TLS, "krb"/"krb_tcp" Kerberos,
# "dnp3_tcp"/"dnp3_udp" DNP3 (ANALYZER_DNP3_TCP); CISA's ICSNPP plugins (as Malcolm ships them):
# "spicy_synchrophasor_tcp" (icsnpp-synchrophasor), "spicy_hart_ip_udp" (icsnpp-hart-ip), "opcua-binary"
# (icsnpp-opcua-binary sets it itself), "spicy_omron_fins_udp" (icsnpp-omron-fins), "s7comm_tcp"
# (icsnpp-s7comm); IEC 104 analyzers name it "iec104" or "iec60870_5_104".
SERVICE_NAMES = {"ssl": "tls", "krb": "kerberos", "synchrophasor": "c37118", "hart_ip": "hartip",
                 "opcua-binary": "opcua", "opcua_binary": "opcua", "omron_fins": "fins",
                 "iec60870_5_104": "iec104", "iec_104": "iec104", "dce_rpc": "dcerpc",
                 "rdpeudp": "rdp"}  # Zeek's RDPEUDP analyzer (udp/3389): RDP's UDP transport, dissect/rdpudp.py
TRANSPORT_SUFFIXES = ("_tcp", "_udp")
# services that only carry another one Zeek lists beside them: ICSNPP-S7comm adds "cotp" (ISO 8073 / RFC 1006
# transport) and "s7comm" to one connection; the flow's app is the carried protocol, as our dissectors name it
CARRIER_SERVICES = frozenset({"cotp"})
_service_names: dict[str, str] = {}  # every Zeek name met -> ours (a log holds a handful)
# Zeek ``Conn::Info$history`` letters (upper case: originator, lower case: responder) -> the TCP
# flags they imply (RFC 9293 §3.1): S SYN, H SYN+ACK, A pure ACK, F FIN, R RST.
HISTORY_FLAGS = {"s": 0x02, "h": 0x12, "a": 0x10, "f": 0x01, "r": 0x04}
HISTORY_CACHE = 4096  # distinct history strings whose flags history_flags remembers (LRU)
# history letter "^": Zeek flipped the connection's direction by its heuristic (base/protocols/conn/main.zeek,
# Conn::Info$history; src/Conn.cc Connection::FlipRoles). The packet path says why it flipped a flow in
# Flow.extra["flipped"] (engine/orient.py FLIP_REASONS); Zeek's log does not say why, only that it did.
ZEEK_FLIPPED = "zeek"


# --- conn.log -----------------------------------------------------------------------------------

def service_name(zeek: str) -> str:
    """Our dissector's name for a Zeek ``service`` entry: lower case, without Spicy's "spicy_" prefix and a
    "_tcp"/"_udp" suffix and what follows it (Zeek names an analyzer per transport and variant), then
    :data:`SERVICE_NAMES`."""
    known = _service_names.get(zeek)
    if known is not None:
        return known
    name = zeek.lower().removeprefix("spicy_")
    for suffix in TRANSPORT_SUFFIXES:  # "dnp3_tcp"; "openvpn_tcp_hmac_sha1" (zeek-spicy-openvpn's variants)
        at = name.find(suffix)
        if at > 0 and (at + len(suffix) == len(name) or name[at + len(suffix)] == "_"):
            name = name[:at]
            break
    name = SERVICE_NAMES.get(name, name)
    if len(_service_names) < 1024:  # a hostile log could list endless names: remember a bounded few
        _service_names[zeek] = name
    return name


@lru_cache(maxsize=HISTORY_CACHE)  # a log holds few distinct histories ("S", "ShADadFf", ...)
def history_flags(history: str) -> tuple[int, int]:
    """TCP flags (originator, responder) implied by a Zeek ``history`` string; remembered, since a
    log's lines share a few histories (a scan's probes are all ``S``)."""
    ab = ba = 0
    for letter in history:
        flags = HISTORY_FLAGS.get(letter.lower(), 0)
        if letter.isupper():
            ab |= flags
        else:
            ba |= flags
    return ab, ba


def map_conn(rec: dict[str, Any]) -> Flow:
    """conn.log (``Conn::Info``, plus mac-logging and vlan-logging policy columns) -> a closed Flow."""
    cid = ConnId.of(rec)
    if cid.orig_h is None or cid.resp_h is None:
        raise ParseError("conn record without addresses")
    shape = conn_shape(
        proto=cid.ip_proto, ip_proto=get_int(rec, "ip_proto"), listed=[str(s) for s in get_list(rec, "service") if s],
        failed_column=[str(s) for s in get_list(rec, "failed_service") if s and str(s) != "-"],
        history=get_str(rec, "history") or "",
        extra={key: rec[key] for key in EXTRA_BUT_UID if rec.get(key) is not None}, duration=get_float(rec, "duration"),
        vlan=inner if (inner := get_int(rec, "inner_vlan")) is not None else get_int(rec, "vlan"),
        orig_l2=get_str(rec, "orig_l2_addr"), resp_l2=get_str(rec, "resp_l2_addr"),
        counters=(get_count(rec, "orig_pkts"), get_count(rec, "resp_pkts"), get_count(rec, "orig_ip_bytes"),
                  get_count(rec, "resp_ip_bytes"), get_count(rec, "orig_bytes"), get_count(rec, "resp_bytes")),
    )
    return shaped_flow(shape, cid.ts, cid.orig_h, cid.orig_p, cid.resp_h, cid.resp_p, rec.get("uid"))


# the order of Flow's fields, in which shaped_flow passes them
FLOW_FIELDS = ("vlan", "ip_proto", "a_ip", "a_port", "b_ip", "b_port", "first_seen", "last_seen", "a_mac", "b_mac",
               "pkts_ab", "pkts_ba", "bytes_ab", "bytes_ba", "payload_ab", "payload_ba", "tcp_flags_ab",
               "tcp_flags_ba", "app", "end_reason", "extra")
# conn.log columns kept as they are in Flow.extra (when logged), in this order
CONN_EXTRA = ("uid", "conn_state", "history", "missed_bytes", "local_orig", "local_resp", "community_id")
EXTRA_BUT_UID = CONN_EXTRA[1:]  # uid differs on every line; it comes first (pinned by a test)


# a_mac, b_mac, pkts_ab, pkts_ba, bytes_ab, bytes_ba, payload_ab, payload_ba, tcp_flags_ab, tcp_flags_ba, app,
# end_reason
_Rest = tuple[str | None, str | None, int, int, int, int, int, int, int, int, str | None, str]


class ConnShape(NamedTuple):
    """What a conn.log record's Flow takes from its columns other than time, uid, addresses and ports.

    A scan's probes differ only in those, so the TSV fast path makes one shape per distinct rest of
    the line (:mod:`~iotwarden.sources.zeek_conn`) and :func:`shaped_flow` completes it per line.
    """

    vlan: int
    ip_proto: int  # before the ICMPv6 rule, which needs the originator's address
    duration: float
    rest: _Rest  # Flow's fields a_mac .. end_reason (FLOW_FIELDS[8:20]), in that order
    extra: dict[str, Any]  # Flow.extra but uid and the ICMP types: EXTRA_BUT_UID logged, then services
    lists: bool  # extra holds lists (services, failed_services), copied for each Flow


def conn_shape(*, proto: int | None, ip_proto: int | None, listed: list[str], failed_column: list[str],
               history: str, extra: dict[str, Any], duration: float | None, vlan: int | None, orig_l2: str | None,
               resp_l2: str | None, counters: tuple[int | None, ...]) -> ConnShape:
    """The shape of one conn.log record from its typed columns (None: not logged): ``proto`` is the
    ``proto`` column's number, ``ip_proto`` the column of that name, ``listed`` the ``service``
    entries, ``failed_column`` the ``failed_service`` ones, ``extra`` the :data:`EXTRA_BUT_UID`
    columns logged (kept, and extended), ``vlan`` the innermost VLAN tag and ``counters`` orig/resp
    pkts, orig/resp IP bytes and orig/resp payload bytes. Both readers build flows with it:
    :func:`map_conn` and the TSV fast path."""
    if ip_proto is None:  # Zeek >= 7.1 logs the IP protocol number itself
        ip_proto = proto if proto is not None else 0
    # analyzers Zeek removed after a protocol violation: "-ssl" in service (DPD::
    # track_removed_services_in_connection) or the failed_service column (policy/protocols/conn/
    # failed-service-logging.zeek); named as our dissectors, as app is
    services, failed = [], failed_column
    if listed:  # most lines of a scan list no service
        services = [s for s in listed if not s.startswith("-")]
        failed = [s[1:] for s in listed if s.startswith("-") and len(s) > 1] + failed_column
    app = service_name(services[0]) if services else None
    if len(services) > 1 and app in CARRIER_SERVICES:  # ICSNPP's "cotp,s7comm": the protocol it carries
        app = next((n for n in map(service_name, services) if n not in CARRIER_SERVICES), app)
    flags_ab, flags_ba = history_flags(history) if ip_proto == 6 else (0, 0)
    if len(services) > 1:
        extra["services"] = services
    if failed:
        extra["failed_services"] = list(dict.fromkeys(service_name(s) for s in failed))
    if "^" in history:
        extra["flipped"] = ZEEK_FLIPPED
    pkts_ab, pkts_ba, bytes_ab, bytes_ba, payload_ab, payload_ba = counters
    rest: _Rest = (
        orig_l2.lower() if orig_l2 else None, resp_l2.lower() if resp_l2 else None,  # a_mac, b_mac
        pkts_ab or 0, pkts_ba or 0, bytes_ab or 0, bytes_ba or 0,  # pkts_ab, pkts_ba, bytes_ab, bytes_ba (IP bytes)
        payload_ab or 0, payload_ba or 0, flags_ab, flags_ba,  # payload_ab, payload_ba, tcp_flags_ab, tcp_flags_ba
        app, "zeek",  # app, end_reason
    )
    return ConnShape(vlan or 0, ip_proto, duration or 0.0, rest, extra, len(services) > 1 or bool(failed))


def shaped_flow(  # noqa: PLR0917 - once per conn.log line: keywords cost it
    shape: ConnShape, ts: float, orig_h: str, orig_p: int | None, resp_h: str, resp_p: int | None, uid: Any,
) -> Flow:
    """The Flow of a conn.log record of ``shape`` with these time, addresses, ports and uid (None: not logged)."""
    vlan, ip_proto, duration, rest, shared, lists = shape
    extra = {"uid": uid, **shared} if uid is not None else {**shared}  # each Flow its own
    if lists:
        for key in ("services", "failed_services"):
            if key in extra:
                extra[key] = list(extra[key])
    a_port, b_port = orig_p or 0, resp_p or 0
    if ip_proto == 1 and ":" in orig_h:
        ip_proto = ICMP6
    if ip_proto in (1, ICMP6):
        # Zeek puts the ICMP type in id.orig_p and the reply type (or the code) in id.resp_p; a
        # flow has no ports
        extra = {"icmp_type": a_port, "icmp_resp_p": b_port, **extra}
        a_port = b_port = 0
    # Flow's fields in their declared order (:data:`FLOW_FIELDS`, pinned by a test): by keyword, the
    # 21 arguments cost a conn.log line three times as much
    return Flow(vlan, ip_proto, orig_h, a_port, resp_h, b_port, ts, ts + duration, *rest, extra)


def _mac(value: str | None) -> str | None:
    return value.lower() if value else None


# --- dns.log ------------------------------------------------------------------------------------

_TXT = re.compile(r"TXT (\d+) ")


def _answer(data: str) -> tuple[str, Any]:
    """(RR type, data) of one ``answers`` entry, which Zeek logs as text only; "?" when not told.

    A and AAAA data are addresses; TXT is ``TXT <len> <string>`` per string, which becomes the list
    of strings the DNS dissector gives (RFC 1035 §3.3.14).
    """
    if data.startswith("TXT "):
        strings, pos = [], 0
        while (m := _TXT.match(data, pos)) is not None:
            end = m.end() + int(m.group(1))
            strings.append(data[m.end():end])
            pos = end + 1
        return "TXT", strings if pos >= len(data) else [data[4:]]
    try:
        return ("A" if ipaddress.ip_address(data).version == 4 else "AAAA"), data
    except ValueError:
        return "?", data


def _dns_type(rec: dict[str, Any]) -> str | None:
    """QTYPE mnemonic; Zeek's ``query-N`` for types it has no name for is the dissector's ``TYPEN``."""
    name, number = get_str(rec, "qtype_name"), get_int(rec, "qtype")
    if name is not None and not name.startswith("query-"):
        return name
    return None if number is None else f"TYPE{number}"  # RFC 3597 §5


def map_dns(rec: dict[str, Any]) -> list[Observation]:
    """dns.log (``DNS::Info``): a query, and a response when Zeek saw one.

    Zeek writes one line per query/response pair: ``rcode`` is set once a reply was seen and ``rtt``
    only when the query was seen too, so a line with an rcode and no rtt is a reply alone (an mDNS
    announcement, or a query the sensor missed). Zeek keeps no authority/additional sections.
    """
    cid = ConnId.of(rec)
    ports = {cid.orig_p, cid.resp_p}
    proto = "mdns" if 5353 in ports else "llmnr" if 5355 in ports else "dns"
    qname, qtype = get_str(rec, "query"), _dns_type(rec)
    query: dict[str, Any] = {
        "id": get_int(rec, "trans_id"), "qr": False, "opcode": get_int(rec, "opcode"), "rd": get_bool(rec, "RD"),
        "qname": qname, "qtype": qtype, "questions": [{"name": qname, "type": qtype or "?"}] if qname else [],
    }
    rcode_name, rcode = get_str(rec, "rcode_name"), get_int(rec, "rcode")
    if rcode_name is None and rcode is not None:
        rcode_name = f"RCODE{rcode}"
    rtt = get_float(rec, "rtt")
    out = []
    if rcode_name is None or rtt is not None:
        out.append(cid.forward(proto, "query", query))
    if rcode_name is not None:
        # a reply with no query seen, to a multicast group (mDNS/LLMNR announcement): the originator
        # Zeek logged is the one answering; otherwise the responder answers its client
        announced = rtt is None and cid.resp_h is not None and ipaddress.ip_address(cid.resp_h).is_multicast
        ttls = get_list(rec, "TTLs")
        answers = []
        for i, text in enumerate(get_list(rec, "answers")):
            ttl = ttls[i] if i < len(ttls) else None
            rr_type, data = _answer(str(text))
            answers.append({"name": qname, "type": rr_type, "ttl": None if ttl is None else int(to_time(ttl)),
                            "data": data})
        fields = {**query, "qr": True, "rcode": rcode_name, "aa": get_bool(rec, "AA"), "tc": get_bool(rec, "TC"),
                  "ra": get_bool(rec, "RA"), "answers": answers}
        send = cid.forward if announced else cid.reverse
        out.append(send(proto, "response", fields, ts=cid.ts + (rtt or 0.0)))
    return out


# --- dhcp.log -----------------------------------------------------------------------------------

# DHCP message types, option 53 (RFC 2132 §9.6), as the DHCP dissector numbers and names them
DHCP_TYPES = {"discover": 1, "offer": 2, "request": 3, "decline": 4, "ack": 5, "nak": 6, "release": 7,
              "inform": 8, "forcerenew": 9}
_SERVER_TYPES = frozenset({"offer", "ack", "nak", "forcerenew"})


def map_dhcp(rec: dict[str, Any]) -> list[Observation]:
    """dhcp.log: the client's last message and the server's last reply, as the DHCP dissector sees them.

    Zeek >= 3 logs one line per transaction (``msg_types`` DISCOVER,OFFER,REQUEST,ACK); it becomes
    up to two Observations: the last client message (subject the client: hostname, vendor class,
    requested address) and the last server message (subject the server, carrying the client's
    ``client_mac`` and ``yiaddr`` in fields, as a real ACK does). The older ACK-only format gives
    the server's ACK.
    """
    ts = get_float(rec, "ts")
    if ts is None:
        raise ParseError("record without ts")
    lease = get_float(rec, "lease_time")
    client_mac = _mac(get_str(rec, "mac"))
    reply: dict[str, Any] = {"client_mac": client_mac, "lease_time": None if lease is None else int(lease)}
    if "msg_types" not in rec and "uids" not in rec:  # Bro/Zeek < 3: ts uid id.* mac assigned_ip lease_time
        cid = ConnId.of(rec, 17)
        reply.update(msg_type=5, xid=get_int(rec, "trans_id"), yiaddr=get_ip(rec, "assigned_ip"))
        return [cid.reverse("dhcp", "ack", reply)]
    msg_types = [str(m).lower() for m in get_list(rec, "msg_types")]
    client_ip, server_ip = get_ip(rec, "client_addr"), get_ip(rec, "server_addr")
    out = []
    client_kind = next((m for m in reversed(msg_types) if m not in _SERVER_TYPES), None)
    if client_kind is not None:
        # DHCP client port 68 to server port 67, RFC 2131 §4.1
        out.append(Observation(ts=ts, proto="dhcp", kind=client_kind, src_mac=client_mac, src_ip=client_ip,
                               dst_ip=server_ip, src_port=68, dst_port=67, ip_proto=17, fields=drop_none({
                                   "msg_type": DHCP_TYPES.get(client_kind), "msg_types": msg_types,
                                   "client_mac": client_mac, "hostname": get_str(rec, "host_name"),
                                   "fqdn": get_str(rec, "client_fqdn"),
                                   "requested_ip": get_ip(rec, "requested_addr"),
                                   # policy/protocols/dhcp/software.zeek: option 60 (RFC 2132 §9.13)
                                   "vendor_class": get_str(rec, "client_software"),
                                   "message": get_str(rec, "client_message"),
                                   # option 55 (RFC 2132 §9.8), from fingerprinting packages when logged
                                   "param_req_list": [int(x) for x in (get_list(rec, "param_req_list")
                                                      or get_list(rec, "fingerprint")) if str(x).isdecimal()]})))
    server_kind = next((m for m in reversed(msg_types) if m in _SERVER_TYPES), None)
    if server_kind is not None:
        reply.update(msg_type=DHCP_TYPES[server_kind], msg_types=msg_types, yiaddr=get_ip(rec, "assigned_addr"),
                     server_id=server_ip, domain=get_str(rec, "domain"),
                     vendor_class=get_str(rec, "server_software"), message=get_str(rec, "server_message"))
        out.append(Observation(ts=ts + (get_float(rec, "duration") or 0.0), proto="dhcp", kind=server_kind,
                               src_ip=server_ip, dst_ip=client_ip, src_port=67, dst_port=68, ip_proto=17,
                               fields=drop_none(reply)))
    if not out:
        raise ParseError("dhcp record without msg_types")
    return out


# --- http.log -----------------------------------------------------------------------------------

def _http_version(rec: dict[str, Any]) -> str | None:
    version = get_str(rec, "version")  # Zeek logs "1.1"; the dissector the start line's "HTTP/1.1"
    return None if version is None else version if version.startswith("HTTP/") else f"HTTP/{version}"


def map_http(rec: dict[str, Any]) -> list[Observation]:
    """http.log (``HTTP::Info``): the request, and the response when a status line was seen.

    ``headers`` holds what Zeek logs of them: Host, User-Agent, Referer, Origin (and Server when a
    policy script logs it). Basic auth (RFC 7617 §2) shows as ``username``; Zeek logs the password
    only with HTTP::default_capture_password, so ``password_present`` is False when it did not.
    """
    cid = ConnId.of(rec, 6)
    out = []
    method, uri, user = get_str(rec, "method"), get_str(rec, "uri"), get_str(rec, "username")
    if method is not None or uri is not None:
        headers = drop_none({"host": get_str(rec, "host"), "user-agent": get_str(rec, "user_agent"),
                             "referer": get_str(rec, "referrer"), "origin": get_str(rec, "origin")})
        out.append(cid.forward("http", "request", {
            "method": method, "uri": uri, "version": _http_version(rec), "host": get_str(rec, "host"),
            "user_agent": get_str(rec, "user_agent"), "authorization_scheme": "Basic" if user else None,
            "basic_auth": True if user else None, "basic_user": user,
            "password_present": (rec.get("password") is not None) if user else None, "headers": headers or None,
            # a request opening an RD Gateway tunnel, named as dissect/http.py names it (its method and target; Zeek
            # logs no Upgrade header, so a WebSocket tunnel is not told from another GET)
            "rdp_gateway": tsgu.transport(method or "", uri or "", headers),
        }))
    status = get_int(rec, "status_code")
    if status is not None:
        server = get_str(rec, "server")
        out.append(cid.reverse("http", "response", {
            "version": _http_version(rec), "status": status, "reason": get_str(rec, "status_msg"),
            "server": server, "headers": {"server": server} if server else None,
        }))
    return out


# --- ssh.log ------------------------------------------------------------------------------------

def _banner(role: str, ident: str) -> dict[str, Any]:
    """An SSH identification string, ``SSH-protoversion-softwareversion SP comments`` (RFC 4253 §4.2)."""
    if not ident.startswith("SSH-"):
        return {"role": role, "banner": ident, "software": ident}
    proto_version, _, rest = ident[4:].partition("-")
    software, _, comments = rest.partition(" ")
    return {"role": role, "banner": ident, "proto_version": proto_version, "software": software,
            "comments": comments or None}


def map_ssh(rec: dict[str, Any]) -> list[Observation]:
    """ssh.log (``SSH::Info``, plus the hassh package's columns): banners and key exchange facts.

    Zeek logs the negotiated algorithms, not the KEXINIT name-lists: those come as ``kex_alg``,
    ``cipher_alg``, ``mac_alg``, ``host_key_alg`` and ``host_key`` (fingerprint) on the server's kexinit.
    """
    cid = ConnId.of(rec, 6)
    out = []
    client, server = get_str(rec, "client"), get_str(rec, "server")
    if client is not None:
        out.append(cid.forward("ssh", "banner", _banner("client", client)))
    if server is not None:
        out.append(cid.reverse("ssh", "banner", _banner("server", server)))
    hassh, hassh_server = get_str(rec, "hassh"), get_str(rec, "hasshServer")
    if hassh is not None:
        out.append(cid.forward("ssh", "kexinit", {"role": "client", "hassh": hassh,
                                                  "hassh_string": get_str(rec, "hasshAlgorithms")}))
    if hassh_server is not None:
        out.append(cid.reverse("ssh", "kexinit", {
            "role": "server", "hassh_server": hassh_server,
            "hassh_server_string": get_str(rec, "hasshServerAlgorithms"),
            "kex_alg": get_str(rec, "kex_alg"), "host_key_alg": get_str(rec, "host_key_alg"),
            "cipher_alg": get_str(rec, "cipher_alg"), "mac_alg": get_str(rec, "mac_alg"),
            "host_key": get_str(rec, "host_key"),
        }))
    return out


# --- software.log and the known_* logs ----------------------------------------------------------

def software_version(rec: dict[str, Any]) -> str | None:
    """``Software::Version`` as Zeek's ``software_fmt_version`` prints it: ``1.2.3.4-addl``."""
    parts = [get_int(rec, f"version.{k}") for k in ("major", "minor", "minor2", "minor3")]
    numbers: list[str] = []
    for part in parts:
        if part is None:
            break
        numbers.append(str(part))
    addl = get_str(rec, "version.addl")
    text = ".".join(numbers)
    if addl:
        text = f"{text}-{addl}" if text else addl
    return text or None


def map_software(rec: dict[str, Any]) -> list[Observation]:
    """software.log (``Software::Info``): what software a host runs, kind = the software type."""
    ts = get_float(rec, "ts")
    software_type = get_str(rec, "software_type")
    if ts is None or software_type is None:
        raise ParseError("software record without ts or software_type")
    return [Observation(ts=ts, proto="software", kind=software_type.lower(), src_ip=get_ip(rec, "host"),
                        src_port=get_port(rec, "host_p"), fields=drop_none({
                            "name": get_str(rec, "name"), "version": software_version(rec),
                            "unparsed_version": get_str(rec, "unparsed_version")}))]


def map_known(log_type: str, rec: dict[str, Any]) -> list[Observation]:
    """known_hosts / known_services / known_devices (policy scripts) -> proto ``zeek`` facts."""
    ts = get_float(rec, "ts")
    if ts is None:
        raise ParseError("record without ts")
    if log_type == "known_hosts":
        return [Observation(ts=ts, proto="zeek", kind="known_host", src_ip=get_ip(rec, "host"))]
    if log_type == "known_services":
        port, port_proto = get_port(rec, "port_num"), get_str(rec, "port_proto")
        return [Observation(ts=ts, proto="zeek", kind="known_service", src_ip=get_ip(rec, "host"), src_port=port,
                            ip_proto=IP_PROTOS.get(port_proto or ""), fields=drop_none({
                                "port_num": port, "port_proto": port_proto,
                                "service": [str(s) for s in get_list(rec, "service")]}))]
    mac = _mac(get_str(rec, "mac"))
    if mac is None:
        raise ParseError("known_devices record without mac")
    return [Observation(ts=ts, proto="zeek", kind="known_device", src_mac=mac,
                        fields=drop_none({"mac": mac, "hostname": get_str(rec, "dhcp_host_name")}))]
