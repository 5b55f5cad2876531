"""Where containers sit in a blob, found by unblob: its hyperscan search over the handlers' patterns
and each handler's header checks (``calculate_chunk``) say which format starts where and where it
ends. The handler set is unblob's handlers of the formats we extract (:data:`FORMATS`) plus our own
registered through unblob's plugin hook (:mod:`.handlers`). Nothing here writes a byte."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from pyperscan import BlockDatabase, Flag, Pattern, Scan
from unblob.file_utils import File, InvalidInputFormat, SeekError
from unblob.finder import search_chunks
from unblob.handlers.archive import cpio, tar
from unblob.handlers.archive import zip as ziparchive
from unblob.handlers.compression import bzip2, gzip, lz4, lzma, xz, zstd
from unblob.handlers.filesystem import cramfs, jffs2, romfs, squashfs, ubi, yaffs
from unblob.models import Handler, Task, TaskResult, ValidChunk
from unblob.plugins import UnblobPluginManager
from unblob.report import CalculateChunkExceptionReport

from iotwarden.firmware.extract import handlers as own_handlers

# our format name -> unblob's handlers for it, file systems first (the order is the priority when
# two handlers claim the start of a file). Formats unblob knows but we do not list (ELF, zlib, 7z,
# vendor headers, ...) are not searched: each listed one has an extractor in the driver.
FORMATS: dict[str, tuple[type[Handler[Any]], ...]] = {
    "squashfs": (
        squashfs.SquashFSv4LEHandler,
        squashfs.SquashFSv4BEHandler,
        squashfs.SquashFSv4BroadcomHandler,
        squashfs.SquashFSv3Handler,
        squashfs.SquashFSv3DDWRTHandler,
        squashfs.SquashFSv3BroadcomHandler,
        squashfs.SquashFSv3NSHandler,
        squashfs.SquashFSv2Handler,
        squashfs.SquashFSv2NonStandardHandler,
        squashfs.SquashFSv1Handler,
    ),
    "cramfs": (cramfs.CramFSHandler,),
    "jffs2": (jffs2.JFFS2NewHandler, jffs2.JFFS2OldHandler),
    "ubi": (ubi.UBIHandler,),
    "ubifs": (ubi.UBIFSHandler,),
    "romfs": (romfs.RomFSFSHandler,),
    "yaffs2": (yaffs.YAFFSHandler,),
    "zip": (ziparchive.ZIPHandler,),
    "tar": (tar.TarUstarHandler, tar.TarUnixHandler),
    "cpio": (
        cpio.PortableASCIIHandler,
        cpio.PortableASCIIWithCRCHandler,
        cpio.PortableOldASCIIHandler,
        cpio.BinaryHandler,
    ),
    "gzip": (gzip.GZIPHandler,),
    "bzip2": (bzip2.BZip2Handler,),
    "xz": (xz.XZHandler,),
    "lzma": (lzma.LZMAHandler,),
    "lz4": (lz4.DefaultFrameHandler,),  # the frame format (lz4.frame); legacy frames are not read here
    "zstd": (zstd.ZSTDHandler,),
}
HEAD_BYTES = 64 * 1024  # bytes searched for a pattern that places a container at offset 0
MAX_CHUNKS = 256  # containers taken from one blob; more is a sign of noise, not structure (reported)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A container unblob found: our format name, the unblob handler that found it, and its span."""

    fmt: str
    offset: int
    size: int
    handler: str


@dataclass(slots=True)
class Search:
    """The chunks of one blob and the handler failures unblob reported while looking for them."""

    chunks: list[Chunk]
    problems: list[str]


def _quiet_unblob() -> None:
    """unblob logs every rejected candidate through structlog, whose default configuration prints to
    stdout (where our CLI writes its JSON report): unless the host application configured structlog
    itself, only critical messages pass. Handler failures reach us as unblob reports instead."""
    if not structlog.is_configured():
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


