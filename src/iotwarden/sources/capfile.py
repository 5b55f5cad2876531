"""Capture files: open by content (pcap, pcapng, either gzip-compressed) and stream PacketBatches.

The format is recognised by magic number, never by file name. Memory is one read chunk plus one
batch, whatever the file size; damage is reported as :class:`~iotwarden.errors.CaptureError` with
the number of packets read before it, after those packets have been yielded.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from iotwarden.engine.batch import PacketBatch
from iotwarden.errors import CaptureError
from iotwarden.sources import pcap, pcapng
from iotwarden.sources.chunks import ChunkReader
from iotwarden.sources.linktypes import SUPPORTED_LINKTYPES, linktype_name, supported_names

GZIP_MAGIC = b"\x1f\x8b"  # RFC 1952 §2.3.1 ID1 ID2
# capture_info reads at most this much to find the interfaces declared before the first packet
INFO_PROBE_BYTES = 1024 * 1024


def _open(path: Path, stack: ExitStack) -> tuple[io.BufferedIOBase, bool]:
    try:
        raw: io.BufferedIOBase = stack.enter_context(path.open("rb"))
    except FileNotFoundError as exc:
        raise CaptureError(f"capture file not found: {path}") from exc
    except OSError as exc:
        raise CaptureError(f"cannot open capture {path}: {exc.strerror or exc}") from exc
    try:
        head = raw.read(2)
        raw.seek(0)
    except OSError as exc:
        raise CaptureError(f"cannot read capture {path}: {exc.strerror or exc}") from exc
    if head == GZIP_MAGIC:
        return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")), True
    return raw, False


def _start(path: Path, stack: ExitStack) -> tuple[ChunkReader, str, bool]:
    """A reader holding the first chunk, and the format found in it."""
    fh, compressed = _open(path, stack)
    reader = ChunkReader(fh, str(path), 0)
    buf = reader.refill(0)
    if not len(buf):
        raise CaptureError(f"capture file is empty: {path}" + (" (after gzip decompression)" if compressed else ""))
    head = bytes(buf[:4])
    if pcap.is_pcap_magic(head):
        return reader, "pcap", compressed
    if pcapng.is_pcapng_magic(head):
        return reader, "pcapng", compressed
    magic = f"0x{struct.unpack('>I', head)[0]:08x}" if len(head) == 4 else head.hex() or "none"
    raise CaptureError(f"not a pcap or pcapng capture: {path} (starts with {magic})")


def read_capture(path: Path, *, batch_size: int = 65536) -> Iterator[PacketBatch]:
    """Stream a pcap or pcapng capture (optionally gzip-compressed) as PacketBatches.

    pcap: both byte orders, micro- and nanosecond timestamps. pcapng: several sections (each with
    its byte order) and interfaces (link type and if_tsresol each), EPB, SPB and the obsolete PB.
    Raises CaptureError for a missing, empty or unrecognised file, an unsupported link type (named),
    or damage in the middle (after yielding every packet before it; ``packets_read`` counts them).
    A batch holds at most ``batch_size`` packets; its buffer is its own (safe to keep).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    path = Path(path)
    with ExitStack() as stack:
        reader, fmt, _ = _start(path, stack)
        if fmt == "pcap":
            header = pcap.parse_header(bytes(reader.buf[: pcap.FILE_HEADER_LEN]), str(path))
            if header.linktype not in SUPPORTED_LINKTYPES:
                raise CaptureError(
                    f"{path}: unsupported link type {linktype_name(header.linktype)}; supported: {supported_names()}"
                )
            yield from pcap.iter_batches(reader, header, batch_size)
        else:
            yield from pcapng.iter_batches(reader, batch_size)


def capture_info(path: Path) -> dict[str, Any]:
    """Header facts, cheaply: format, gzip or not, byte order, link types, snaplen, ts resolution.

    For pcapng, the interfaces are those declared in the first section before its first packet.
    """
    path = Path(path)
    with ExitStack() as stack:
        fh, compressed = _open(path, stack)
        try:
            head = fh.read(INFO_PROBE_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise CaptureError(f"cannot read capture {path}: {exc}") from exc
    if not head:
        raise CaptureError(f"capture file is empty: {path}")
    info: dict[str, Any] = {"path": str(path), "compressed": "gzip" if compressed else None, "gzip": compressed}
    if pcap.is_pcap_magic(head):
        hdr = pcap.parse_header(head, str(path))
        info.update(
            format="pcap",
            byte_order="big" if hdr.big_endian else "little",
            version=f"{hdr.version[0]}.{hdr.version[1]}",
            linktypes=[hdr.linktype],
            linktype_names=[linktype_name(hdr.linktype)],
            snaplen=hdr.snaplen,
            ts_resolution="ns" if hdr.nanosecond else "us",
            supported=hdr.linktype in SUPPORTED_LINKTYPES,
        )
        return info
    if not pcapng.is_pcapng_magic(head):
        raise CaptureError(f"not a pcap or pcapng capture: {path} (starts with {head[:4].hex()})")
    parsed = pcapng.parse_shb(head, 0)
    if isinstance(parsed, str):
        raise CaptureError(f"{path}: {parsed}")
    section, pos = parsed
    order = ">" if section.big_endian else "<"
    while pos + 12 <= len(head):
        btype, blen = struct.unpack_from(order + "II", head, pos)
        if btype in (pcapng.EPB, pcapng.SPB, pcapng.PB, pcapng.SHB) or blen < 12 or pos + blen > len(head):
            break
        if btype == pcapng.IDB:
            iface = pcapng.parse_idb(head, pos, blen, section.big_endian)
            if isinstance(iface, pcapng.Interface):
                section.interfaces.append(iface)
        pos += blen
    lts = [i.linktype for i in section.interfaces]
    info.update(
        format="pcapng",
        byte_order="big" if section.big_endian else "little",
        linktypes=lts,
        linktype_names=[linktype_name(lt) for lt in lts],
        snaplen=max((i.snaplen for i in section.interfaces), default=0),
        ts_resolution=[_resolution(i.ticks_per_second) for i in section.interfaces],
        supported=any(lt in SUPPORTED_LINKTYPES for lt in lts),
    )
    return info


def _resolution(ticks: int) -> str:
    return {1: "s", 1000: "ms", 1_000_000: "us", 1_000_000_000: "ns"}.get(ticks, f"1/{ticks} s")
