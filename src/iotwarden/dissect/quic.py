"""QUIC dissector: the TLS ClientHello (and ServerHello) a QUIC connection carries in its Initial packets.

QUIC (RFC 9000) carries TLS 1.3's handshake in CRYPTO frames (RFC 9001 §4) inside Initial packets whose
keys derive from the client's first Destination Connection ID, so any observer can open them
(:mod:`iotwarden.dissect.quicinitial`). Kinds and fields (subject ``src``) are the TLS dissector's
(:mod:`iotwarden.dissect.tls`), read by the same parsers (:mod:`iotwarden.dissect.tlshello`):

* ``client_hello``: ``sni``, ``alpn``, ``versions``, ``cipher_suites``, ``extensions``, ... ``ja3``,
  ``ja4`` with JA4's transport ``q`` (FoxIO JA4.md "QUIC"); ``record_version`` is None (no records);
* ``server_hello``: ``version``, ``cipher_suite``, ``alpn``, ``ja3s``, ``ja4s`` (``q``);

each plus ``quic_version`` ("1", "2" for RFC 9369, "draft-29"). A ClientHello may span several Initial
packets and its CRYPTO frames may come in any order (Chrome splits and shuffles them): each direction
reassembles its CRYPTO stream up to :data:`MAX_CRYPTO_BYTES` from at most :data:`MAX_INITIAL_PACKETS`
Initial packets. Datagrams may hold coalesced packets (RFC 9000 §12.2). Dissection of a flow ends
(``state["done"]``) once both hellos are read, the server sent :data:`MAX_SERVER_DATAGRAMS` datagrams
after the ClientHello without its ServerHello, a short-header (1-RTT) packet shows the handshake is over,
or the flow is not QUIC: later packets (all of a connection's data) then cost the engine nothing. An
Initial that authenticates confirms the flow (``base.confirm``); a flow seen only after its handshake
(short headers) or in a version not opened here names no application.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import quicinitial as qi
from iotwarden.dissect import streambuf, tlshello
from iotwarden.dissect.base import Dissector, Packet, confirm
from iotwarden.dissect.memo import MEMO_ENTRIES, Memo, memoised
from iotwarden.errors import ParseError
from iotwarden.model import Observation

# Limits (STYLE 7). A ClientHello with a post-quantum key share (X25519MLKEM768, 1216 bytes) spans two
# or three Initial packets; a few more allow for retransmissions and Initials that only acknowledge
MAX_INITIAL_PACKETS = 6  # Initial packets opened per direction while its hello is incomplete
MAX_CRYPTO_BYTES = 16 * 1024  # CRYPTO stream bytes kept per direction: the hello must end within them
MAX_FRAGMENTS = 64  # distinct CRYPTO frames kept per direction
MAX_SERVER_DATAGRAMS = 4  # server datagrams after the ClientHello that may still bring its ServerHello
MAX_KEYS = 4  # (side, connection ID) Initial key sets kept per flow

HS_CLIENT_HELLO, HS_SERVER_HELLO = 1, 2  # RFC 8446 §4


class QuicDissector(Dissector):
    name: ClassVar[str] = "quic"
    # HTTP/3 (RFC 9114 §3.1: the "https" port 443) and DNS over QUIC (RFC 9250 §4.1.1: udp/853)
    udp_ports: ClassVar[tuple[int, ...]] = (443, 853)
    max_packets_per_flow: ClassVar[int | None] = 2 * MAX_INITIAL_PACKETS + MAX_SERVER_DATAGRAMS + 8

    def __init__(self, memo_entries: int = MEMO_ENTRIES) -> None:
        self.memo = Memo(memo_entries)  # hello fields by content (tlshello's keys), as the TLS dissector

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A client's first Initial of a version opened here: a long header with the fixed bit, an Initial
        type, a DCID of 8-20 bytes (RFC 9000 §7.2) in a datagram of at least 1200 bytes (§14.1)."""
        if not to_server or len(payload) < qi.MIN_CLIENT_DATAGRAM or payload[0] & 0xC0 != 0xC0:
            return False
        version = qi.VERSIONS.get(int.from_bytes(payload[1:5], "big"))
        return (version is not None and version.types[(payload[0] >> 4) & 0x03] == qi.INITIAL
                and qi.MIN_CLIENT_DCID <= payload[5] <= qi.MAX_CID)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        data = pkt.payload
        side = "c" if pkt.to_server else "s"
        out: list[Observation] = []
        try:
            self._datagram(pkt, data, side, state, out)
        except ParseError as exc:
            if "odcid" not in state:  # nothing of this flow was QUIC: give it up, rejected
                state["done"] = True
            raise streambuf.failed(exc, out) from None
        finally:
            if not state.get("done"):
                self._settle(side, state)
        return out

    def _datagram(self, pkt: Packet, data: bytes, side: str, state: dict[str, Any], out: list[Observation]) -> None:
        pos = 0
        while pos < len(data):
            first = data[pos]
            if not first & 0x80:  # a short header (1-RTT), or zero bytes padding the datagram
                if pos == 0:
                    # RFC 9000 §17.3.1: the fixed bit is 1; Google QUIC before Q046 (no fixed bit) is QUIC
                    # in a version not opened here, as Q046 and Q050 are (their long headers, below)
                    if "odcid" not in state and not first & 0x40 and not _gquic_public_header(data):
                        raise ParseError(f"quic: first byte 0x{first:02x} is no QUIC header")
                    state["done"] = True  # the handshake is over, or the capture began after it
                return
            header = qi.parse_long_header(data, pos)
            if header.kind in ("", qi.VERSION_NEGOTIATION):  # a version not opened here; Version Negotiation
                if "odcid" not in state:
                    if header.kind == "" and not first & 0x40:
                        raise ParseError(f"quic: first byte 0x{first:02x} is no QUIC header")
                    state["done"] = True  # a client then starts anew with another version (RFC 9000 §6.2)
                return
            if header.kind == qi.INITIAL:
                self._initial(pkt, data, header, side=side, state=state, out=out)
            elif header.kind == qi.RETRY and side == "s" and "odcid" in state:
                # the client's next Initials go to the Retry's SCID, and both sides' Initial keys derive
                # from it (RFC 9000 §17.2.5.2, RFC 9001 §5.2)
                state["odcid"] = header.scid
            pos = header.end  # Handshake and 0-RTT packets are skipped; a Retry fills its datagram

    def _initial(self, pkt: Packet, data: bytes, header: qi.LongHeader, *, side: str, state: dict[str, Any],
                 out: list[Observation]) -> None:
        direction: dict[str, Any] = state.setdefault(side, {"frags": {}, "size": 0, "opened": 0, "pn": -1})
        if direction.get("hello"):
            return  # its hello is read: later Initials (acknowledgements, retransmissions) are not opened
        version = qi.VERSIONS[header.version]
        if "odcid" not in state and side == "s":
            return  # a server Initial before any client Initial: its keys are unknown
        if "version" in state and version.number != state["version"]:
            return
        if direction["opened"] >= MAX_INITIAL_PACKETS:
            state["done"] = True
            raise ParseError(f"quic: hello not complete within {MAX_INITIAL_PACKETS} Initial packets")
        direction["opened"] += 1
        pn, payload = self._open(data, header, side=side, version=version, state=state, largest_pn=direction["pn"])
        confirm(state)  # it authenticated under the Initial keys: QUIC, whether or not a hello is complete yet
        direction["pn"] = max(direction["pn"], pn)
        for offset, fragment in qi.crypto_fragments(payload):
            _keep(direction, offset, fragment)
        message = _message(direction, HS_CLIENT_HELLO if side == "c" else HS_SERVER_HELLO)
        if message is None:
            return
        direction["hello"] = True
        direction["frags"] = {}
        if side == "c":
            key = tlshello.client_hello_key(message)
            fields = memoised(self.memo, None if key is None else b"c" + key, tlshello.client_hello, message,
                              None, "q")
            kind = "client_hello"
        else:
            key = tlshello.server_hello_key(message)
            fields = memoised(self.memo, None if key is None else b"s" + key, tlshello.server_hello, message, "q")
            kind = "server_hello"
        fields["quic_version"] = version.name
        out.append(pkt.observation(self.name, kind, fields))

    def _open(self, data: bytes, header: qi.LongHeader, *, side: str, version: qi.QuicVersion,
              state: dict[str, Any], largest_pn: int) -> tuple[int, bytes]:
        """Open an Initial with the keys of the client's first DCID (RFC 9001 §5.2), learnt from the
        first client Initial that opens. When those fail on a client Initial, its own DCID is tried: the
        keys a client derives anew after a Retry (RFC 9000 §17.2.5.2) the capture missed."""
        known = state.get("odcid")
        candidates = [known] if known is not None else []
        if side == "c" and header.dcid != known:
            candidates.append(header.dcid)
        error = ParseError("quic: no Initial keys")
        for dcid in candidates:
            try:
                opened = qi.open_packet(data, header, self._keys(state, version, side, dcid), largest_pn)
            except ParseError as exc:
                error = exc
                continue
            state["odcid"], state["version"] = dcid, version.number
            return opened
        raise error

    @staticmethod
    def _keys(state: dict[str, Any], version: qi.QuicVersion, side: str, dcid: bytes) -> qi.InitialKeys:
        keys: dict[tuple[str, bytes], qi.InitialKeys] = state.setdefault("keys", {})
        found = keys.get((side, dcid))
        if found is None:
            if len(keys) >= MAX_KEYS:
                keys.clear()
            found = keys[(side, dcid)] = qi.initial_keys(version, dcid, server=side == "s")
        return found

    @staticmethod
    def _settle(side: str, state: dict[str, Any]) -> None:
        """Ends the flow once nothing more of interest can come (module docstring)."""
        client = state.get("c", {})
        if not client.get("hello"):
            return
        if side == "s":
            state["server_datagrams"] = state.get("server_datagrams", 0) + 1
        if state.get("s", {}).get("hello") or state.get("server_datagrams", 0) >= MAX_SERVER_DATAGRAMS:
            state["done"] = True