@lru_cache(maxsize=1)
def handler_set() -> tuple[tuple[type[Handler[Any]], ...], dict[type[Handler[Any]], str]]:
    """The handlers searched, in priority order, and the format each stands for: ours (collected
    through unblob's plugin manager) first, then unblob's handlers that ours do not replace."""
    _quiet_unblob()
    pm = UnblobPluginManager()  # type: ignore[no-untyped-call]
    pm.register(own_handlers)
    extra = pm.load_handlers_from_plugins()
    fmt_of = {handler: fmt for fmt, handlers in FORMATS.items() for handler in handlers}
    replaced = {own_handlers.REPLACES[h] for h in extra} - {None}
    for handler in extra:
        stands_for = own_handlers.REPLACES[handler]
        fmt_of[handler] = fmt_of[stands_for] if stands_for is not None else handler.NAME
    builtin = [h for handlers in FORMATS.values() for h in handlers if h not in replaced]
    return (*extra, *builtin), fmt_of


def _chunk(handler: Handler[Any], found: ValidChunk) -> Chunk:
    _, fmt_of = handler_set()
    return Chunk(fmt_of[type(handler)], found.start_offset, found.size, handler.NAME)


def search(path: Path) -> Search:
    """Every container unblob finds in ``path``, in offset order (a raw image: boot loader, kernel,
    file systems one after another). A chunk's inside is not searched again here."""
    result = Search([], [])
    if path.stat().st_size == 0:
        return result
    handlers, _ = handler_set()
    task = TaskResult(task=Task(path=path, depth=0, blob_id=""))
    with File.from_path(path) as file:
        found = search_chunks(file, file.size(), handlers, task)
    result.problems = [
        f"unblob handler {r.handler} failed at {r.start_offset:#x}: {r.exception}"
        for r in task.filter_reports(CalculateChunkExceptionReport)
    ]
    result.chunks = sorted((_chunk(c.handler, c) for c in found), key=lambda c: c.offset)
    if len(result.chunks) > MAX_CHUNKS:
        result.problems.append(f"limit.chunks: {len(result.chunks)} containers found, the first {MAX_CHUNKS} taken")
        del result.chunks[MAX_CHUNKS:]
    return result


@lru_cache(maxsize=1)
def _head_database() -> BlockDatabase:
    handlers, _ = handler_set()
    return BlockDatabase(
        *[
            Pattern(pattern.as_regex(), Flag.SOM_LEFTMOST, Flag.DOTALL, tag=handler)
            for handler in (cls() for cls in handlers)
            for pattern in handler.PATTERNS
        ]
    )


def _starting(context: list[Handler[Any]], handler: Handler[Any], start: int, _end: int) -> Scan:
    if start + handler.PATTERN_MATCH_OFFSET == 0 and handler not in context:
        context.append(handler)
    return Scan.Continue


def identify(path: Path) -> Search:
    """The container that starts at offset 0 of ``path``, if any: the same handlers and patterns as
    :func:`search`, anchored at the start. Files inside archives and file systems are identified
    this way: a program that embeds a compressed blob is a program, not a container."""
    result = Search([], [])
    size = path.stat().st_size
    if size == 0:
        return result
    handlers, _ = handler_set()
    candidates: list[Handler[Any]] = []
    with File.from_path(path) as file:
        _head_database().build(candidates, _starting).scan(file[:HEAD_BYTES])
        candidates.sort(key=lambda h: handlers.index(type(h)))
        for handler in candidates:
            file.seek(0)
            try:
                found = handler.calculate_chunk(file, 0)
            except (InvalidInputFormat, EOFError, SeekError):
                continue
            except Exception as exc:  # noqa: BLE001 - a handler bug on hostile input is reported, never a crash
                result.problems.append(f"unblob handler {handler.NAME} failed at 0x0: {exc!r}")
                continue
            if found is not None and found.end_offset <= size:
                result.chunks.append(_chunk(handler, found))
                break
    return result
