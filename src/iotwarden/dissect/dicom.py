"""DICOM Upper Layer dissector (tcp/104, 11112; elsewhere by probe): association set-up and DIMSE command
names, never patient data.

PDUs (DICOM PS3.8 §9.3): a 6-byte header (type, reserved, 32-bit big-endian length). A-ASSOCIATE-RQ (0x01,
§9.3.2) and -AC (0x02, §9.3.3) carry the called and calling AE titles (16 bytes each) and variable items:
presentation contexts (0x20 in RQ: context ID, abstract syntax 0x30 = the SOP class, transfer syntaxes; 0x21
in AC: context ID and result, 0 = acceptance, §9.3.3.2) and User Information (0x50, Annex D): Maximum Length
(0x51), Implementation Class UID (0x52, §D.3.3.2) and Implementation Version Name (0x55), which name the
software and its maker, and User Identity (0x58, PS3.7 §D.3.3.7), of which only the type is read, never the
username or passcode. A-ASSOCIATE-RJ (0x03, §9.3.4): result, source, reason. P-DATA-TF (0x04, §9.3.5): PDV
items, each a context ID and a message control header saying command or data set and last fragment (Annex
E.2). A-RELEASE-RQ/RP (0x05/0x06) and A-ABORT (0x07, §9.3.8: source, reason).

Privacy: of a P-DATA-TF only command PDVs are read, and of their command set (group 0000, implicit VR
little endian, PS3.7 §9.3, §E.1) only Command Field (0000,0100), Affected/Requested SOP Class UID
(0000,0002)/(0000,0003) and Status (0000,0900). Data set PDVs (the images, the patient, study and worklist
attributes) are skipped unread, unbuffered; no patient name, ID or pixel is ever in an Observation.

Kinds (subject ``src``, the sender): ``associate_rq`` (the requestor, SCU), ``associate_ac`` (the acceptor,
SCP), ``associate_rj``, ``command`` and ``abort``. Association fields: ``ae_title`` (the sender's own: the
calling AE of an RQ, the called AE of an AC), ``peer_ae_title``, ``implementation_class_uid``,
``implementation_version``, ``max_pdu_length``, ``user_identity_type``; an RQ's ``requested_sop_classes``
and an AC's ``accepted_sop_classes`` (PS3.6 names, see :mod:`~iotwarden.dissect.dicomuids`, else the UID),
and ``phi_contexts`` True when one of them stores images or queries patients. A command: ``command``
(``C-STORE-RQ``), ``sop_class``, ``status`` (responses), ``from_requestor``. An RJ and an abort: ``result``,
``source``, ``reason`` (PS3.8 Tables 9-21, 9-26). At most :data:`MAX_COMMANDS` commands per flow.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector, confirm
from iotwarden.dissect.dicomuids import carries_phi, sop_class_name
from iotwarden.errors import ParseError
from iotwarden.model import Observation

ASSOCIATE_RQ, ASSOCIATE_AC, ASSOCIATE_RJ, P_DATA_TF, RELEASE_RQ, RELEASE_RP, ABORT = range(1, 8)
HEADER = 6  # PDU type, reserved, length (PS3.8 §9.3.1)
FIXED_ASSOCIATE = 68  # protocol version .. reserved 32 bytes: the variable items follow (§9.3.2)
MAX_ASSOCIATE = 64 * 1024  # bytes of one A-ASSOCIATE PDU; 128 presentation contexts fit in ~20 KB
MAX_COMMAND = 4 * 1024  # bytes of one command set: a few short elements (PS3.7 §E.1)
MAX_COMMANDS = 32  # command observations per flow: an archive link repeats C-STOREs all day
MAX_CONTEXTS = 128  # presentation context IDs are odd numbers 1..255 (§9.3.2.2)
MAX_SOP_CLASSES = 32  # distinct SOP class names kept per association PDU
MAX_TEXT = 64  # characters of a UID (64, PS3.5 §9) or version name (16) kept
IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION, USER_IDENTITY, MAX_LENGTH = 0x52, 0x55, 0x58, 0x51
COMMAND_FIELD, AFFECTED_SOP, REQUESTED_SOP, STATUS = 0x0100, 0x0002, 0x0003, 0x0900  # group 0000 elements
COMMANDS = {  # PS3.7 §E.1 Command Field values
    0x0001: "C-STORE-RQ", 0x8001: "C-STORE-RSP", 0x0010: "C-GET-RQ", 0x8010: "C-GET-RSP",
    0x0020: "C-FIND-RQ", 0x8020: "C-FIND-RSP", 0x0021: "C-MOVE-RQ", 0x8021: "C-MOVE-RSP",
    0x0030: "C-ECHO-RQ", 0x8030: "C-ECHO-RSP", 0x0100: "N-EVENT-REPORT-RQ", 0x8100: "N-EVENT-REPORT-RSP",
    0x0110: "N-GET-RQ", 0x8110: "N-GET-RSP", 0x0120: "N-SET-RQ", 0x8120: "N-SET-RSP",
    0x0130: "N-ACTION-RQ", 0x8130: "N-ACTION-RSP", 0x0140: "N-CREATE-RQ", 0x8140: "N-CREATE-RSP",
    0x0150: "N-DELETE-RQ", 0x8150: "N-DELETE-RSP", 0x0FFF: "C-CANCEL-RQ",
}
RJ_RESULT = {1: "rejected-permanent", 2: "rejected-transient"}  # PS3.8 Table 9-21
RJ_SOURCE = {1: "service-user", 2: "service-provider-acse", 3: "service-provider-presentation"}
ABORT_SOURCE = {0: "service-user", 2: "service-provider"}  # PS3.8 Table 9-26


def _text(raw: bytes) -> str:
    """An AE title or UID without its padding (spaces for AE titles, NUL for UIDs: PS3.5 §6.2, §9.1)."""
    return streambuf.text(raw, MAX_TEXT).strip(" \x00")


def _items(body: bytes, start: int) -> list[tuple[int, bytes]]:
    """(type, value) of the items from ``start`` (type, reserved, 16-bit length: PS3.8 §9.3.2.1)."""
    out: list[tuple[int, bytes]] = []
    pos = start
    while pos < len(body):
        if pos + 4 > len(body):
            raise ParseError("dicom: truncated item header")
        kind, length = body[pos], struct.unpack_from(">H", body, pos + 2)[0]
        if pos + 4 + length > len(body):
            raise ParseError("dicom: item longer than its PDU")
        out.append((kind, body[pos + 4:pos + 4 + length]))
        pos += 4 + length
    return out


def _user_information(value: bytes, fields: dict[str, Any]) -> None:
    """Implementation class UID and version, maximum length, identity type (PS3.8 Annex D, PS3.7 §D.3.3)."""
    for kind, sub in _items(value, 0):
        if kind == IMPLEMENTATION_CLASS_UID:
            fields["implementation_class_uid"] = _text(sub)
        elif kind == IMPLEMENTATION_VERSION:
            fields["implementation_version"] = _text(sub)
        elif kind == MAX_LENGTH and len(sub) == 4:
            fields["max_pdu_length"] = struct.unpack(">I", sub)[0]
        elif kind == USER_IDENTITY and sub:
            fields["user_identity_type"] = sub[0]  # 1 username, 2 +passcode, 3 Kerberos, 4 SAML, 5 JWT


def _names(uids: list[str]) -> list[str]:
    names: list[str] = []
    for uid in uids:
        name = sop_class_name(uid)
        if name not in names and len(names) < MAX_SOP_CLASSES:
            names.append(name)
    return names


def parse_associate(pdu_type: int, body: bytes, contexts: dict[int, str]) -> dict[str, Any]:
    """Fields of an A-ASSOCIATE-RQ or -AC body (after the PDU header). An RQ fills ``contexts`` (context
    ID -> abstract syntax UID); an AC reads the results of those contexts from it."""
    if len(body) < FIXED_ASSOCIATE:
        raise ParseError("dicom: A-ASSOCIATE shorter than its fixed fields")
    called, calling = _text(body[4:20]), _text(body[20:36])
    fields: dict[str, Any] = {"protocol_version": struct.unpack_from(">H", body, 0)[0]}
    own, peer = (calling, called) if pdu_type == ASSOCIATE_RQ else (called, calling)
    fields["ae_title"], fields["peer_ae_title"] = own, peer
    requested: list[str] = []
    accepted: list[str] = []
    for kind, value in _items(body, FIXED_ASSOCIATE):
        if kind == 0x20 and pdu_type == ASSOCIATE_RQ and len(value) >= 4:
            for sub_kind, sub in _items(value, 4):
                if sub_kind == 0x30:  # abstract syntax (§9.3.2.2.1)
                    uid = _text(sub)
                    requested.append(uid)
                    if len(contexts) < MAX_CONTEXTS:
                        contexts[value[0]] = uid
        elif kind == 0x21 and pdu_type == ASSOCIATE_AC and len(value) >= 4:
            if value[2] == 0 and value[0] in contexts:  # result 0: acceptance (§9.3.3.2)
                accepted.append(contexts[value[0]])
        elif kind == 0x50:
            _user_information(value, fields)
    uids = requested if pdu_type == ASSOCIATE_RQ else accepted
    fields["requested_sop_classes" if pdu_type == ASSOCIATE_RQ else "accepted_sop_classes"] = _names(uids)
    fields["phi_contexts"] = any(carries_phi(uid) for uid in uids)
    return fields


def parse_command(command: bytes) -> dict[str, Any]:
    """Command name, SOP class and status of a command set; every other element is skipped unread."""
    fields: dict[str, Any] = {}
    pos = 0
    while pos + 8 <= len(command):
        group, element, length = struct.unpack_from("<HHI", command, pos)
        value = command[pos + 8:pos + 8 + length]
        if group != 0 or len(value) != length:
            raise ParseError("dicom: command set element outside group 0000 or past its end")
        if element == COMMAND_FIELD and length == 2:
            code = struct.unpack("<H", value)[0]
            fields["command"] = COMMANDS.get(code, f"0x{code:04X}")
        elif element in (AFFECTED_SOP, REQUESTED_SOP) and "sop_class" not in fields:
            fields["sop_class"] = sop_class_name(_text(value))
        elif element == STATUS and length == 2:
            fields["status"] = struct.unpack("<H", value)[0]
        pos += 8 + length
    if "command" not in fields:
        raise ParseError("dicom: command set without Command Field (0000,0100)")
    return fields


def _reject(body: bytes, pdu_type: int) -> tuple[str, dict[str, Any]]:
    if len(body) != 4:
        raise ParseError("dicom: A-ASSOCIATE-RJ/A-ABORT body is not 4 bytes")
    if pdu_type == ASSOCIATE_RJ:
        return "associate_rj", {"result": RJ_RESULT.get(body[1], str(body[1])),
                                "source": RJ_SOURCE.get(body[2], str(body[2])), "reason": body[3]}
    return "abort", {"source": ABORT_SOURCE.get(body[2], str(body[2])), "reason": body[3]}


class DicomDissector(StreamDissector):
    name: ClassVar[str] = "dicom"
    tcp_ports: ClassVar[tuple[int, ...]] = (104, 11112)  # IANA "dicom" (104) and "dicom" 11112 (PS3.15)
    max_buffer: ClassVar[int] = HEADER + MAX_ASSOCIATE

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """An A-ASSOCIATE-RQ: type 1, protocol version 1, AE titles of printable ASCII (PS3.8 §9.3.2)."""
        if len(payload) < HEADER + 36 or payload[0] != ASSOCIATE_RQ or payload[1] != 0:
            return False
        length = struct.unpack_from(">I", payload, 2)[0]
        titles = payload[HEADER + 4:HEADER + 36]
        return (FIXED_ASSOCIATE <= length <= MAX_ASSOCIATE and payload[6:8] == b"\x00\x01"
                and all(0x20 <= b < 0x7F for b in titles))

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        key = streambuf.direction_key(pkt.to_server)
        out: list[Observation] = []
        try:
            while buf and not state.get("done"):
                if not self._step(pkt, buf, key, state, out):
                    break
            streambuf.bound(state, buf, self.max_buffer)
        except ParseError as exc:
            state["done"] = True
            raise streambuf.failed(exc, out) from None
        return out

    def _step(self, pkt: Packet, buf: bytearray, key: str, state: dict[str, Any], out: list[Observation]) -> bool:
        """Consume one thing at the head of ``buf``; False when more bytes are needed."""
        skip = state.get("skip_" + key, 0)
        if skip:  # the rest of a data set PDV, never read
            n = min(skip, len(buf))
            del buf[:n]
            state["skip_" + key] = skip - n
            return True
        if state.get("pdu_" + key, 0):
            return self._pdv(pkt, buf, key, state, out)
        if len(buf) < HEADER:
            return False
        pdu_type, length = buf[0], struct.unpack_from(">I", buf, 2)[0]
        if pdu_type == P_DATA_TF:
            if "requestor" not in state:
                raise ParseError("dicom: P-DATA-TF before an association")
            del buf[:HEADER]
            state["pdu_" + key] = length
            return True
        if pdu_type in (ASSOCIATE_RQ, ASSOCIATE_AC):
            if length > MAX_ASSOCIATE:
                raise ParseError(f"dicom: A-ASSOCIATE PDU over {MAX_ASSOCIATE} bytes")
        elif pdu_type in (ASSOCIATE_RJ, RELEASE_RQ, RELEASE_RP, ABORT):
            if length != 4:
                raise ParseError("dicom: fixed-size PDU with another length")
        else:
            raise ParseError(f"dicom: unknown PDU type 0x{pdu_type:02X}")
        if len(buf) < HEADER + length:
            return False
        body = bytes(buf[HEADER:HEADER + length])
        del buf[:HEADER + length]
        if pdu_type in (ASSOCIATE_RQ, ASSOCIATE_AC):
            fields = parse_associate(pdu_type, body, state.setdefault("contexts", {}))
            if pdu_type == ASSOCIATE_RQ:
                state["requestor"] = key
            out.append(pkt.observation(self.name, "associate_rq" if pdu_type == ASSOCIATE_RQ else "associate_ac",
                                       fields))
        elif pdu_type in (ASSOCIATE_RJ, ABORT):
            kind, fields = _reject(body, pdu_type)
            out.append(pkt.observation(self.name, kind, fields))
        else:
            confirm(state)
        return True

    def _pdv(self, pkt: Packet, buf: bytearray, key: str, state: dict[str, Any], out: list[Observation]) -> bool:
        """One PDV item of the P-DATA-TF this direction is inside (PS3.8 §9.3.5.1, Annex E.2)."""
        if len(buf) < 6:
            return False
        length, header = struct.unpack_from(">I", buf, 0)[0], buf[5]
        left = state["pdu_" + key]
        if length < 2 or length + 4 > left:
            raise ParseError("dicom: PDV item outside its P-DATA-TF")
        value = length - 2
        if not header & 0x01:  # a data set fragment: skipped unread (privacy, see the module docstring)
            del buf[:6]
            state["pdu_" + key] = left - 4 - length
            state["skip_" + key] = value
            confirm(state)
            return True
        if value > MAX_COMMAND:
            raise ParseError(f"dicom: command fragment over {MAX_COMMAND} bytes")
        if len(buf) < 6 + value:
            return False
        command = state.setdefault("command_" + key, bytearray())
        command += buf[6:6 + value]
        del buf[:6 + value]
        state["pdu_" + key] = left - 4 - length
        if len(command) > MAX_COMMAND:
            raise ParseError(f"dicom: command set over {MAX_COMMAND} bytes")
        if header & 0x02:  # the last fragment of the command set
            fields = parse_command(bytes(command))
            command.clear()
            fields["from_requestor"] = state.get("requestor") == key
            out.append(pkt.observation(self.name, "command", fields))
            state["commands"] = state.get("commands", 0) + 1
            if state["commands"] >= MAX_COMMANDS:
                state["done"] = True
        return True
