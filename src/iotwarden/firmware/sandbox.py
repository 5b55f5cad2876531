"""The extraction sandbox: one private temporary folder per analysis, the limits that bound it
(size, file count, nesting depth, compression ratio) and the record of every limit hit or hostile
entry (path traversal, symlink escape) found while unpacking."""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotwarden.errors import FirmwareError

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one analysis may unpack; hitting one stops that container and is reported."""

    max_total_bytes: int = 2048 * MiB  # all extracted bytes together
    max_file_bytes: int = 512 * MiB  # one extracted file (also the RLIMIT_FSIZE of extractor tools)
    max_files: int = 200_000  # extracted files, symlinks and folders together
    max_depth: int = 6  # containers nested in containers (image -> squashfs -> tar.gz = depth 3)
    max_ratio: int = 1000  # decompressed / compressed bytes of one stream (decompression bombs)
    tool_timeout_s: float = 300.0  # one external extractor run

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class Incident:
    """A limit that was hit or a hostile entry that was refused, with where it happened."""

    kind: str  # "limit.total_bytes", "limit.files", "limit.depth", "limit.ratio", "limit.file_bytes",
    #            "limit.chunks", "path_traversal", "symlink_escape", "special_file", "truncated",
    #            "unidentified", "carver_error" (an unblob handler failed on this input), "path_conflict"
    #            (an archive member whose path another member took as another type), ...
    where: str  # logical path of the container or entry
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where, "detail": self.detail}


class LimitExceeded(FirmwareError):
    """Raised inside an extractor when a limit is hit; the driver records it and stops that container."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(slots=True)
class Budget:
    """Running totals against :class:`Limits`, shared by every extractor of one analysis."""

    limits: Limits
    total_bytes: int = 0
    files: int = 0

    def add_bytes(self, n: int) -> None:
        self.total_bytes += n
        if self.total_bytes > self.limits.max_total_bytes:
            raise LimitExceeded("limit.total_bytes", f"more than {self.limits.max_total_bytes} bytes extracted")

    def add_files(self, n: int = 1) -> None:
        self.files += n
        if self.files > self.limits.max_files:
            raise LimitExceeded("limit.files", f"more than {self.limits.max_files} files extracted")

    def check_file(self, size: int) -> None:
        if size > self.limits.max_file_bytes:
            raise LimitExceeded("limit.file_bytes", f"a file of {size} bytes is over {self.limits.max_file_bytes}")


def safe_member_name(name: str) -> str | None:
    """The archive member name as a relative POSIX path inside the output folder, or None when it
    would land outside it (absolute path, ``..`` climbing above the root, NUL byte)."""
    clean = name.replace("\\", "/")
    if "\x00" in clean or clean.startswith("/") or ".." in clean.split("/"):
        # an absolute name or a ".." component is refused even when it would normalise back inside:
        # archivers that write one never mean well
        return None
    rel = posixpath.normpath(clean)
    return None if rel in ("", ".") else rel


def link_escapes(link_path: str, target: str) -> bool:
    """Whether a symlink at ``link_path`` (relative to the file-system root) pointing at ``target``
    climbs above that root. Absolute targets are read inside the image root (chroot semantics)."""
    base = "/" if target.startswith("/") else posixpath.dirname("/" + link_path)
    depth = 0
    for part in posixpath.join(base, target).split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        else:
            depth += 1
    return False


class Sandbox:
    """A private temporary folder (mode 0700) that extractors write into; removed by :meth:`close`.

    Nothing inside is ever followed through a symlink: walkers use ``lstat`` and extractors write only
    into fresh sub-folders created by :meth:`new_dir`.
    """

    def __init__(self, limits: Limits | None = None, parent: str | None = None) -> None:
        self.limits = limits or Limits()
        self.root = Path(tempfile.mkdtemp(prefix="iotwarden-fw-", dir=parent))
        self.budget = Budget(self.limits)
        self.incidents: list[Incident] = []
        # modes folders had in the image, by logical path: sanitising makes them 0700 on disk
        # (bounded by max_files, like every entry)
        self.dir_modes: dict[str, int] = {}
        self._n = 0

    def new_dir(self, label: str) -> Path:
        self._n += 1
        path = self.root / f"{self._n:04d}-{label}"
        path.mkdir(mode=0o700)
        return path

    def admit_listing(self, entries: list[tuple[bytes, int]], where: str) -> None:
        """An extractor's listing (``ls -l`` mode and size of each entry) against the limits before it
        writes anything: a member over ``max_file_bytes``, or the whole over the bytes or files left,
        raises :class:`LimitExceeded` (a bomb is refused unwritten)."""
        total = 0
        for mode, size in entries:
            if mode.startswith(b"-"):
                if size > self.limits.max_file_bytes:
                    raise LimitExceeded("limit.file_bytes", f"{where}: a member of {size} bytes is over the limit")
                total += size
        if self.budget.total_bytes + total > self.limits.max_total_bytes:
            raise LimitExceeded("limit.total_bytes", f"{where}: unpacks to {total} bytes, over the limit")
        if self.budget.files + len(entries) > self.limits.max_files:
            raise LimitExceeded("limit.files", f"{where}: holds {len(entries)} entries, over the limit")

    def report(self, kind: str, where: str, detail: str) -> None:
        self.incidents.append(Incident(kind, where, detail))

    def inside(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        return True

    def sanitize(self, out: Path, where: str, *, under: str = "root") -> None:
        """Walk a folder an external tool wrote: count files against the budget, remove device nodes,
        FIFOs and sockets, and remove symlinks that climb above the folder (reported). ``under`` is the
        sub-folder holding the file-system root (folder modes are recorded by path inside it)."""
        for dirpath, dirnames, filenames in os.walk(out, followlinks=False):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                rel = path.relative_to(out).as_posix()
                st = path.lstat()
                self.budget.add_files()
                if stat.S_ISLNK(st.st_mode):
                    target = str(path.readlink())
                    if link_escapes(rel, target):
                        path.unlink()
                        self.report("symlink_escape", f"{where}/{rel}", f"link to {target!r} leaves the image root")
                elif stat.S_ISREG(st.st_mode):
                    self.budget.check_file(st.st_size)
                    self.budget.add_bytes(st.st_size)
                elif not stat.S_ISDIR(st.st_mode):
                    path.unlink()
                    self.report("special_file", f"{where}/{rel}", "device node, FIFO or socket removed")
                else:
                    if rel != under:
                        logical = rel[len(under) + 1 :] if under and rel.startswith(under + "/") else rel
                        self.dir_modes[f"{where}/{logical}"] = stat.S_IMODE(st.st_mode)
                    path.chmod(0o700)  # tools restore read-only modes; we must be able to read and clean up

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
