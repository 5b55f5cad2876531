"""SNMP dissector: v1 (RFC 1157), v2c (RFC 1901, PDUs RFC 3416) and v3 (RFC 3412/3414) messages.

Kinds: ``get``, ``getnext``, ``getbulk``, ``set``, ``response``, ``trap`` (v1 Trap-PDU and
SNMPv2-Trap), ``inform``, ``report``, and ``encrypted`` (a v3 message whose ScopedPDU is encrypted).
Fields: ``version`` ("1", "2c", "3"), ``pdu_type`` (the kind), ``community`` (v1/v2c: the
cleartext community string, RFC 1157 §3.2.5), ``request_id``, ``error_status``, ``error_index``
(getbulk: ``non_repeaters``, ``max_repetitions``, RFC 3416 §4.2.3), ``varbinds`` (list of
``{"oid", "type", "value"}``), and from a response ``sys_descr`` (1.3.6.1.2.1.1.1.0),
``sys_object_id`` (1.3.6.1.2.1.1.2.0), ``sys_name`` (1.3.6.1.2.1.1.5.0), ``ups_ident_manufacturer``
(1.3.6.1.2.1.33.1.1.1.0) and ``ups_ident_model`` (1.3.6.1.2.1.33.1.1.2.0, UPS-MIB RFC 1628). v1 traps (RFC 1157 §4.1.6):
``enterprise``, ``agent_addr``, ``generic_trap``, ``specific_trap``, ``trap_oid``; v2 traps:
``trap_oid`` (snmpTrapOID.0, RFC 3416 §4.2.6). v3: ``msg_id``, ``msg_flags``, ``security_model``,
``engine_id`` (hex), ``msg_user_name`` (USM, RFC 3414 §2.4), ``context_name``.

One observation per message, subject ``src`` (the sender). The peer (``dst``) of a request is the
agent that the community or user name unlocks; analyzers read it from the observation's dst.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from iotwarden.dissect import asn1
from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_VARBINDS = 32  # varbinds kept per message
MAX_VALUE = 512  # characters kept of a rendered value (hex or text)
MAX_COMMUNITY = 255  # bytes kept of a community string

# PDU tags, RFC 3416 §3 (context-specific, constructed) and RFC 1157 §4.1.6 (Trap-PDU)
PDU_KINDS = {
    0xA0: "get",
    0xA1: "getnext",
    0xA2: "response",
    0xA3: "set",
    0xA4: "trap",  # SNMPv1 Trap-PDU
    0xA5: "getbulk",
    0xA6: "inform",
    0xA7: "trap",  # SNMPv2-Trap-PDU
    0xA8: "report",
}
_VERSIONS = {0: "1", 1: "2c", 3: "3"}  # RFC 3584 §2.1 msgVersion values
_PROMOTED = {
    "1.3.6.1.2.1.1.1.0": "sys_descr",  # SNMPv2-MIB sysDescr (RFC 3418)
    "1.3.6.1.2.1.1.2.0": "sys_object_id",
    "1.3.6.1.2.1.1.5.0": "sys_name",
    "1.3.6.1.2.1.33.1.1.1.0": "ups_ident_manufacturer",  # UPS-MIB upsIdentManufacturer (RFC 1628 §5, upsIdent 1)
    "1.3.6.1.2.1.33.1.1.2.0": "ups_ident_model",  # UPS-MIB upsIdentModel (RFC 1628 §5, upsIdent 2)
}
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"  # snmpTrapOID.0, RFC 3418
USM = 3  # RFC 3411 §5 SnmpSecurityModel userBasedSecurityModel

# RFC 2578 §7.1 application types and RFC 3416 §3 exceptions
_APP_TYPES = {
    0x40: "ipaddress",
    0x41: "counter32",
    0x42: "gauge32",
    0x43: "timeticks",
    0x44: "opaque",
    0x46: "counter64",
    0x80: "nosuchobject",
    0x81: "nosuchinstance",
    0x82: "endofmibview",
}


def _render_bytes(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.hex()[:MAX_VALUE]
    # isprintable() answers for the whole text at once, the usual case; the loop only when it holds line breaks,
    # tabs or something unprintable
    if text.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in text):
        return text[:MAX_VALUE]
    return raw.hex()[:MAX_VALUE]


def _value(tlv: asn1.Tlv) -> tuple[str, Any]:
    if tlv.tag == asn1.INTEGER:
        return "integer", asn1.integer(tlv.value)
    if tlv.tag == asn1.OCTET_STRING:
        return "octet_string", _render_bytes(tlv.value)
    if tlv.tag == asn1.NULL:
        return "null", None
    if tlv.tag == asn1.OID:
        return "oid", asn1.oid(tlv.value)
    kind = _APP_TYPES.get(tlv.tag)
    if kind == "ipaddress":
        if len(tlv.value) != 4:
            raise ParseError("IpAddress not 4 bytes")
        return kind, str(ipaddress.IPv4Address(tlv.value))
    if kind in ("counter32", "gauge32", "timeticks", "counter64"):
        return kind, asn1.unsigned(tlv.value)
    if kind in ("nosuchobject", "nosuchinstance", "endofmibview"):
        return kind, None
    if kind == "opaque":
        return kind, tlv.value.hex()[:MAX_VALUE]
    return f"tag_0x{tlv.tag:02x}", tlv.value.hex()[:MAX_VALUE]


def _varbinds(value: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for vb in asn1.children(value):
        if vb.tag != asn1.SEQUENCE:
            raise ParseError("varbind is not a SEQUENCE")
        name = asn1.expect(vb.value, 0, asn1.OID, "varbind name")
        vtype, val = _value(asn1.read_tlv(vb.value, name.end))
        if len(out) < MAX_VARBINDS:
            out.append({"oid": asn1.oid(name.value), "type": vtype, "value": val})
    return out


def parse_pdu(tlv: asn1.Tlv) -> dict[str, Any]:
    """Fields of one PDU (RFC 3416 §3; v1 Trap-PDU RFC 1157 §4.1.6)."""
    kind = PDU_KINDS.get(tlv.tag)
    if kind is None:
        raise ParseError(f"unknown SNMP PDU tag 0x{tlv.tag:02x}")
    parts = asn1.children(tlv.value)
    fields: dict[str, Any] = {"pdu_type": kind}
    if tlv.tag == 0xA4:
        if len(parts) != 6:
            raise ParseError("v1 Trap-PDU needs 6 fields")
        enterprise = asn1.oid(parts[0].value)
        if parts[1].tag != 0x40 or len(parts[1].value) != 4:
            raise ParseError("v1 Trap-PDU agent-addr is not an IpAddress")
        fields.update(
            enterprise=enterprise,
            trap_oid=enterprise,
            agent_addr=str(ipaddress.IPv4Address(parts[1].value)),
            generic_trap=asn1.integer(parts[2].value),
            specific_trap=asn1.integer(parts[3].value),
            time_stamp=asn1.unsigned(parts[4].value),
            varbinds=_varbinds(parts[5].value),
        )
        return fields
    if len(parts) != 4 or any(p.tag != asn1.INTEGER for p in parts[:3]) or parts[3].tag != asn1.SEQUENCE:
        raise ParseError("PDU needs request-id, two INTEGERs and a varbind list")
    fields["request_id"] = asn1.integer(parts[0].value)
    if tlv.tag == 0xA5:
        fields["non_repeaters"] = asn1.integer(parts[1].value)
        fields["max_repetitions"] = asn1.integer(parts[2].value)
    else:
        fields["error_status"] = asn1.integer(parts[1].value)
        fields["error_index"] = asn1.integer(parts[2].value)
    varbinds = _varbinds(parts[3].value)
    fields["varbinds"] = varbinds
    for vb in varbinds:
        if vb["oid"] == SNMP_TRAP_OID and kind in ("trap", "inform"):
            fields["trap_oid"] = vb["value"]
        if kind == "response" and vb["oid"] in _PROMOTED and vb["value"] is not None:
            fields[_PROMOTED[vb["oid"]]] = vb["value"]
    return fields


def _v3(parts: list[asn1.Tlv]) -> dict[str, Any]:
    """RFC 3412 §6: msgGlobalData, msgSecurityParameters, msgData."""
    if len(parts) != 4 or parts[1].tag != asn1.SEQUENCE or parts[2].tag != asn1.OCTET_STRING:
        raise ParseError("SNMPv3 message needs header, security parameters and data")
    header = asn1.children(parts[1].value)
    if len(header) != 4:
        raise ParseError("SNMPv3 msgGlobalData needs 4 fields")
    flags = header[2].value[:1]
    fields: dict[str, Any] = {
        "version": "3",
        "msg_id": asn1.integer(header[0].value),
        "msg_flags": flags[0] if flags else 0,  # RFC 3412 §6.4: auth 0x01, priv 0x02, reportable 0x04
        "security_model": asn1.integer(header[3].value),
    }
    if fields["security_model"] == USM and parts[2].value:
        usm = asn1.expect(parts[2].value, 0, asn1.SEQUENCE, "UsmSecurityParameters")
        params = asn1.children(usm.value)
        if len(params) != 6:
            raise ParseError("USM security parameters need 6 fields")
        fields["engine_id"] = params[0].value.hex()
        fields["msg_user_name"] = _render_bytes(params[3].value)
    data = parts[3]
    if data.tag == asn1.OCTET_STRING:  # encryptedPDU
        fields["pdu_type"] = "encrypted"
        return fields
    scoped = asn1.children(data.value) if data.tag == asn1.SEQUENCE else []
    if len(scoped) != 3:
        raise ParseError("SNMPv3 ScopedPDU needs contextEngineID, contextName and a PDU")
    fields["context_name"] = _render_bytes(scoped[1].value)
    fields.update(parse_pdu(scoped[2]))
    return fields


def parse_message(data: bytes) -> dict[str, Any]:
    """Fields of one SNMP message; ParseError when it is not one."""
    top = asn1.expect(data, 0, asn1.SEQUENCE, "SNMP message")
    parts = asn1.children(top.value)
    if not parts or parts[0].tag != asn1.INTEGER:
        raise ParseError("SNMP message without version")
    version = _VERSIONS.get(asn1.integer(parts[0].value))
    if version is None:
        raise ParseError("unknown SNMP version")
    if version == "3":
        return _v3(parts)
    if len(parts) != 3 or parts[1].tag != asn1.OCTET_STRING:
        raise ParseError("SNMPv1/v2c message needs community and PDU")
    fields: dict[str, Any] = {
        "version": version,
        "community": _render_bytes(parts[1].value[:MAX_COMMUNITY]),
    }
    fields.update(parse_pdu(parts[2]))
    return fields


class SnmpDissector(Dissector):
    name: ClassVar[str] = "snmp"
    udp_ports: ClassVar[tuple[int, ...]] = (161, 162)  # RFC 3417 §3.1: agent 161, notifications 162
    max_packets_per_flow: ClassVar[int | None] = 64

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload  # the fields depend on the datagram alone (memo contract in dissect/base.py)

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A SEQUENCE holding INTEGER version 0, 1 or 3 (RFC 3417 §3)."""
        try:
            top = asn1.expect(payload, 0, asn1.SEQUENCE, "probe")
            first = asn1.read_tlv(top.value, 0)
        except ParseError:
            return False
        return top.end == len(payload) and first.tag == asn1.INTEGER and first.value in (b"\x00", b"\x01", b"\x03")

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        fields = parse_message(pkt.payload)
        return [pkt.observation(self.name, fields["pdu_type"], fields)]
