"""Zeek log records -> the Flows and Observations the packet path produces, one function per log type (conn.log's
Flows: :mod:`~iotwarden.sources.zeek_connflow`).

Field names follow the dissectors' vocabulary (``dissect/<proto>.py``), so analyzers cannot tell a
Zeek-fed Observation from a packet-fed one. Column names are Zeek's ``<Proto>::Info`` records.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from iotwarden.dissect import tsgu
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.sources.zeek_connflow import (
    CARRIER_SERVICES,
    CONN_EXTRA,
    EXTRA_BUT_UID,
    FLOW_FIELDS,
    SERVICE_NAMES,
    ConnShape,
    conn_shape,
    map_conn,
    service_name,
    shaped_flow,
)
from iotwarden.sources.zeek_fields import (
    IP_PROTOS,
    ConnId,
    drop_none,
    get_bool,
    get_float,
    get_int,
    get_ip,
    get_list,
    get_port,
    get_str,
)
from iotwarden.sources.zeek_format import to_time

# the conn.log mapping's names (sources/zeek_connflow.py, split from this module) stay importable from here
__all__ = ["CARRIER_SERVICES", "CONN_EXTRA", "DHCP_TYPES", "EXTRA_BUT_UID", "FLOW_FIELDS", "SERVICE_NAMES", "ConnShape",
           "conn_shape", "map_conn", "map_dhcp", "map_dns", "map_http", "map_known", "map_software", "map_ssh",
           "service_name", "shaped_flow", "software_version"]


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
