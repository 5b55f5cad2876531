"""Zeek's quic.log, ntp.log and mqtt_connect/mqtt_publish/mqtt_subscribe.log -> the Observations dissect/quic.py,
dissect/ntp.py and dissect/mqtt.py make, so the identity rules, knowledge base and checks read a Zeek sensor's
view of the protocols IoT devices speak to their clouds, clocks and hubs as they read packets.

Columns are those of Zeek's own records:

* quic.log (``QUIC::Info``, base/protocols/quic/main.zeek, Zeek >= 6.1): one line per QUIC connection (a Retry
  or CONNECTION_CLOSE starts another): ``version`` (``QUIC::version_strings``: "1", "quicv2", "draft-29"...),
  ``server_name`` (the ClientHello's SNI), ``client_protocol`` (its first ALPN entry) and ``history`` (client's
  letters upper case; ``S``/``s`` a TLS hello of that side). A line with the client's hello (``S``, or an SNI or
  ALPN read from it) is the dissector's ``client_hello`` from the originator (``sni``, ``alpn`` with the one
  protocol Zeek keeps, ``quic_version``: "quicv2" read as RFC 9369's "2"); ``s`` adds the server's
  ``server_hello`` (``quic_version`` only: Zeek logs nothing else of it). Offered versions, cipher suites and
  JA3/JA4 are not logged, so they are left out.
* ntp.log (``NTP::Info``, base/protocols/ntp/main.zeek, Zeek >= 5): one line per NTP message of modes 0-5 (Zeek
  logs no control or private message), without its direction: the mode says who sent it (RFC 5905 §3: a
  client's mode 3 and a symmetric-active or broadcast peer's mode 1 or 5 open the exchange, a server's mode 4 and
  a passive peer's mode 2 answer it), so the kind is the dissector's (``client``, ``server``...). ``version``,
  ``mode``, ``stratum``, ``root_delay``/``root_disp`` (seconds), ``ref_id`` (the kiss code or reference clock's
  ASCII name at stratum 0/1, e.g. "GPS", an IPv4 address above) and the four timestamps as the dissector gives
  them; ``poll`` and ``precision``, which Zeek logs as intervals (2^n s), go back to the exponents of RFC 5905
  §7.3. The leap indicator is not logged.
* mqtt_connect.log (``MQTT::ConnectInfo``, base/protocols/mqtt/main.zeek, policy/protocols/mqtt before Zeek
  6): written at the broker's CONNACK: the client's ``connect`` (``proto_name``, ``proto_version`` "3.1",
  "3.1.1", "5.0" back to 3, 4, 5, ``client_id``, ``will_topic``) and the broker's ``connack`` (``return_code``
  from ``connect_status``'s ``MQTT::return_codes`` text). Zeek logs neither the user name nor whether a password
  was sent: the Observation leaves ``username`` and ``password_present`` out (unknown, not absent), so
  risk.mqtt.anonymous and risk.mqtt.cleartext, which judge credentials, say nothing of a Zeek-fed broker.
  ``clean_session`` and ``keepalive`` are not logged either.
* mqtt_publish.log (``MQTT::PublishInfo``): a ``publish`` from the client (``from_client``) or the broker:
  ``topic``, ``qos`` (from ``MQTT::qos_levels`` text), ``retain``, ``payload_len``; the payload is never kept.
* mqtt_subscribe.log (``MQTT::SubscribeInfo``): ``action`` ``MQTT::SUBSCRIBE`` is the client's ``subscribe``
  (``topics`` as ``{"topic", "qos"}`` with ``qos_levels``), ``MQTT::UNSUBSCRIBE`` its ``unsubscribe``.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from iotwarden.dissect.ntp import MODES, NTP_UNIX_OFFSET
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.sources.zeek_fields import ConnId, get_bool, get_float, get_int, get_list, get_str

QUIC_VERSIONS = {"quicv2": "2"}  # QUIC::version_strings -> dissect/quicinitial.py's names where they differ
NTP_SENT_BY_ORIGINATOR = frozenset({0, 1, 3, 5})  # reserved, symmetric active, client, broadcast (RFC 5905 §3)
# MQTT::versions, MQTT::qos_levels and MQTT::return_codes (base/protocols/mqtt/consts.zeek) read back
MQTT_VERSIONS = {"3.1": 3, "3.1.1": 4, "5.0": 5}
MQTT_QOS = {"at most once": 0, "at least once": 1, "exactly once": 2}
MQTT_RETURN_CODES = {"Connection Accepted": 0, "Refused: unacceptable protocol version": 1,
                     "Refused: identifier rejected": 2, "Refused: server unavailable": 3,
                     "Refused: bad user name or password": 4, "Refused: not authorized": 5}
MQTT_UNSUBSCRIBE = "MQTT::UNSUBSCRIBE"
MAX_TOPICS = 32  # topic filters kept of one line, as dissect/mqtt.py keeps of one (UN)SUBSCRIBE


# --- quic.log -----------------------------------------------------------------------------------

def map_quic(rec: dict[str, Any]) -> list[Observation]:
    """quic.log -> the client's ``client_hello`` and the server's ``server_hello`` (module docstring)."""
    cid = ConnId.addressed(rec, 17)
    version = get_str(rec, "version")
    quic_version = QUIC_VERSIONS.get(version, version) if version else None
    history = get_str(rec, "history") or ""
    sni, alpn = get_str(rec, "server_name"), get_str(rec, "client_protocol")
    out = []
    if "S" in history or sni is not None or alpn is not None:
        out.append(cid.forward("quic", "client_hello", {"sni": sni, "alpn": [alpn] if alpn else None,
                                                        "quic_version": quic_version}))
    if "s" in history:
        out.append(cid.reverse("quic", "server_hello", {"quic_version": quic_version}))
    return out


# --- ntp.log ------------------------------------------------------------------------------------

def _exponent(rec: dict[str, Any], key: str) -> int | None:
    """An interval Zeek logs as 2^n seconds (poll, precision) back to n, as the packet carries it."""
    seconds = get_float(rec, key)
    if seconds is None or seconds <= 0:
        return None
    return round(math.log2(seconds))


def _ntp_time(rec: dict[str, Any], key: str) -> float | None:
    """A timestamp as the dissector gives it: Unix seconds, 0.0 for the unset one (Zeek writes NTP's zero as
    1900-01-01, -2208988800)."""
    ts = get_float(rec, key)
    if ts is None:
        return None
    return 0.0 if abs(ts + NTP_UNIX_OFFSET) < 1e-3 else ts


def _reference_raw(ref_id: str | None, stratum: int | None) -> str | None:
    """The reference ID's four octets in hex, as dissect/ntp.py shows them, from Zeek's text of them."""
    if ref_id is None or stratum is None:
        return None
    if stratum > 1:
        try:
            octets = ipaddress.IPv4Address(ref_id).packed
        except ValueError:
            return None
    else:
        octets = ref_id.encode("ascii", "replace")[:4].ljust(4, b"\x00")
    return ":".join(f"{b:02x}" for b in octets)


def map_ntp(rec: dict[str, Any]) -> list[Observation]:
    """ntp.log -> one NTP message, from the end its mode names (module docstring)."""
    cid = ConnId.addressed(rec, 17)
    mode = get_int(rec, "mode")
    if mode is None or not 0 <= mode < len(MODES):
        raise ParseError(f"mode: not an NTP mode: {mode!r}")
    stratum, ref_id = get_int(rec, "stratum"), get_str(rec, "ref_id")
    fields = {
        "version": get_int(rec, "version"), "mode": mode, "stratum": stratum,
        "poll": _exponent(rec, "poll"), "precision": _exponent(rec, "precision"),
        "root_delay": get_float(rec, "root_delay"), "root_dispersion": get_float(rec, "root_disp"),
        "reference_id": ref_id, "reference_id_raw": _reference_raw(ref_id, stratum),
        "reference_ts": _ntp_time(rec, "ref_time"), "origin_ts": _ntp_time(rec, "org_time"),
        "receive_ts": _ntp_time(rec, "rec_time"), "transmit_ts": _ntp_time(rec, "xmt_time"),
    }
    send = cid.forward if mode in NTP_SENT_BY_ORIGINATOR else cid.reverse
    return [send("ntp", MODES[mode], fields)]


# --- mqtt_connect.log, mqtt_publish.log, mqtt_subscribe.log ------------------------------------

def map_mqtt_connect(rec: dict[str, Any]) -> list[Observation]:
    """mqtt_connect.log -> the client's ``connect`` and the broker's ``connack`` (module docstring)."""
    cid = ConnId.addressed(rec, 6)
    version = get_str(rec, "proto_version")
    # username and password_present stay out: Zeek does not log them (unknown, which a check must not read
    # as "no credentials")
    out = [cid.forward("mqtt", "connect", {
        "protocol_name": get_str(rec, "proto_name"), "protocol_version": MQTT_VERSIONS.get(version or ""),
        "client_id": get_str(rec, "client_id"), "will_topic": get_str(rec, "will_topic")})]
    status = get_str(rec, "connect_status")
    if status is not None:
        code = MQTT_RETURN_CODES.get(status)
        if code is None and status.startswith("unknown-return-code-"):  # MQTT::return_codes' &default
            code = _number(status.rpartition("-")[2])
        fields: dict[str, Any] = {"return_code": code}
        if out[0].fields.get("protocol_version") == 5:
            fields["reason_code"] = code  # 5.0 §3.2.2.2, as the dissector repeats it
        out.append(cid.reverse("mqtt", "connack", fields))
    return out


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None


def _qos(text: str | None) -> int | None:
    if text is None:
        return None
    if text in MQTT_QOS:
        return MQTT_QOS[text]
    return _number(text.rpartition("-")[2]) if text.startswith("unknown-qos-level-") else None


def map_mqtt_publish(rec: dict[str, Any]) -> list[Observation]:
    """mqtt_publish.log -> a ``publish`` from the client or the broker (module docstring)."""
    cid = ConnId.addressed(rec, 6)
    from_client = get_bool(rec, "from_client")
    send = cid.reverse if from_client is False else cid.forward
    return [send("mqtt", "publish", {"topic": get_str(rec, "topic"), "qos": _qos(get_str(rec, "qos")),
                                     "retain": get_bool(rec, "retain"), "payload_len": get_int(rec, "payload_len")})]


def map_mqtt_subscribe(rec: dict[str, Any]) -> list[Observation]:
    """mqtt_subscribe.log -> the client's ``subscribe`` or ``unsubscribe`` (module docstring)."""
    cid = ConnId.addressed(rec, 6)
    topics = [str(t) for t in get_list(rec, "topics")][:MAX_TOPICS]
    if not topics:
        return []
    if get_str(rec, "action") == MQTT_UNSUBSCRIBE:
        return [cid.forward("mqtt", "unsubscribe", {"topics": topics})]
    levels = [_level(q) for q in get_list(rec, "qos_levels")]
    return [cid.forward("mqtt", "subscribe", {"topics": [
        {"topic": t, "qos": levels[i] if i < len(levels) else None} for i, t in enumerate(topics)]})]


def _level(value: Any) -> int | None:
    try:
        level = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return level if 0 <= level <= 2 else None
