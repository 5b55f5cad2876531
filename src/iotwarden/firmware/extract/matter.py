"""The Matter OTA image file (Matter Core Specification §11.21.2 "OTA Image File Format"): a
little-endian prefix (file identifier 0x1BEEF11E, total size, header size), a TLV header (§A, Matter
TLV) naming vendor, product, versions and the payload digest, then the payload, checked against it."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any

from iotwarden.errors import FirmwareError
from iotwarden.firmware.sandbox import Sandbox

FILE_IDENTIFIER = 0x1BEEF11E
PREFIX = 16  # u32 identifier, u64 total size, u32 header size
MAX_HEADER = 64 * 1024  # a TLV header larger than this is refused
# header fields by context tag (§11.21.2.2)
FIELDS = {
    0: "vendor_id",
    1: "product_id",
    2: "software_version",
    3: "software_version_string",
    4: "payload_size",
    5: "min_applicable_version",
    6: "max_applicable_version",
    7: "release_notes_url",
    8: "image_digest_type",
    9: "image_digest",
}
DIGEST_SHA256 = 1  # IANA Named Information hash algorithm 1 = sha-256 (§11.21.2.2 ImageDigestType)


def _tlv(buf: bytes) -> dict[str, Any]:
    """The context-tagged members of the anonymous structure at the start of ``buf`` (Matter TLV §A.7):
    integers, UTF-8 and byte strings with 1/2/4-byte lengths, booleans and null; nesting is refused."""
    if not buf or buf[0] != 0x15:  # anonymous structure
        raise FirmwareError("Matter OTA header is not a TLV structure")
    out: dict[str, Any] = {}
    pos = 1
    while pos < len(buf):
        control = buf[pos]
        if control == 0x18:  # end of container
            return out
        tag_form, etype = control >> 5, control & 0x1F
        if tag_form != 1:  # only 1-byte context tags appear in this header
            raise FirmwareError(f"Matter OTA header: unexpected tag form {tag_form}")
        if pos + 2 > len(buf):  # the control byte's tag runs past the header
            raise FirmwareError("Matter OTA header: element runs past the header")
        tag = buf[pos + 1]
        pos += 2
        if etype <= 0x07:  # signed (0-3) and unsigned (4-7) integers of 1, 2, 4, 8 bytes
            width = 1 << (etype & 0x3)
            if pos + width > len(buf):
                raise FirmwareError("Matter OTA header: integer runs past the header")
            value: Any = int.from_bytes(buf[pos : pos + width], "little", signed=etype < 4)
            pos += width
        elif etype in (0x08, 0x09):
            value = etype == 0x09
        elif etype in (0x0C, 0x0D, 0x0E, 0x10, 0x11, 0x12):  # UTF-8 (0x0C..) / bytes (0x10..), 1/2/4-byte length
            width = 1 << (etype & 0x3)
            if pos + width > len(buf):
                raise FirmwareError("Matter OTA header: string length runs past the header")
            length = int.from_bytes(buf[pos : pos + width], "little")
            pos += width
            raw = buf[pos : pos + length]
            if len(raw) < length:
                raise FirmwareError("Matter OTA header: string runs past the header")
            value = raw.decode("utf-8", "replace") if etype < 0x10 else raw.hex()
            pos += length
        elif etype == 0x14:
            value = None
        else:
            raise FirmwareError(f"Matter OTA header: unsupported TLV element type {etype:#x}")
        out[FIELDS.get(tag, f"tag_{tag}")] = value
    raise FirmwareError("Matter OTA header: structure not closed")


def extract_matter_ota(src: Path, out: Path, sb: Sandbox, where: str) -> dict[str, Any]:
    """Write the payload to ``out/payload.bin``; returns the header fields and whether the digest holds."""
    data = src.read_bytes()
    if len(data) < PREFIX:
        raise FirmwareError(f"{where}: Matter OTA prefix truncated")
    ident, total, hsize = struct.unpack_from("<IQI", data, 0)
    if ident != FILE_IDENTIFIER or hsize > MAX_HEADER or PREFIX + hsize > len(data):
        raise FirmwareError(f"{where}: not a plausible Matter OTA image")
    info = _tlv(data[PREFIX : PREFIX + hsize])
    payload = data[PREFIX + hsize : total]
    if total != len(data) or info.get("payload_size") not in (None, len(payload)):
        sb.report("truncated", where, f"Matter OTA says {total} bytes in all, {len(data)} present")
    if info.get("image_digest_type") == DIGEST_SHA256 and isinstance(info.get("image_digest"), str):
        info["digest_ok"] = hashlib.sha256(payload).hexdigest() == info["image_digest"]
        if not info["digest_ok"]:
            sb.report("digest_mismatch", where, "payload SHA-256 does not match the header's image digest")
    sb.budget.check_file(len(payload))
    sb.budget.add_bytes(len(payload))
    sb.budget.add_files()
    (out / "payload.bin").write_bytes(payload)
    return info
