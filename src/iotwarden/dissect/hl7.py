"""HL7 v2 over MLLP dissector (tcp/2575): the message header (MSH) of each message, never patient data.

MLLP frames a message as 0x0B, the message, 0x1C 0x0D (HL7 v2.5.1 Appendix C.4.3); a message is
segments separated by CR, the first one MSH (HL7 v2.x §2.14.9). Only MSH and the acknowledgement code
of MSA are read: PID, OBX and every other segment may hold protected health information and are skipped.

Dispatch is by probe only (the MLLP start byte and ``MSH``), on any port: IANA's hl7 port 2575 also
carries MLLP over TLS, which must stay the TLS dissector's.

Kinds (subject ``src``, the sender): ``message`` and ``ack`` (MSH-9 message type ACK). Fields:
``sending_application`` (MSH-3), ``sending_facility`` (MSH-4), ``receiving_application`` (MSH-5),
``receiving_facility`` (MSH-6), ``message_type`` (MSH-9, e.g. "ORU^R01^ORU_R01"), ``version`` (MSH-12),
``message_profile`` (MSH-21 entity identifiers, e.g. ["IHE_PCD_001"] for IHE PCD-01), and for an ack
``ack_code`` (MSA-1: AA, AE, AR, CA, CE, CR). At most :data:`MAX_MESSAGES` observations per flow.
"""

from __future__ import annotations

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
MSH_FIELDS = {3: "sending_application", 4: "sending_facility", 5: "receiving_application",
              6: "receiving_facility", 9: "message_type", 12: "version"}


def parse_message(message: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, header fields) of one HL7 v2 message (without MLLP framing); ParseError if there is no MSH."""
    if not message.startswith(b"MSH") or len(message) < 8:
        raise ParseError("hl7: message does not start with an MSH segment")
    text = message.decode("latin-1")  # MSH-18 may name another character set; the header is ASCII
    separator, encoding = text[3], text[4:8]
    if separator.isalnum() or separator in "\r\n" or len(set(encoding)) != 4:
        raise ParseError("hl7: MSH-1/MSH-2 are not separator and encoding characters")
    segments = text.split("\r")
    msh = segments[0].split(separator)
    fields: dict[str, Any] = {}
    for number, name in MSH_FIELDS.items():
        if number - 1 < len(msh) and msh[number - 1]:
            fields[name] = msh[number - 1][:MAX_TEXT]
    if len(msh) > 20 and msh[20]:  # MSH-21: repetitions of an entity identifier, its first component
        component, repetition = encoding[0], encoding[1]
        fields["message_profile"] = [r.split(component)[0][:MAX_TEXT] for r in msh[20].split(repetition)
                                     if r][:MAX_PROFILES]
    if "message_type" not in fields:
        raise ParseError("hl7: MSH without message type (MSH-9)")
    kind = "ack" if fields["message_type"].split(encoding[0])[0] == "ACK" else "message"
    if kind == "ack":
        msa = next((s.split(separator) for s in segments[1:] if s.startswith("MSA")), None)
        if msa is not None and len(msa) > 1:
            fields["ack_code"] = msa[1][:2]
    return kind, fields


class Hl7Dissector(StreamDissector):
    name: ClassVar[str] = "hl7"
    tcp_ports: ClassVar[tuple[int, ...]] = ()  # probe only: TLS-wrapped HL7 uses 2575 too
    max_buffer: ClassVar[int] = MAX_MESSAGE

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return payload.startswith(START + b"MSH")

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        while not state.get("done"):
            end = buf.find(END)
            if end < 0:
                if buf and not buf.startswith(START):
                    state["done"] = True
                    raise ParseError("hl7: data outside an MLLP block")
                break
            block = bytes(buf[:end])
            del buf[: end + len(END)]
            if not block.startswith(START):
                state["done"] = True
                raise ParseError("hl7: MLLP block without its start byte")
            kind, fields = parse_message(block[1:])
            out.append(pkt.observation(self.name, kind, fields))
            state["messages"] = state.get("messages", 0) + 1
            if state["messages"] >= MAX_MESSAGES:
                state["done"] = True
        return out
