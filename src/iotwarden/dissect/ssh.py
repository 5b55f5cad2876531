"""SSH dissector: version banners and KEXINIT algorithm lists of SSH-2 (RFC 4253), with HASSH.

Kinds and fields (subject ``src``: the endpoint that sent it):

* ``banner`` (RFC 4253 §4.2, "SSH-protoversion-softwareversion SP comments CR LF"): ``role``
  ("client"/"server"), ``banner`` (the full line), ``proto_version``, ``software``, ``comments``.
* ``kexinit`` (RFC 4253 §7.1): ``role``; the name-lists ``kex_algorithms``,
  ``server_host_key_algorithms``, ``encryption_client_to_server``, ``encryption_server_to_client``,
  ``mac_client_to_server``, ``mac_server_to_client``, ``compression_client_to_server``,
  ``compression_server_to_client``; for the client ``hassh`` and ``hassh_string``
  (kex;enc_c2s;mac_c2s;cmp_c2s), for the server ``hassh_server`` and ``hassh_server_string``
  (kex;enc_s2c;mac_s2c;cmp_s2c), as the Salesforce HASSH method defines (github.com/salesforce/hassh).

Dissection ends after both KEXINITs: everything after NEWKEYS is encrypted. A lost segment (``gap``) costs its
direction what it was in, not the flow: before its identification string the direction reads on from the next line
or segment that is one (:func:`banner_at`), before its KEXINIT from the next segment that begins one
(:func:`kexinit_at`), each validated harder than in sync (issues #3/#4); the other direction reads on.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector, safety_net
from iotwarden.dissect.ja4 import md5_hex
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_BANNER = 255  # RFC 4253 §4.2: the identification string is at most 255 characters incl. CR LF
MAX_PRE_BANNER_LINES = 16  # RFC 4253 §4.2: a server may send other lines first; we skip this many
MAX_PACKET = 35000  # RFC 4253 §6.1: implementations must handle packets of 35000 bytes
MAX_NAME_LIST = 64  # names kept per name-list
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): the two identification strings
# (with the lines a server may send first) and the two KEXINITs, each a packet of up to MAX_PACKET; the 30-packet
# cap it replaces read ~44 KB of full-size segments, but a banner typed in 1-byte segments only in part
MAX_STREAM_BYTES = 2 * (4 + MAX_PACKET) + (MAX_PRE_BANNER_LINES + 2) * MAX_BANNER
SSH_MSG_KEXINIT = 20  # RFC 4253 §12
RESYNC_STATE_KEY = "resync_"  # + direction key: past a gap, looking for the identification string or the KEXINIT
# an identification string found past a gap (RFC 4253 §4.2): protoversion 2.0 (or 1.99, §5.1), a softwareversion of
# printable US-ASCII without whitespace or minus, optional comments after a space, CR LF (LF alone tolerated)
_BANNER_LINE = re.compile(rb"SSH-(?:2\.0|1\.99)-[!-,.-~]+(?: [ -~]*)?\r?\n")
_NAME_LIST = re.compile(rb"[!-~]*")  # RFC 4251 §5 name-list: US-ASCII names, no whitespace
MIN_PADDING = 4  # RFC 4253 §6: random padding of at least four bytes
BLOCK = 8  # RFC 4253 §6: packet_length || padding_length || payload || padding is a multiple of 8 (or the cipher's)

_LISTS = (
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_client_to_server",
    "encryption_server_to_client",
    "mac_client_to_server",
    "mac_server_to_client",
    "compression_client_to_server",
    "compression_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
)


def parse_banner(line: str) -> dict[str, Any]:
    """Fields of an identification line (without CR LF), or ParseError when it is not one."""
    if not line.startswith("SSH-"):
        raise ParseError("not an SSH identification string")
    ident, _, comments = line.partition(" ")
    parts = ident.split("-", 2)
    if len(parts) < 3 or not parts[1]:
        raise ParseError(f"SSH identification without software version: {line[:40]!r}")
    return {"banner": line, "proto_version": parts[1], "software": parts[2], "comments": comments or None}


def parse_kexinit(payload: bytes, role: str) -> dict[str, Any]:
    """Fields of an SSH_MSG_KEXINIT payload (RFC 4253 §7.1): byte 20, cookie[16], ten name-lists."""
    if len(payload) < 17 or payload[0] != SSH_MSG_KEXINIT:
        raise ParseError("not a KEXINIT")
    pos = 17
    lists: dict[str, list[str]] = {}
    raw: dict[str, str] = {}
    for name in _LISTS:
        if pos + 4 > len(payload):
            raise ParseError(f"KEXINIT truncated before {name}")
        n = int.from_bytes(payload[pos : pos + 4], "big")
        pos += 4
        if pos + n > len(payload):
            raise ParseError(f"KEXINIT {name} overruns the packet")
        raw[name] = payload[pos : pos + n].decode("ascii", "replace")  # RFC 4251 §5: US-ASCII names
        lists[name] = [x for x in raw[name].split(",") if x][:MAX_NAME_LIST]
        pos += n
    fields: dict[str, Any] = {"role": role}
    fields.update({k: v for k, v in lists.items() if not k.startswith("languages")})
    if role == "client":
        hs = ";".join([raw["kex_algorithms"], raw["encryption_client_to_server"],
                       raw["mac_client_to_server"], raw["compression_client_to_server"]])
        fields["hassh"], fields["hassh_string"] = md5_hex(hs), hs
    else:
        hs = ";".join([raw["kex_algorithms"], raw["encryption_server_to_client"],
                       raw["mac_server_to_client"], raw["compression_server_to_client"]])
        fields["hassh_server"], fields["hassh_server_string"] = md5_hex(hs), hs
    return fields


def banner_at(buf: bytearray, at: int) -> bool | None:
    """Whether an identification string found past a gap begins at ``at`` of ``buf``: True, a whole line
    :data:`_BANNER_LINE` matches; None, a line beginning as one not ended yet (within MAX_BANNER); False, none."""
    end = buf.find(b"\n", at, at + MAX_BANNER)
    if end < 0:
        head = bytes(buf[at : at + 4])
        return None if b"SSH-".startswith(head) and len(buf) - at < MAX_BANNER else False
    m = _BANNER_LINE.match(buf, at, end + 1)
    return m is not None and m.end() == end + 1


def kexinit_at(buf: bytearray, at: int) -> bool | None:
    """Whether a KEXINIT found past a gap begins at ``at`` of ``buf`` (the first binary packet, RFC 4253 §7.1):
    True, a whole packet whose packet_length is within MAX_PACKET and a multiple of the block size with its own
    four bytes (§6), padding of at least four bytes, payload byte 20, ten name-lists of printable names, then
    first_kex_packet_follows 0 or 1 and the reserved uint32 0, nothing more; None, a packet header that may be one,
    not whole yet; False, none."""
    if len(buf) - at < 6:
        return None if len(buf) - at < 4 or int.from_bytes(buf[at : at + 4], "big") <= MAX_PACKET else False
    length, padding = int.from_bytes(buf[at : at + 4], "big"), buf[at + 4]
    if (length > MAX_PACKET or (4 + length) % BLOCK or padding < MIN_PADDING or length < padding + 1 + 17
            or buf[at + 5] != SSH_MSG_KEXINIT):
        return False
    if len(buf) - at < 4 + length:
        return None
    payload = bytes(buf[at + 5 : at + 4 + length - padding])
    pos = 17
    for _ in _LISTS:
        if pos + 4 > len(payload):
            return False
        n = int.from_bytes(payload[pos : pos + 4], "big")
        if pos + 4 + n > len(payload) or _NAME_LIST.fullmatch(payload, pos + 4, pos + 4 + n) is None:
            return False
        pos += 4 + n
    return len(payload) == pos + 5 and payload[pos] in (0, 1) and payload[pos + 1 :] == b"\0\0\0\0"


class SshDissector(StreamDissector):
    name: ClassVar[str] = "ssh"
    tcp_ports: ClassVar[tuple[int, ...]] = (22, 2222)
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    # between feeds a direction holds less than one line (its length is checked) or one binary packet
    # (its length field is checked first)
    max_buffer: ClassVar[int] = 4 + MAX_PACKET

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return payload.startswith(b"SSH-")

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """Bytes of a direction were lost: drop its partial line or packet and look for its identification string
        (:func:`banner_at`) or, once that is read or where a segment begins, its KEXINIT (:func:`kexinit_at`); the
        other direction reads on. A direction whose KEXINIT was read reads nothing more."""
        key = streambuf.direction_key(to_server)
        if not state.get("kex_" + key):
            state.pop(key, None)
            state[RESYNC_STATE_KEY + key] = True

    def _resync(self, buf: bytearray, fresh: int, key: str, state: dict[str, Any]) -> bool:
        """Past a gap, drop from ``buf`` the bytes before the direction's next identification string, at a line
        or a segment start while it is not read, or KEXINIT, at a segment start (``fresh``, or the buffer's):
        True when ``buf`` now starts with one (a KEXINIT: the identification string was lost, none is read)."""
        banner = not state.get("banner_" + key)
        starts = {0, fresh}
        if banner:
            pos = buf.find(b"\n")
            while pos >= 0:
                starts.add(pos + 1)
                pos = buf.find(b"\n", pos + 1)

        def judge(at: int) -> bool | None:
            if banner and buf[at : at + 1] == b"S":
                return banner_at(buf, at)
            return kexinit_at(buf, at) if at in (0, fresh) else False

        tail = len(buf) - (buf.rfind(b"\n") + 1)  # the unfinished last line, which may begin the string
        if not streambuf.resync(buf, starts, judge, tail if banner and tail < MAX_BANNER else 0):
            return False
        if banner and not buf.startswith(b"SSH-"):
            state["banner_" + key] = True  # lost in the hole
        return True

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        if state.get("kex_" + key):
            return []
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        role = "client" if pkt.to_server else "server"
        out: list[Observation] = []
        if state.get(RESYNC_STATE_KEY + key):
            if not self._resync(buf, len(buf) - len(data), key, state):
                return out
            state[RESYNC_STATE_KEY + key] = False
        if not state.get("banner_" + key):
            line = self._banner_line(buf, key, state)
            if line is None:
                return out
            state["banner_" + key] = True
            out.append(pkt.observation(self.name, "banner", {"role": role, **parse_banner(line)}))
        try:
            while len(buf) >= 5:
                packet_length, padding = int.from_bytes(buf[:4], "big"), buf[4]
                if packet_length > MAX_PACKET or packet_length < padding + 1:
                    state["done"] = True
                    raise ParseError(f"bad SSH binary packet length {packet_length}")
                if len(buf) < 4 + packet_length:
                    break
                payload = bytes(buf[5 : 4 + packet_length - padding])  # RFC 4253 §6
                del buf[: 4 + packet_length]
                if payload[:1] == bytes([SSH_MSG_KEXINIT]):
                    state["kex_" + key] = True
                    buf.clear()
                    out.append(pkt.observation(self.name, "kexinit", parse_kexinit(payload, role)))
                    break
        except ParseError as exc:  # the banner in the same delivery stands
            raise streambuf.failed(exc, out) from None
        if state.get("kex_" + streambuf.C2S) and state.get("kex_" + streambuf.S2C):
            state["done"] = True
        return out

    @staticmethod
    def _banner_line(buf: bytearray, key: str, state: dict[str, Any]) -> str | None:
        """The identification line once complete (consumed from ``buf``), skipping earlier lines."""
        while True:
            end = buf.find(b"\n")
            if end > MAX_BANNER or (end < 0 and len(buf) > MAX_BANNER):
                state["done"] = True
                raise ParseError("SSH identification line over 255 bytes")
            if end < 0:
                return None
            line = bytes(buf[:end]).rstrip(b"\r").decode("utf-8", "replace")
            del buf[: end + 1]
            if line.startswith("SSH-"):
                return line
            skipped = state.get("skipped_" + key, 0) + 1
            state["skipped_" + key] = skipped
            if skipped > MAX_PRE_BANNER_LINES:
                state["done"] = True
                raise ParseError("no SSH identification line")
