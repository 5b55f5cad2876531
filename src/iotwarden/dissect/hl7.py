"""HL7 v2 over MLLP dissector (tcp/2575): the message header (MSH) and the device-identity rows of
each message, never patient data.

MLLP frames a message as 0x0B, the message, 0x1C 0x0D (HL7 v2.5.1 Appendix C.4.3); a message is
segments separated by CR, the first one MSH (HL7 v2.x §2.14.9). Read are MSH, the acknowledgement code
of MSA, and of OBX only the rows that identify a reporting device: PID, PV1, every other segment and
every observation value (OBX-5) may hold protected health information and are skipped unread.

Device rows (IHE PCD TF-2 §B.8, PCD-01 DEC and the IPEC infusion events): a Device Observation
Reporter states each device it reports as an OBX whose OBX-3 is an IEEE 11073-10101 device term
(``69985^MDC_DEV_PUMP_INFUS_MDS^MDC``: MDS, VMD or channel level), OBX-4 its place in the
containment tree (``<mds>.<vmd>.<chan>.<metric>``) and OBX-18 its Equipment Instance Identifier,
which IHE PCD recommends be an EUI-64. A row without OBX-18 belongs to the MDS row of its tree.

Dispatch is by probe only (the MLLP start byte and ``MSH``), on any port: IANA's hl7 port 2575 also
carries MLLP over TLS, which must stay the TLS dissector's.

Kinds (subject ``src``, the sender): ``message`` and ``ack`` (MSH-9 message type ACK). Fields:
``sending_application`` (MSH-3), ``sending_facility`` (MSH-4), ``receiving_application`` (MSH-5),
``receiving_facility`` (MSH-6), ``message_type`` (MSH-9, e.g. "ORU^R01^ORU_R01"), ``version`` (MSH-12),
``message_profile`` (MSH-21 entity identifiers, e.g. ["IHE_PCD_001"] for IHE PCD-01), and for an ack
``ack_code`` (MSA-1: AA, AE, AR, CA, CE, CR). MSH-3 as a Hierarchic Designator gives
``sending_application_uid`` (its Universal ID, HD.2) and ``sending_application_uid_type`` (HD.3, e.g.
"EUI-64"), and ``sender_mac`` when that ID is a MAC-derived EUI-64. A message with device rows has
``devices``: one record per distinct device row, in message order, each with ``term`` (the MDC reference
name, OBX-3.2, e.g. "MDC_DEV_PUMP_INFUS_MDS"), ``code`` (OBX-3.1, when numeric), ``level`` ("MDS", "VMD"
or "CHAN", from the term), ``equipment_id`` and ``equipment_id_type`` (OBX-18: the EI's Universal ID,
else its Entity Identifier, and the Universal ID Type; inherited from the row's MDS when empty), and
``mac`` when the identifier is a MAC-derived EUI-64 (IEEE "Guidelines for EUI-64": a MAC-48 or EUI-48
becomes an EUI-64 with FF-FF or FF-FE inserted after its OUI); rows past :data:`MAX_DEVICE_ROWS` are
counted in ``device_rows_dropped``. At most :data:`MAX_MESSAGES` observations per flow.

A lost segment (``gap``) costs its direction the block it was in, not the flow: the direction reads on from the next
block :func:`plausible` finds where one may begin (a segment start, or right after an end block), validated harder
than in sync (issues #3/#4). Each message is read on its own (an ACK names its message by MSA-2 and is not paired),
so an answer whose message was lost claims nothing of it.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

START, END = b"\x0b", b"\x1c\x0d"  # MLLP start block, end block + carriage return
MAX_MESSAGE = 256 * 1024  # bytes of one framed message; device observation batches are a few KB
MAX_MESSAGES = 32  # observations per flow: an interface link repeats the same header all day
MAX_TEXT = 128  # characters kept of one header field
MAX_PROFILES = 4  # MSH-21 repetitions kept
MAX_DEVICE_ROWS = 32  # device records kept per message: a gateway's batch reports a ward, not a hospital
MSH_FIELDS = {3: "sending_application", 4: "sending_facility", 5: "receiving_application",
              6: "receiving_facility", 9: "message_type", 12: "version"}
OBX_IDENTIFIER, OBX_SUB_ID, OBX_EQUIPMENT = 3, 4, 18  # OBX field numbers (HL7 v2.6 §7.4.2)
DEVICE_TERM = re.compile(r"MDC_DEV_[A-Z0-9_]{1,60}")  # IEEE 11073-10101 device (object partition) terms
LEVELS = ("MDS", "VMD", "CHAN")  # containment levels named by a term's last word (CHAN_* are channels)
EUI64 = "EUI-64"
_HEX16 = re.compile(r"[0-9A-Fa-f]{16}")


def eui64_mac(identifier: str) -> str | None:
    """The MAC-48 inside a MAC-derived EUI-64 ("5846E1FFFE500003" -> "58:46:e1:50:00:03"), else None.

    IEEE RA "Guidelines for Use of EUI, OUI, and CID": a MAC-48 maps to an EUI-64 with FF-FF inserted
    after the OUI, an EUI-48 with FF-FE; either way the six outer octets are the MAC.
    """
    text = identifier.replace("-", "").replace(":", "")
    if not _HEX16.fullmatch(text) or text[6:10].upper() not in ("FFFE", "FFFF"):
        return None
    octets = (text[:6] + text[10:]).lower()
    return ":".join(octets[i:i + 2] for i in range(0, 12, 2))


def _level(term: str) -> str | None:
    words = term.split("_")
    for word in reversed(words[2:]):
        if word in LEVELS:
            return word
    return None


def _equipment(field: str, component: str, repetition: str) -> tuple[str, str] | None:
    """(identifier, type) of an EI field (Entity ID ^ Namespace ^ Universal ID ^ Universal ID Type).

    The repetition typed EUI-64 wins; a short form ``<id>^EUI-64`` (type right after the ID) is read
    too, as device gateways send it.
    """
    best: tuple[str, str] | None = None
    for rep in field.split(repetition)[:4]:
        parts = [p.strip() for p in rep.split(component)[:4]]
        parts += [""] * (4 - len(parts))
        if parts[1].upper() == EUI64 and parts[0] and not parts[2]:  # <id>^EUI-64
            return parts[0][:MAX_TEXT], EUI64
        identifier = parts[2] or parts[0]
        if not identifier:
            continue
        kind = parts[3][:MAX_TEXT]
        if kind.upper() == EUI64:
            return identifier[:MAX_TEXT], EUI64
        if best is None:
            best = identifier[:MAX_TEXT], kind
    return best


def _device_rows(segments: list[str], separator: str, encoding: str) -> dict[str, Any]:
    """``devices`` (and ``device_rows_dropped``) from the OBX rows whose OBX-3 is an MDC device term."""
    component, repetition = encoding[0], encoding[1]
    records: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    mds_ids: dict[str, tuple[str, str]] = {}  # containment tree (OBX-4's first number) -> MDS identifier
    dropped = 0
    for segment in segments:
        if not segment.startswith("OBX" + separator):
            continue
        obx = segment.split(separator, OBX_EQUIPMENT + 1)  # fields past OBX-18 are never split
        if len(obx) <= OBX_IDENTIFIER:
            continue
        coded = obx[OBX_IDENTIFIER].split(repetition)[0].split(component)
        term = coded[1].strip() if len(coded) > 1 else ""
        if not DEVICE_TERM.fullmatch(term):
            continue
        tree = obx[OBX_SUB_ID].split(".")[0].strip() if len(obx) > OBX_SUB_ID else ""
        level = _level(term)
        equipment = _equipment(obx[OBX_EQUIPMENT], component, repetition) if len(obx) > OBX_EQUIPMENT else None
        if equipment is None:
            equipment = mds_ids.get(tree)
        elif level == "MDS":
            mds_ids[tree] = equipment
        key = (term, *(equipment or ("", "")))
        if key in seen:
            continue
        seen.add(key)
        if len(records) >= MAX_DEVICE_ROWS:
            dropped += 1
            continue
        record: dict[str, Any] = {"term": term}
        code = coded[0].strip()
        if code.isascii() and code.isdigit() and len(code) <= 10:
            record["code"] = code
        if level is not None:
            record["level"] = level
        if equipment is not None:
            record["equipment_id"], kind = equipment
            if kind:
                record["equipment_id_type"] = kind
            mac = eui64_mac(equipment[0])
            if mac is not None:
                record["mac"] = mac
        records.append(record)
    out: dict[str, Any] = {}
    if records:
        out["devices"] = records
    if dropped:
        out["device_rows_dropped"] = dropped
    return out


def parse_message(message: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one HL7 v2 message (without MLLP framing); ParseError if there is no MSH."""
    if not message.startswith(b"MSH") or len(message) < 8:
        raise ParseError("hl7: message does not start with an MSH segment")
    text = message.decode("latin-1")  # MSH-18 may name another character set; the header is ASCII
    separator, encoding = text[3], text[4:8]
    if separator.isalnum() or separator in "\r\n" or len(set(encoding)) != 4 or separator in encoding:
        raise ParseError("hl7: MSH-1/MSH-2 are not separator and encoding characters")
    segments = text.replace("\n", "\r").split("\r")  # CR ends a segment; LF-only feeds are common enough
    msh = segments[0].split(separator)
    fields: dict[str, Any] = {}
    for number, name in MSH_FIELDS.items():
        if number - 1 < len(msh) and msh[number - 1]:
            fields[name] = msh[number - 1][:MAX_TEXT]
    component, repetition = encoding[0], encoding[1]
    if len(msh) > 20 and msh[20]:  # MSH-21: repetitions of an entity identifier, its first component
        fields["message_profile"] = [r.split(component)[0][:MAX_TEXT] for r in msh[20].split(repetition)
                                     if r][:MAX_PROFILES]
    if "message_type" not in fields:
        raise ParseError("hl7: MSH without message type (MSH-9)")
    app = msh[2].split(component) if len(msh) > 2 else []  # MSH-3 HD: namespace ^ universal ID ^ its type
    if len(app) > 1 and app[1].strip():
        fields["sending_application_uid"] = app[1].strip()[:MAX_TEXT]
        if len(app) > 2 and app[2].strip():
            fields["sending_application_uid_type"] = app[2].strip()[:MAX_TEXT]
        mac = eui64_mac(app[1].strip())
        if mac is not None:
            fields["sender_mac"] = mac
    kind = "ack" if fields["message_type"].split(component)[0] == "ACK" else "message"
    if kind == "ack":
        msa = next((s.split(separator) for s in segments[1:] if s.startswith("MSA")), None)
        if msa is not None and len(msa) > 1:
            fields["ack_code"] = msa[1][:2]
    else:
        fields.update(_device_rows(segments[1:], separator, encoding))
    return kind, fields


