"""The recursive extraction driver: asks unblob where containers sit (:mod:`.carving`), copies each
chunk out, hands it to its sandboxed extractor, recurses into what comes out up to the depth limit,
and returns the list of unpacked files with the containers they came from."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotwarden.errors import FirmwareError
from iotwarden.firmware.extract import archives, carving, filesystems, matter, partitions, romfs, streams
from iotwarden.firmware.sandbox import LimitExceeded, Limits, Sandbox

STREAMS = ("gzip", "bzip2", "xz", "lzma", "lz4", "zstd")
GLOBAL_LIMITS = ("limit.total_bytes", "limit.files")  # budgets of the whole analysis, not of one container


@dataclass(slots=True)
class Container:
    """One unpacked container: what it was, where it sat, and which unblob handler found it."""

    fmt: str
    where: str  # logical path of the file it was found in
    offset: int
    size: int
    depth: int
    out: str  # logical prefix of what came out, e.g. "image.bin@0x40000.squashfs"
    info: dict[str, Any] = field(default_factory=dict)
    handler: str = ""  # the unblob handler that found it, e.g. "squashfs_v4_le"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.fmt,
            "handler": self.handler,
            "in": self.where,
            "offset": self.offset,
            "size": self.size,
            "depth": self.depth,
            "prefix": self.out,
            "info": dict(self.info),
        }


@dataclass(slots=True)
class UnpackedFile:
    """A file as it is inside the image: ``path`` is its logical path (container prefix + path in the
    file system), ``fs_path`` its path inside its own file-system root (``/bin/busybox``)."""

    path: str
    fs_path: str
    host: Path
    size: int
    mode: int
    link_target: str | None = None
    root: str = ""  # logical prefix of the file-system root it belongs to

    @property
    def is_symlink(self) -> bool:
        return self.link_target is not None


@dataclass(slots=True)
class Extraction:
    """Everything unpacked from one image; ``sandbox`` owns the files until :meth:`close`."""

    image: Path
    sandbox: Sandbox
    containers: list[Container] = field(default_factory=list)
    files: list[UnpackedFile] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.sandbox.close()

    def __enter__(self) -> Extraction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def extract(image: Path, limits: Limits | None = None, tmp_parent: str | None = None) -> Extraction:
    """Unpack ``image`` recursively into a new sandbox. Never raises for damaged or hostile content:
    failures land in ``errors`` and limit hits or refused entries in ``sandbox.incidents``."""
    if not image.is_file():
        raise FirmwareError(f"{image}: not a file")
    sb = Sandbox(limits, tmp_parent)
    ex = Extraction(image, sb)
    try:
        if not _walk_blob(ex, image, image.name, "", 0, scan=True) and not ex.errors and not sb.incidents:
            sb.report(
                "unidentified", image.name, "no known container or file system found (encrypted, obfuscated or raw)"
            )
    except LimitExceeded as exc:
        sb.report(exc.kind, image.name, str(exc))
    return ex


def _walk_blob(ex: Extraction, path: Path, logical: str, root: str, depth: int, *, scan: bool) -> bool:
    """Extract the containers in one file; returns True when it held at least one. ``scan``: search
    the whole file (a raw image or a decompressed stream); otherwise only its start is identified."""
    found_in = carving.search(path) if scan else carving.identify(path)
    for problem in found_in.problems:
        kind = "limit.chunks" if problem.startswith("limit.chunks") else "carver_error"
        ex.sandbox.report(kind, logical, problem)
    found = False
    for chunk in found_in.chunks:
        if depth + 1 > ex.sandbox.limits.max_depth:
            ex.sandbox.report(
                "limit.depth",
                logical,
                f"{chunk.fmt} at {chunk.offset:#x} is nested deeper than {ex.sandbox.limits.max_depth}",
            )
            return found
        try:
            found |= _open_container(ex, path, logical, chunk, depth + 1)
        except LimitExceeded as exc:
            if exc.kind in GLOBAL_LIMITS:
                raise  # the whole analysis stops; reported once by extract()
            ex.sandbox.report(exc.kind, f"{logical}@{chunk.offset:#x}", str(exc))
        except FirmwareError as exc:
            ex.errors.append(str(exc))
    return found


def _carve(ex: Extraction, path: Path, hit: carving.Chunk, label: str) -> Path:
    """The span unblob gave ``hit`` copied to a file of its own (unless it is the whole file)."""
    if hit.offset == 0 and hit.size >= path.stat().st_size:
        return path
    length = hit.size
    ex.sandbox.budget.check_file(length)
    ex.sandbox.budget.add_bytes(length)
    dst = ex.sandbox.new_dir(f"carve-{label}") / f"{hit.fmt}.bin"
    with path.open("rb") as f, dst.open("wb") as w:
        f.seek(hit.offset)
        remaining = length
        while remaining > 0:
            chunk = f.read(min(remaining, 1 << 20))
            if not chunk:
                break
            w.write(chunk)
            remaining -= len(chunk)
    return dst


def _open_container(ex: Extraction, path: Path, logical: str, hit: carving.Chunk, depth: int) -> bool:
    sb = ex.sandbox
    prefix = f"{logical}@{hit.offset:#x}.{hit.fmt}" if hit.offset else f"{logical}.{hit.fmt}"
    out = sb.new_dir(hit.fmt)
    container = Container(hit.fmt, logical, hit.offset, hit.size, depth, prefix, handler=hit.handler)
    if hit.fmt in STREAMS:
        produced, _consumed = streams.decompress(path, hit.fmt, hit.offset, hit.size, out, sb=sb, where=prefix)
        ex.containers.append(container)
        name = produced.name
        _walk_tree(ex, out, prefix, depth, blob_scan=True, blob_name=name)
        return True
    src = _carve(ex, path, hit, hit.fmt)
    if hit.fmt == "uimage":
        container.info = filesystems.uimage_header(src.read_bytes()[: filesystems.UIMAGE_HEADER])
        filesystems.extract_uimage(src, out, sb, prefix)
        ex.containers.append(container)
        _walk_tree(ex, out, prefix, depth, blob_scan=True, blob_name="payload.bin")
        return True
    if hit.fmt in ("matter_ota", "mbr"):
        if hit.fmt == "matter_ota":
            container.info = matter.extract_matter_ota(src, out, sb, prefix)
        else:
            container.info = {"partitions": partitions.extract_mbr(src, out, sb, prefix)}
        ex.containers.append(container)
        for part in sorted(out.iterdir()):  # payload.bin or part1.bin..part4.bin: raw blobs, scanned
            st = part.lstat()
            logical = f"{prefix}/{part.name}"
            ex.files.append(UnpackedFile(logical, "/" + part.name, part, st.st_size, st.st_mode, None, prefix))
            if st.st_size:
                _walk_blob(ex, part, logical, prefix, depth, scan=True)
        return True
    extractor = {
        "squashfs": filesystems.extract_squashfs,
        "yaffs2": filesystems.extract_yaffs2,
        "romfs": romfs.extract_romfs,
        "cramfs": filesystems.extract_cramfs,
        "jffs2": filesystems.extract_jffs2,
        "ubi": filesystems.extract_ubi,
        "ubifs": filesystems.extract_ubi,
        "zip": archives.extract_zip,
        "tar": archives.extract_tar,
        "cpio": archives.extract_cpio,
    }[hit.fmt]
    extractor(src, out, sb, prefix)
    if hit.fmt == "ubi":
        roots = _ubi_volumes(out, prefix)
        for top, where in roots:
            sb.sanitize(top, where, under="")
    else:
        if hit.fmt in ("squashfs", "cramfs", "jffs2", "ubifs", "yaffs2", "romfs", "cpio"):
            sb.sanitize(out, prefix)
        roots = [(out / "root" if (out / "root").is_dir() else out, prefix)]
    ex.containers.append(container)
    for top, where in roots:
        _walk_tree(ex, top, where, depth, blob_scan=False)
    return True


def _ubi_volumes(out: Path, prefix: str) -> list[tuple[Path, str]]:
    """ubi_reader writes each volume of a UBI image to ``root/<image sequence>/<volume name>``: each is
    a file-system root of its own, named ``<prefix>/<volume name>``. Nothing else it wrote is read."""
    base = out / "root"
    if not base.is_dir():
        return []
    return [
        (vol, f"{prefix}/{vol.name}")
        for img in sorted(base.iterdir())
        if img.is_dir() and not img.is_symlink()
        for vol in sorted(img.iterdir())
        if vol.is_dir() and not vol.is_symlink()
    ]


def _walk_tree(ex: Extraction, top: Path, prefix: str, depth: int, *, blob_scan: bool, blob_name: str = "") -> None:
    """Record every entry under ``top`` and recurse into files that are containers themselves."""
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]):
            host = Path(dirpath) / name
            rel = host.relative_to(top).as_posix()
            st = host.lstat()
            logical = f"{prefix}/{rel}"
            if stat.S_ISLNK(st.st_mode):
                ex.files.append(UnpackedFile(logical, "/" + rel, host, 0, st.st_mode, str(host.readlink()), prefix))
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            ex.files.append(UnpackedFile(logical, "/" + rel, host, st.st_size, st.st_mode, None, prefix))
            if st.st_size == 0:
                continue
            _walk_blob(ex, host, logical, prefix, depth, scan=blob_scan and name == blob_name)
