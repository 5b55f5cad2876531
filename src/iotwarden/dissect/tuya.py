"""Tuya local discovery (udp/6666, 6667 and 7000): the broadcasts by which Tuya-platform devices (white-label
plugs, bulbs and switches sold under hundreds of brands) announce themselves, and the app's request for them.

Frames, as tinytuya (``core/message_helper.py``, ``core/udp_helper.py``, ``core/header.py``) and localtuya read
them, all words big-endian:

* ``0x000055AA`` frame: prefix, sequence number, command, length (of what follows it), a 4-byte return code,
  the payload, a CRC-32 of everything before it, suffix ``0x0000AA55``. Protocol 3.1 devices broadcast to
  udp/6666 with the JSON in clear (command 0, UDP); 3.3 and 3.4 devices to udp/6667 with the JSON encrypted
  in AES-128-ECB (PKCS#7 padding) under the key md5("yGAdlopoPVldABfn") that every device shares
  (command 0x13, UDP_NEW).
* ``0x00006699`` frame (protocol 3.5): prefix, a 2-byte reserved word, sequence number, command, length,
  then a 12-byte nonce, the AES-128-GCM ciphertext under the same key with the 14 header bytes after the
  prefix as associated data, the 16-byte tag, suffix ``0x00009966``. 3.5 devices send their announcement so;
  the app asks for it with command 0x25 (REQ_DEVINFO, ``{"from":"app","ip":...}``) to udp/7000.

Kinds (subject ``src``): ``announce``, a device's JSON (it has ``gwId``): fields ``gw_id`` (the Tuya device
id), ``product_key`` (identifies the product in Tuya's cloud; no public table maps it), ``version`` (the
local protocol version, "3.3"), ``ip`` (the address it states), ``encrypt`` (bool, whether its control
channel is encrypted); ``request``, the app's discovery request: field ``ip`` (where to answer); ``message``,
any other JSON. Every kind has ``command`` (the frame's command number) and ``framing``: "plain" (3.1),
"aes-ecb" (3.3/3.4) or "aes-gcm" (3.5); 55AA frames also ``crc_valid`` (bool).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from typing import Any, ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORTS = (6666, 6667, 7000)  # tinytuya core/const.py UDPPORT, UDPPORTS, UDPPORTAPP
UDP_KEY = hashlib.md5(b"yGAdlopoPVldABfn", usedforsecurity=False).digest()  # tinytuya UDPKEY (from tuya-convert)
PREFIX_55AA, SUFFIX_55AA = b"\x00\x00\x55\xaa", b"\x00\x00\xaa\x55"
PREFIX_6699, SUFFIX_6699 = b"\x00\x00\x66\x99", b"\x00\x00\x99\x66"
HEADER_55AA = struct.Struct(">4I")  # prefix, seqno, cmd, length
HEADER_6699 = struct.Struct(">IHIII")  # prefix, reserved, seqno, cmd, length
RETCODE, CRC_AND_SUFFIX, NONCE, TAG = 4, 8, 12, 16
MAX_FRAME = 4096  # bytes of one datagram read; an announcement is about 200
MAX_TEXT = 128  # characters kept of one value
ANNOUNCE_FIELDS = {"gwId": "gw_id", "productKey": "product_key", "version": "version", "ip": "ip"}


def parse(data: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one discovery datagram; ParseError when it is not one."""
    if len(data) > MAX_FRAME:
        raise ParseError(f"tuya: datagram of {len(data)} bytes over the limit of {MAX_FRAME}")
    crc_valid: bool | None = None  # 55AA frames only; GCM frames are authenticated or refused
    if data[:4] == PREFIX_55AA:
        command, text, framing, crc_valid = _frame_55aa(data)
    elif data[:4] == PREFIX_6699:
        command, text, framing = _frame_6699(data)
    else:
        raise ParseError("tuya: no 0x000055AA or 0x00006699 prefix")
    try:
        body = json.loads(text.decode("utf-8").rstrip("\x00"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise ParseError(f"tuya: payload is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ParseError("tuya: payload is not a JSON object")
    fields: dict[str, Any] = {"command": command, "framing": framing}
    if crc_valid is not None:
        fields["crc_valid"] = crc_valid
    if isinstance(body.get("gwId"), str):
        for key, name in ANNOUNCE_FIELDS.items():
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                fields[name] = value.strip()[:MAX_TEXT]
        if isinstance(body.get("encrypt"), bool):
            fields["encrypt"] = body["encrypt"]
        return "announce", fields
    if body.get("from") == "app":
        if isinstance(body.get("ip"), str):
            fields["ip"] = body["ip"][:MAX_TEXT]
        return "request", fields
    return "message", fields


def _frame_55aa(data: bytes) -> tuple[int, bytes, str, bool]:
    """(command, JSON bytes, framing, whether the CRC-32 holds) of a 0x000055AA frame.

    A wrong CRC is reported, not refused, as tinytuya's unpack_message does: the payload must still be
    JSON, in clear or under the discovery key, which random bytes are not."""
    if len(data) < HEADER_55AA.size + CRC_AND_SUFFIX:
        raise ParseError("tuya: 55AA frame shorter than its header and trailer")
    _, _, command, length = HEADER_55AA.unpack_from(data)
    end = HEADER_55AA.size + length
    if length < CRC_AND_SUFFIX or end > len(data) or data[end - 4 : end] != SUFFIX_55AA:
        raise ParseError(f"tuya: 55AA length {length} does not end at a 0x0000AA55 suffix in the datagram")
    crc_valid = zlib.crc32(data[: end - CRC_AND_SUFFIX]) == int.from_bytes(data[end - CRC_AND_SUFFIX : end - 4], "big")
    payload = data[HEADER_55AA.size : end - CRC_AND_SUFFIX]
    if payload[:1] != b"{" and (payload[RETCODE : RETCODE + 1] == b"{" or len(payload) % 16 == RETCODE):
        payload = payload[RETCODE:]  # devices put a return code before the payload (tinytuya unpack_message)
    if payload[:1] == b"{":
        return command, payload, "plain", crc_valid
    if not payload or len(payload) % 16:
        raise ParseError(f"tuya: 55AA payload of {len(payload)} bytes is neither JSON nor AES blocks")
    decryptor = Cipher(algorithms.AES(UDP_KEY), modes.ECB()).decryptor()  # noqa: S305 - Tuya's format
    raw = decryptor.update(payload) + decryptor.finalize()
    pad = raw[-1]
    if not 1 <= pad <= 16 or raw[-pad:] != bytes((pad,)) * pad:
        raise ParseError("tuya: AES-ECB payload without PKCS#7 padding: not under the discovery key")
    return command, raw[:-pad], "aes-ecb", crc_valid


def _frame_6699(data: bytes) -> tuple[int, bytes, str]:
    """(command, JSON bytes, framing) of a 0x00006699 frame whose GCM tag holds."""
    if len(data) < HEADER_6699.size + NONCE + TAG + 4:
        raise ParseError("tuya: 6699 frame shorter than its header, nonce, tag and suffix")
    _, _, _, command, length = HEADER_6699.unpack_from(data)
    end = HEADER_6699.size + length
    if length < NONCE + TAG or end + 4 > len(data) or data[end : end + 4] != SUFFIX_6699:
        raise ParseError(f"tuya: 6699 length {length} does not end at a 0x00009966 suffix in the datagram")
    nonce = data[HEADER_6699.size : HEADER_6699.size + NONCE]
    try:
        raw = AESGCM(UDP_KEY).decrypt(nonce, data[HEADER_6699.size + NONCE : end], data[4 : HEADER_6699.size])
    except InvalidTag as exc:
        raise ParseError("tuya: 6699 frame GCM tag does not verify under the discovery key") from exc
    if raw[:1] != b"{" and raw[RETCODE : RETCODE + 1] == b"{":
        raw = raw[RETCODE:]  # an optional return code before the JSON (tinytuya unpack_message)
    return command, raw, "aes-gcm"


class TuyaDissector(Dissector):
    name: ClassVar[str] = "tuya"
    udp_ports: ClassVar[tuple[int, ...]] = PORTS
    # a device repeats the same announcement every few seconds for as long as it is on
    max_packets_per_flow: ClassVar[int | None] = 8

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload  # the fields depend on the datagram alone

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        kind, fields = parse(pkt.payload)
        return [pkt.observation(self.name, kind, fields)]
