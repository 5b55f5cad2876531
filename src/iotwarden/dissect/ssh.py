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

Dissection ends after both KEXINITs: everything after NEWKEYS is encrypted.
"""

from __future__ import annotations

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

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        if state.get("kex_" + key):
            return []
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        role = "client" if pkt.to_server else "server"
        out: list[Observation] = []
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