RESYNC_STATE_KEY = "resync_"  # + direction key: past a gap, looking for the next block (plausible)
_HEAD = START + b"MSH|"  # what a block found past a gap begins with: MLLP's start block and MSH with separator "|"


def plausible(buf: bytearray, at: int) -> bool | None:
    """Whether an MLLP block found past a gap begins at ``at`` of ``buf`` (streambuf.resync's judge): True, a
    whole block validated harder than one read in sync (the start block, MSH with the field separator "|" that
    HL7 v2.x §2.5.4 recommends, no other start block before its end, the message parsed); None, one may begin
    there but is not whole yet (within MAX_MESSAGE); False, none."""
    head = bytes(buf[at : at + len(_HEAD)])
    if not _HEAD.startswith(head):
        return False
    end = buf.find(END, at)
    if len(head) < len(_HEAD) or end < 0:
        return None if len(buf) - at <= MAX_MESSAGE else False
    if end - at > MAX_MESSAGE or buf.find(START, at + 1, end) >= 0:
        return False
    try:
        parse_message(bytes(buf[at + 1 : end]))
    except ParseError:
        return False
    return True


class Hl7Dissector(StreamDissector):
    name: ClassVar[str] = "hl7"
    tcp_ports: ClassVar[tuple[int, ...]] = ()  # probe only: TLS-wrapped HL7 uses 2575 too
    # between feeds a direction holds at most an incomplete block and the first byte of its end
    max_buffer: ClassVar[int] = MAX_MESSAGE + 1

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return payload.startswith(START + b"MSH")

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """Bytes of a direction were lost: drop its partial block and look for its next one (:func:`plausible`)
        where a segment begins or an end block ends; the other direction reads on."""
        key = streambuf.direction_key(to_server)
        state.pop(key, None)
        state[RESYNC_STATE_KEY + key] = True

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        key = streambuf.direction_key(pkt.to_server)
        if state.get(RESYNC_STATE_KEY + key):
            starts = {0, len(buf) - len(data)}
            pos = buf.find(END)
            while pos >= 0:
                starts.add(pos + len(END))
                pos = buf.find(END, pos + 1)
            # a block may begin where the buffer or this delivery does, or after an end block, whose first byte
            # may end this delivery
            if not streambuf.resync(buf, starts, lambda at: plausible(buf, at), int(buf.endswith(END[:1]))):
                return out
            state[RESYNC_STATE_KEY + key] = False
        error: ParseError | None = None  # a malformed message: the blocks after it are still read
        try:
            while not state.get("done"):
                end = buf.find(END)
                if end > MAX_MESSAGE:
                    state["done"] = True
                    raise ParseError(f"hl7: MLLP block over {MAX_MESSAGE} bytes")
                if end < 0:
                    if buf and not buf.startswith(START):
                        state["done"] = True
                        raise ParseError("hl7: data outside an MLLP block")
                    streambuf.bound(state, buf, self.max_buffer)
                    break
                block = bytes(buf[:end])
                del buf[: end + len(END)]
                if not block.startswith(START):
                    state["done"] = True
                    raise ParseError("hl7: MLLP block without its start byte")
                try:
                    kind, fields = parse_message(block[1:])
                except ParseError as exc:
                    error = error or exc
                    continue
                out.append(pkt.observation(self.name, kind, fields))
                state["messages"] = state.get("messages", 0) + 1
                if state["messages"] >= MAX_MESSAGES:
                    state["done"] = True
        except ParseError as exc:  # the framing broke (the flow is done)
            raise streambuf.failed(exc, out) from None
        if error is not None:
            raise streambuf.failed(error, out)
        return out
