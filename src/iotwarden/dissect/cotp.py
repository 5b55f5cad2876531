"""ISO transport over TCP for the ISO-TSAP (tcp 102) dissectors: TPKT (RFC 1006 §6) and COTP class 0
(ISO 8073 / ITU-T X.224): framing, connection-request parameters and TSDU reassembly.

:class:`IsoTransportDissector` frames TPKTs, parses connection requests (X.224 §13.3) and reassembles
the user data of DT TPDUs (X.224 §13.7) into transport service data units (TSDUs, complete at the
EOT mark); subclasses say what a connection request and a TSDU mean (S7comm, MMS). The connection
request is held until the connection's first TSDU shows which application runs over it: S7 and MMS
share port 102 and their requests look alike (both carry calling/called TSAPs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.otstream import ResyncOnGap, collect, frames
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 102  # RFC 1006 §5: ISO-TSAP
MAX_TSDU = 65_536  # bytes of one TSDU reassembled from DT TPDUs (X.224 §13.7 EOT)
CR, CC, DT = 0xE0, 0xD0, 0xF0  # TPDU codes, X.224 §13.1 table 8 (high nibble)
CALLING_TSAP, CALLED_TSAP, TPDU_SIZE = 0xC1, 0xC2, 0xC0  # CR parameter codes, X.224 §13.3.4


def frame_length(buf: bytes) -> int | None:
    """Size of the TPKT at the head of ``buf`` (RFC 1006 §6: version 3, reserved, length)."""
    if len(buf) < 4:
        return None
    length = (buf[2] << 8) | buf[3]
    if buf[0] != 3 or length < 7:
        raise ParseError(f"not a TPKT header (version {buf[0]}, length {length})")
    return length


def cr_parameters(cotp: bytes) -> Iterator[tuple[int, bytes]]:
    """(code, value) of the variable part of a CR TPDU, after dst-ref, src-ref and class (X.224 §13.3.4)."""
    off = 7
    while off + 2 <= len(cotp):
        code, size = cotp[off], cotp[off + 1]
        value = cotp[off + 2 : off + 2 + size]
        if len(value) < size:
            raise ParseError("COTP parameter past the end of the TPDU")
        yield code, value
        off += 2 + size


def parse_cr(cotp: bytes) -> dict[str, Any]:
    """The application-neutral fields of a CR TPDU: ``src_tsap``, ``dst_tsap`` (hex), ``tpdu_size``."""
    fields: dict[str, Any] = {}
    for code, value in cr_parameters(cotp):
        if code == CALLING_TSAP:
            fields["src_tsap"] = value.hex()
        elif code == CALLED_TSAP:
            fields["dst_tsap"] = value.hex()
        elif code == TPDU_SIZE and len(value) == 1:  # 2**value octets
            fields["tpdu_size"] = 1 << min(value[0], 16)
    return fields


def cr_has_tsaps(payload: bytes) -> bool:
    """True when the TPKT ``payload`` is a CR TPDU carrying TSAP parameters (0xC1/0xC2, X.224 §13.3.4),
    as ISO-TSAP clients (S7, MMS) send; RDP's X.224 request (MS-RDPBCGR §2.2.1.1) has none."""
    end = min(len(payload), 5 + payload[4])  # the length indicator counts the bytes after itself
    pos = 11  # TPKT (4) + LI (1) + CR code (1) + dst-ref (2) + src-ref (2) + class (1)
    seen = set()
    while pos + 2 <= end:
        code, length = payload[pos], payload[pos + 1]
        seen.add(code)
        pos += 2 + length
    return CALLING_TSAP in seen or CALLED_TSAP in seen


def first_tsdu(payload: bytes) -> bytes | None:
    """The user data of the DT TPDU that opens the TPKT ``payload`` (a probe's view), else None."""
    if len(payload) < 8 or payload[:2] != b"\x03\x00" or payload[4] != 2 or payload[5] & 0xF0 != DT:
        return None
    return payload[7:]


def tsdu_key(to_server: bool) -> str:
    """State key of a direction's partial TSDU."""
    return "cotp_c2s" if to_server else "cotp_s2c"


class IsoTransportDissector(ResyncOnGap, StreamDissector):
    """TPKT/COTP framing; subclasses implement :meth:`connected` and :meth:`user_data`.

    Flow state: the framing buffers (:func:`~iotwarden.dissect.otstream.frames`), one partial TSDU
    per direction (at most :attr:`max_tsdu` bytes) and the held connection request (one packet).
    """

    max_tsdu: ClassVar[int] = MAX_TSDU
    tsdu_label: ClassVar[str] = "TSDU"  # what the error says is over the limit

    def connected(self, pkt: Packet, cotp: bytes, tsdu: bytes | None) -> Iterator[Observation]:
        """Observations of the connection request ``cotp`` sent in ``pkt``; ``tsdu`` is the
        connection's first TSDU (None when none came before the next connection request)."""
        raise NotImplementedError

    def user_data(self, pkt: Packet, tsdu: bytes, state: dict[str, Any]) -> Iterator[Observation]:
        """Observations of one complete TSDU of ``pkt``'s direction."""
        raise NotImplementedError

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        tpkts, error = frames(state, pkt.to_server, data, frame_length)
        return collect(tpkts, [error] if error else [], lambda tpkt: self._tpdu(pkt, tpkt, state))

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        super().gap(state, to_server)
        state.pop(tsdu_key(to_server), None)

    def _tpdu(self, pkt: Packet, tpkt: bytes, state: dict[str, Any]) -> Iterator[Observation]:
        cotp = tpkt[4:]
        if len(cotp) < 2 or cotp[0] + 1 > len(cotp):
            raise ParseError("COTP header past the end of the TPKT")
        code = cotp[1] & 0xF0
        if code == CR:
            held = state.pop("cr", None)
            if held is not None:  # a second request before any data: the first one is told as it is
                yield from self.connected(held[0], held[1], None)
            list(cr_parameters(cotp))  # a malformed request is counted now, not with the data after it
            state["cr"] = (pkt, cotp)
            return
        if code != DT or len(cotp) < 3:  # only data TPDUs carry user data
            return
        key = tsdu_key(pkt.to_server)
        partial = state.get(key, b"") + cotp[cotp[0] + 1 :]
        if len(partial) > self.max_tsdu:
            state.pop(key, None)
            raise ParseError(f"{self.tsdu_label} over {self.max_tsdu} bytes")
        if not cotp[2] & 0x80:  # EOT not set: more TPDUs follow
            state[key] = partial
            return
        state.pop(key, None)
        held = state.pop("cr", None)
        if held is not None:
            yield from self.connected(held[0], held[1], partial)
        yield from self.user_data(pkt, partial, state)
