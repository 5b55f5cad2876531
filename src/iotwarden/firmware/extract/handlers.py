"""unblob handlers of our own, registered through unblob's plugin hook (``unblob_register_handlers``,
unblob/hookspecs.py): formats unblob 26.x has no handler for (U-Boot legacy uImage, Matter OTA, an
MBR partition table) and three refinements of its handlers (a bare UBIFS must pass its superblock CRC,
a zip that lost its central directory, a YAFFS2 image without subfolders). They only say where a chunk
starts and ends; extraction stays in our sandboxed extractors (``EXTRACTOR = None``).

The file also loads as a plain unblob plugin: ``unblob --plugins-path .../extract/handlers.py``."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pluggy
from unblob.file_utils import Endian, File, InvalidInputFormat
from unblob.handlers.archive.zip import ZIPHandler
from unblob.handlers.filesystem.ubi import UBIFSHandler
from unblob.handlers.filesystem.yaffs import YAFFS2Parser, YAFFSConfig, YAFFSHandler
from unblob.models import Handler, HandlerDoc, HandlerType, HexString, Reference, ValidChunk

from iotwarden.firmware.extract.partitions import SECTOR, mbr_partitions

hookimpl = pluggy.HookimplMarker("unblob")  # unblob.plugins.hookimpl, without importing its CLI side

UIMAGE_HEADER = 64  # U-Boot image.h: sizeof(struct legacy_img_hdr)
MATTER_PREFIX = 16  # Matter Core Spec §11.21.2: u32 file identifier, u64 total size, u32 header size
MATTER_MAX_HEADER = 64 * 1024
ZIP_METHODS = {0, 1, 6, 8, 9, 12, 14, 93, 95, 98, 99}  # APPNOTE §4.4.5 (99: AE-x encrypted)
ZIP_MAX_NAME = 4096
# NAND geometries (page size, spare size) of YAFFS2 images: the spare area is 1/32 of the page
YAFFS2_GEOMETRIES = ((2048, 64), (512, 16), (4096, 128), (1024, 32), (8192, 256), (16384, 512))
YAFFS2_SPARE_ECC = {b"\x00\x10\x00\x00": Endian.LITTLE, b"\x00\x00\x10\x00": Endian.BIG}


def _u32(data: bytes, off: int, *, big: bool) -> int:
    return int(struct.unpack_from(">I" if big else "<I", data, off)[0])


def _doc(name: str, description: str, handler_type: HandlerType, title: str, url: str) -> HandlerDoc:
    return HandlerDoc(
        name=name,
        description=description,
        vendor=None,
        references=[Reference(title=title, url=url)],
        limitations=["Identification only: extracted by iotwarden's sandboxed extractors"],
        handler_type=handler_type,
    )


class UImageHandler(Handler[None]):
    """U-Boot legacy image (image.h ``struct legacy_img_hdr``): 64-byte big-endian header whose
    ``ih_hcrc`` is the CRC-32 of the header with that field zeroed, then ``ih_size`` payload bytes."""

    NAME = "uimage"
    PATTERNS = [HexString("27 05 19 56 // IH_MAGIC")]  # noqa: RUF012 - unblob declares a plain list
    EXTRACTOR = None
    DOC = _doc(
        "U-Boot uImage",
        "U-Boot legacy image header in front of a kernel, ramdisk or file system",
        HandlerType.BOOTLOADER,
        "U-Boot include/image.h",
        "https://source.denx.de/u-boot/u-boot/-/blob/master/include/image.h",
    )

    def calculate_chunk(self, file: File, start_offset: int) -> ValidChunk | None:
        head = file[start_offset : start_offset + UIMAGE_HEADER]
        if len(head) < UIMAGE_HEADER:
            raise InvalidInputFormat("uImage header truncated")
        if zlib.crc32(head[:4] + b"\0\0\0\0" + head[8:]) != _u32(head, 4, big=True):
            raise InvalidInputFormat("uImage header CRC mismatch")
        # a truncated payload is still this image: the extractor reports what is missing
        end = min(start_offset + UIMAGE_HEADER + _u32(head, 12, big=True), file.size())
        return ValidChunk(start_offset=start_offset, end_offset=end)


class MatterOTAHandler(Handler[None]):
    """Matter OTA image file (Matter Core Specification §11.21.2): identifier 0x1BEEF11E, total
    size and TLV header size, little-endian."""

    NAME = "matter_ota"
    PATTERNS = [HexString("1e f1 ee 1b // file identifier 0x1BEEF11E")]  # noqa: RUF012 - unblob declares a plain list
    EXTRACTOR = None
    DOC = _doc(
        "Matter OTA",
        "Matter (CSA) over-the-air software image with a TLV header and payload digest",
        HandlerType.ARCHIVE,
        "Matter Core Specification §11.21.2 OTA Image File Format",
        "https://csa-iot.org/developer-resource/specifications-download-request/",
    )

    def calculate_chunk(self, file: File, start_offset: int) -> ValidChunk | None:
        prefix = file[start_offset : start_offset + MATTER_PREFIX]
        if len(prefix) < MATTER_PREFIX:
            raise InvalidInputFormat("Matter OTA prefix truncated")
        total, hsize = struct.unpack_from("<QI", prefix, 4)
        if hsize > MATTER_MAX_HEADER or not MATTER_PREFIX < MATTER_PREFIX + hsize <= total:
            raise InvalidInputFormat("implausible Matter OTA sizes")
        return ValidChunk(start_offset=start_offset, end_offset=min(start_offset + total, file.size()))


class MBRHandler(Handler[None]):
    """A DOS partition table (see :mod:`.partitions`), recognised only where a blob starts: its
    two-byte signature is too weak to carve by inside a raw image."""

    NAME = "mbr"
    PATTERNS = [HexString("55 aa // boot signature at 510")]  # noqa: RUF012 - unblob declares a plain list
    PATTERN_MATCH_OFFSET = -(SECTOR - 2)
    EXTRACTOR = None
    DOC = _doc(
        "MBR",
        "DOS master boot record partition table; primary partitions are unpacked as raw blobs",
        HandlerType.FILESYSTEM,
        "UEFI Specification 2.10 §5.2.1 Legacy Master Boot Record",
        "https://uefi.org/specs/UEFI/2.10/05_GUID_Partition_Table_Format.html",
    )

    def calculate_chunk(self, file: File, start_offset: int) -> ValidChunk | None:
        if start_offset != 0 or not mbr_partitions(file[:SECTOR]):
            return None
        return ValidChunk(start_offset=0, end_offset=file.size())


class CheckedUBIFSHandler(UBIFSHandler):
    """unblob's UBIFS handler, plus the superblock node's CRC (ubifs-media.h ``struct ubifs_ch``:
    ``crc`` at 4 over bytes 8..``len``, the kernel's crc32 seeded with ~0 and not inverted)."""

    def calculate_chunk(self, file: File, start_offset: int) -> ValidChunk | None:
        head = file[start_offset : start_offset + 4096]
        big = head[:4] == b"\x06\x10\x18\x31"
        if len(head) < 24:
            raise InvalidInputFormat("UBIFS superblock truncated")
        length = _u32(head, 16, big=big)
        if not 24 < length <= len(head) or zlib.crc32(head[8:length]) ^ 0xFFFFFFFF != _u32(head, 4, big=big):
            raise InvalidInputFormat("UBIFS superblock CRC mismatch")
        file.seek(start_offset, io.SEEK_SET)
        return super().calculate_chunk(file, start_offset)


class StreamedZIPHandler(ZIPHandler):
    """unblob's zip handler; a zip whose end of central directory is missing (a truncated download
    or flash dump) is still taken where it starts a blob, to its end, when its first local file
    header (APPNOTE §4.3.7) is plausible: the extractor reads it as a stream and reports it."""

    def calculate_chunk(self, file: File, start_offset: int) -> ValidChunk | None:
        try:
            return super().calculate_chunk(file, start_offset)
        except InvalidInputFormat:
            if start_offset != 0:
                raise
        head = file[:30]
        if len(head) < 30:
            raise InvalidInputFormat("zip local file header truncated")
        version, method = struct.unpack_from("<HxxH", head, 4)
        name_len = struct.unpack_from("<H", head, 26)[0]
        if (version & 0xFF) > 63 or method not in ZIP_METHODS or not 0 < name_len <= ZIP_MAX_NAME:
            raise InvalidInputFormat("implausible zip local file header")
        return ValidChunk(start_offset=0, end_offset=file.size())


class FixedGeometryYAFFSHandler(YAFFSHandler):
    """unblob's YAFFS handler; where its geometry detection fails (it needs a subfolder in the
    image), a YAFFS2 image at the start of a blob is tried with the common NAND page/spare sizes,
    the ECC layout and byte order read from the first spare area, and parsed by unblob's parser."""

    def calculate_chunk(self, file: File, start_offset: int) -> ValidChunk | None:
        try:
            return super().calculate_chunk(file, start_offset)
        except InvalidInputFormat:
            if start_offset != 0:
                raise
        for page, spare in YAFFS2_GEOMETRIES:
            endian = YAFFS2_SPARE_ECC.get(file[page : page + 4])
            if endian is None:
                continue
            file.seek(0, io.SEEK_SET)
            parser = YAFFS2Parser(file, YAFFSConfig(endianness=endian, page_size=page, spare_size=spare, ecc=True))
            try:
                parser.parse()
            except (InvalidInputFormat, EOFError):
                continue
            return ValidChunk(start_offset=0, end_offset=min(parser.end_offset, file.size()))
        raise InvalidInputFormat("no YAFFS2 geometry fits")


# each handler of ours, with the unblob handler it stands in for (None: a format unblob lacks)
REPLACES: dict[type[Handler[Any]], type[Handler[Any]] | None] = {
    UImageHandler: None,
    MatterOTAHandler: None,
    MBRHandler: None,
    CheckedUBIFSHandler: UBIFSHandler,
    StreamedZIPHandler: ZIPHandler,
    FixedGeometryYAFFSHandler: YAFFSHandler,
}


@hookimpl
def unblob_register_handlers() -> list[type[Handler[Any]]]:
    """unblob hook: the handlers above."""
    return list(REPLACES)
