"""conn.log records (``Conn::Info``, plus the mac-logging and vlan-logging policy columns) -> closed Flows, as the
packet path closes them: Zeek's service names as our dissectors', TCP flags from ``history``, and the shape of a
line (everything but its time, uid, addresses and ports) that the TSV fast path (:mod:`~iotwarden.sources.zeek_conn`)
builds once per distinct rest of a line; the other logs' mappers are :mod:`~iotwarden.sources.zeek_map`'s.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from iotwarden.errors import ParseError
from iotwarden.model import Flow
from iotwarden.model.epoch import showable
from iotwarden.sources.zeek_fields import ConnId, get_count, get_float, get_int, get_list, get_str

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
    if not ends_in_range(cid.ts, shape.duration):
        raise ParseError(f"conn duration {shape.duration!r} s: negative, or ending past the year 9999")
    return shaped_flow(shape, cid.ts, cid.orig_h, cid.orig_p, cid.resp_h, cid.resp_p, rec.get("uid"))


def ends_in_range(ts: float, duration: float) -> bool:
    """Whether a connection of ``ts`` lasting ``duration`` seconds ends when it can (model/epoch.py): Zeek's duration
    is the last packet's time less the first's, never negative; a flow ending past the year 9999 made every command
    that shows its time fail."""
    return duration >= 0.0 and showable(ts + duration)


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