def _gquic_public_header(data: bytes) -> bool:
    """A client's Google QUIC packet with the public header of versions up to Q043 (Chromium's "QUIC Wire
    Layout Specification", Public Header, which Wireshark's packet-gquic.c follows): public flags with
    PUBLIC_FLAG_VERSION (0x01) and an 8-byte connection ID (0x08), neither 0x80 (unused, 0) nor 0x40 (reserved)
    set, then the version tag 'Q0' and two digits after the connection ID, where the DPD signature of Salesforce's
    GQUIC_Protocol_Analyzer for Zeek finds it (scripts/Salesforce/GQUIC/dpd.sig: ``^(.{1}|.{9})Q0[0-9][0-9]``)."""
    return (len(data) >= 13 and data[0] & 0xC9 == 0x09 and data[9:11] == b"Q0"
            and 0x30 <= data[11] <= 0x39 and 0x30 <= data[12] <= 0x39)


def _keep(direction: dict[str, Any], offset: int, fragment: bytes) -> None:
    """Keep one CRYPTO frame's bytes, clipped to :data:`MAX_CRYPTO_BYTES`; duplicates cost nothing."""
    fragment = fragment[: max(0, MAX_CRYPTO_BYTES - offset)]
    frags: dict[int, bytes] = direction["frags"]
    if not fragment or len(frags.get(offset, b"")) >= len(fragment):
        return
    if offset not in frags and len(frags) >= MAX_FRAGMENTS:
        raise ParseError(f"quic: more than {MAX_FRAGMENTS} CRYPTO frames")
    if direction["size"] + len(fragment) > 2 * MAX_CRYPTO_BYTES:  # overlapping frames may repeat bytes
        raise ParseError(f"quic: CRYPTO frames over {2 * MAX_CRYPTO_BYTES} bytes")
    direction["size"] += len(fragment) - len(frags.get(offset, b""))
    frags[offset] = fragment


def _message(direction: dict[str, Any], expected: int) -> bytes | None:
    """The body of the first handshake message once the CRYPTO stream holds it from offset 0 (frames
    may overlap and come in any order, RFC 9000 §19.6), else None. ParseError when it is not the
    ``expected`` hello or cannot fit :data:`MAX_CRYPTO_BYTES`."""
    stream = bytearray()
    for offset, fragment in sorted(direction["frags"].items()):
        if offset > len(stream):
            break
        stream += fragment[len(stream) - offset :]
    if not stream:
        return None
    if stream[0] != expected:
        raise ParseError(f"quic: CRYPTO stream starts with handshake type {stream[0]}, not {expected}")
    if len(stream) < 4:
        return None
    length = int.from_bytes(stream[1:4], "big")
    if 4 + length > MAX_CRYPTO_BYTES:
        raise ParseError(f"quic: hello of {length} bytes over {MAX_CRYPTO_BYTES}")
    return bytes(stream[4 : 4 + length]) if len(stream) >= 4 + length else None
