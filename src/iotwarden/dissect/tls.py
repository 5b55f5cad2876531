"""TLS dissector: the cleartext handshake of TLS 1.0-1.3 over TCP (record layer RFC 8446 §5.1).

Kinds and fields (subject ``src``: the client for its hello, the server for its hello and chain):

* ``client_hello`` (RFC 8446 §4.1.2): ``sni`` (RFC 6066 §3), ``alpn`` (RFC 7301 §3.1, list),
  ``versions`` (text, supported_versions RFC 8446 §4.2.1 else legacy_version), ``record_version``,
  ``cipher_suites``, ``extensions`` (ids in wire order), ``signature_algorithms`` (§4.2.3),
  ``supported_groups`` (§4.2.7), ``ec_point_formats`` (RFC 8422 §5.1.2), ``ja3``, ``ja3_string``,
  ``ja4``, ``ja4_r`` (see :mod:`iotwarden.dissect.ja4`); ``tunnel``, only on a hello read in an HTTP CONNECT
  tunnel: the CONNECT's target (host:port), the connection's far end being the proxy (dissect/httptunnel.py,
  which reports a tunnel's client hello and client certificate only).
* ``server_hello`` (§4.1.3): ``version`` (selected), ``cipher_suite``, ``extensions``, ``alpn``,
  ``ja3s``, ``ja3s_string``, ``ja4s``, ``ja4s_r``.
* ``certificate`` (RFC 5246 §7.4.2, TLS <= 1.2 only: TLS 1.3 encrypts it): ``certs`` (list, leaf
  first, fields of :func:`iotwarden.dissect.x509info.describe`), ``cert_count``, ``cert_errors``.

Dissection ends (``state["done"]``) once the server's hello and certificate are seen, or the server
switches to encrypted records (TLS 1.3, resumption). A lost segment (``gap``) costs its direction the record and
handshake message it was in: that direction then reads on from the next record :func:`plausible` finds where a
segment begins, validated harder than one read in sync (issues #3/#4). QUIC's TLS (RFC 9001) is not handled here.
Hellos (less what each connection draws afresh) and certificates recur across connections: each dissector
keeps one bounded :class:`~iotwarden.dissect.memo.Memo` of their fields (``memo_entries``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import streambuf, tlshello, x509info
from iotwarden.dissect.base import Packet, StreamDissector, confirm, safety_net
from iotwarden.dissect.memo import MEMO_ENTRIES, Memo, memoised
from iotwarden.errors import ParseError
from iotwarden.model import Observation

# record content types, RFC 8446 §5.1 / RFC 5246 §6.2.1
CT_CHANGE_CIPHER_SPEC = 20
CT_ALERT = 21
CT_HANDSHAKE = 22
CT_APPLICATION_DATA = 23
CT_HEARTBEAT = 24  # RFC 6520 §3
_CONTENT_TYPES = frozenset({CT_CHANGE_CIPHER_SPEC, CT_ALERT, CT_HANDSHAKE, CT_APPLICATION_DATA, CT_HEARTBEAT})

# handshake types, RFC 8446 §4 / RFC 5246 §7.4
HS_HELLO_REQUEST = 0
HS_CLIENT_HELLO = 1
HS_SERVER_HELLO = 2
HS_CERTIFICATE = 11
HS_SERVER_HELLO_DONE = 14
# every HandshakeType of RFC 8446 §4 and RFC 5246 §7.4, and certificate_status (RFC 6066 §8): what a handshake
# record found past a gap may begin with (hello_request and server_hello_done have empty bodies, RFC 5246 §7.4.1.1,
# §7.4.5)
_HANDSHAKE_TYPES = frozenset({HS_HELLO_REQUEST, HS_CLIENT_HELLO, HS_SERVER_HELLO, 4, 5, 8, HS_CERTIFICATE, 12, 13,
                              HS_SERVER_HELLO_DONE, 15, 16, 20, 22, 24})
_EMPTY_HANDSHAKES = frozenset({HS_HELLO_REQUEST, HS_SERVER_HELLO_DONE})

MAX_RECORD = 2**14 + 2048  # RFC 5246 §6.2.3: TLSCiphertext.length limit
MAX_PLAINTEXT = 2**14  # RFC 8446 §5.1 / RFC 5246 §6.2.1: TLSPlaintext.length limit (handshake, alert, CCS)
MAX_CIPHERTEXT_13 = 2**14 + 256  # RFC 8446 §5.2: TLSCiphertext.length limit, what AEAD records stay within
MAX_HANDSHAKE_MESSAGE = 64 * 1024  # largest handshake message reassembled (certificate chains)
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): the client's hello and the server's
# hello and Certificate message, each reassembled up to MAX_HANDSHAKE_MESSAGE (chains of 4-5 certificates are
# 10-20 KB); the 40-packet cap it replaces read ~58 KB of full-size segments, but a ClientHello in 1-byte segments
# only in part
MAX_STREAM_BYTES = 2 * MAX_HANDSHAKE_MESSAGE
TLS13 = 0x0304
RESYNC_STATE_KEY = "resync_"  # + direction key: past a gap, looking for the next record (plausible)


def _header(buf: bytearray, at: int) -> tuple[int, int] | None:
    """The content type and length of a record header at ``at`` (RFC 8446 §5.1: a known ContentType, legacy
    version 0x0300-0x0304), None when there is none."""
    ctype, major, minor = buf[at], buf[at + 1], buf[at + 2]
    if ctype not in _CONTENT_TYPES or major != 3 or minor > 4:
        return None
    return ctype, int.from_bytes(buf[at + 3 : at + 5], "big")


def plausible(buf: bytearray, at: int) -> bool | None:
    """Whether a record found past a gap begins at ``at`` of ``buf`` (streambuf.resync's judge): True, a whole
    record validated harder than one read in sync; None, one may begin there but is not whole yet (at most
    10 + MAX_CIPHERTEXT_13 bytes); False, none. A handshake record within MAX_PLAINTEXT whose fragment is a
    sequence of messages of known HandshakeType, each within MAX_HANDSHAKE_MESSAGE, the last one possibly
    continued in the next record (so a record carrying the middle of a message is not taken for one, nor a
    certificate read out of another); a ChangeCipherSpec of its one byte 1 (RFC 5246 §7.1); an alert of level 1
    or 2 (§7.2); application data within MAX_CIPHERTEXT_13 followed by another plausible record header, a lone
    look-alike header among encrypted bytes not being one."""
    if len(buf) - at < 5:
        return None
    head = _header(buf, at)
    if head is None:
        return False
    ctype, length = head
    if ctype == CT_APPLICATION_DATA:
        if not 0 < length <= MAX_CIPHERTEXT_13:
            return False
        nxt = at + 5 + length
        if len(buf) < nxt + 5:
            return None
        follow = _header(buf, nxt)
        return follow is not None and follow[1] <= MAX_RECORD
    if not 0 < length <= MAX_PLAINTEXT or ctype == CT_HEARTBEAT:
        return False
    if len(buf) - at < 5 + length:
        return None
    frag = buf[at + 5 : at + 5 + length]
    if ctype == CT_CHANGE_CIPHER_SPEC:
        return frag == b"\x01"
    if ctype == CT_ALERT:
        return length == 2 and frag[0] in (1, 2)
    pos = 0
    while pos < length:
        if length - pos < 4:
            return False  # a message header cut by the record: not taken past a gap
        msg_type, size = frag[pos], int.from_bytes(frag[pos + 1 : pos + 4], "big")
        if msg_type not in _HANDSHAKE_TYPES or size > MAX_HANDSHAKE_MESSAGE or (
                msg_type in _EMPTY_HANDSHAKES and size):
            return False
        pos += 4 + size
    return True


class TlsDissector(StreamDissector):
    name: ClassVar[str] = "tls"
    tcp_ports: ClassVar[tuple[int, ...]] = (443, 8443, 993, 995, 465, 636, 853, 5061, 8883, 5671)
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    # between feeds a direction holds less than one record (its header's length is checked first)
    max_buffer: ClassVar[int] = 5 + MAX_RECORD

    def __init__(self, memo_entries: int = MEMO_ENTRIES) -> None:
        # hello fields and certificate summaries by content; 0 turns the memo off
        self.memo = Memo(memo_entries)

    def _describe(self, der: bytes) -> dict[str, Any]:
        return memoised(self.memo, b"x" + der, x509info.describe, der)  # type: ignore[no-any-return]

    def _certificate(self, body: bytes) -> dict[str, Any]:
        # a server sends the same chain to every client: its whole summary by content, one replay (a new
        # chain's certificates are still described through _describe, one by one)
        return memoised(self.memo, b"C" + body, tlshello.certificate, body,  # type: ignore[no-any-return]
                        self._describe)

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A handshake record header: 0x16 0x03 0x00-0x04 (RFC 8446 §5.1)."""
        return len(payload) >= 6 and payload[0] == CT_HANDSHAKE and payload[1] == 3 and payload[2] <= 4

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """Bytes of a direction were lost: drop its partial record and handshake message and look for its next
        record where a segment begins (:func:`plausible`); the other direction reads on."""
        key = streambuf.direction_key(to_server)
        state.pop(key, None)
        state.pop("hs_" + key, None)
        if not state.get("enc_" + key):
            state[RESYNC_STATE_KEY + key] = True

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        if state.get("done") or state.get("enc_" + key):
            return []
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        if state.get(RESYNC_STATE_KEY + key):
            # a record may begin where the buffer or this delivery does (a segment start); a candidate not whole
            # yet is within max_buffer (plausible)
            if not streambuf.resync(buf, (0, len(buf) - len(data)), lambda at: plausible(buf, at)):
                return []
            state[RESYNC_STATE_KEY + key] = False
        out: list[Observation] = []
        error: ParseError | None = None  # a malformed handshake message: the records after it are still read
        while len(buf) >= 5:
            ctype, major, minor, length = buf[0], buf[1], buf[2], int.from_bytes(buf[3:5], "big")
            if ctype not in _CONTENT_TYPES or major != 3 or minor > 4 or length > MAX_RECORD:
                state["done"] = True
                raise streambuf.failed(ParseError(f"not a TLS record header: {bytes(buf[:5]).hex()}"), out)
            if len(buf) < 5 + length:
                break
            fragment = bytes(buf[5 : 5 + length])
            del buf[: 5 + length]
            confirm(state)  # a whole record under a valid header: TLS, even mid-connection (engine naming)
            if ctype == CT_HANDSHAKE:
                try:
                    self._handshake(pkt, key, (major << 8) | minor, fragment, state, out=out)
                except ParseError as exc:
                    if state.get("done"):
                        raise streambuf.failed(exc, out) from None
                    error = error or exc
            elif ctype in (CT_CHANGE_CIPHER_SPEC, CT_APPLICATION_DATA):
                state["enc_" + key] = True  # what follows in this direction is encrypted
                buf.clear()
                break
        server = state.get("server_dir")
        if server and (state.get("server_certificate") or state.get("enc_" + server) or state.get("server_done")):
            state["done"] = True  # nothing cleartext of interest follows
        if error is not None:
            raise streambuf.failed(error, out)
        return out

    def _handshake(self, pkt: Packet, key: str, record_version: int, fragment: bytes,
                   state: dict[str, Any], *, out: list[Observation]) -> None:
        """The handshake messages ``fragment`` completes, described into ``out`` as they are parsed."""
        hs: bytearray = state.setdefault("hs_" + key, bytearray())
        hs += fragment
        while len(hs) >= 4:
            msg_type, length = hs[0], int.from_bytes(hs[1:4], "big")
            if length > MAX_HANDSHAKE_MESSAGE:
                state["done"] = True
                raise ParseError(f"handshake message of {length} bytes over {MAX_HANDSHAKE_MESSAGE}")
            if len(hs) < 4 + length:
                break
            body = bytes(hs[4 : 4 + length])
            del hs[: 4 + length]
            if msg_type == HS_CLIENT_HELLO and not state.get("client_hello"):
                state["client_hello"] = True
                hello = tlshello.client_hello_key(body)
                if hello is not None:  # the record version is reported too: part of the key
                    hello = b"c" + record_version.to_bytes(2, "big") + hello
                fields = memoised(self.memo, hello, tlshello.client_hello, body, record_version)
                out.append(pkt.observation(self.name, "client_hello", fields))
            elif msg_type == HS_SERVER_HELLO and "server_dir" not in state:
                state["server_dir"] = key
                hello = tlshello.server_hello_key(body)
                fields = memoised(self.memo, None if hello is None else b"s" + hello, tlshello.server_hello, body)
                out.append(pkt.observation(self.name, "server_hello", fields))
                if fields["version"] == tlshello.version_name(TLS13):
                    state["enc_" + key] = True  # RFC 8446 §2: every later handshake message is encrypted
                    hs.clear()
                    break
            elif msg_type == HS_CERTIFICATE:
                if state.get("server_dir") == key:
                    state["server_certificate"] = True
                out.append(pkt.observation(self.name, "certificate", self._certificate(body)))
            elif msg_type == HS_SERVER_HELLO_DONE and state.get("server_dir") == key:
                state["server_done"] = True
