"""The files ``kb/data/generated/`` holds (the compiled index, the parsed registries and tables): each is what its
sources render to, shipped so a start skips the work, and checked by ``iotwarden kb check`` (``--fix`` rewrites it);
and the sources' digests a start compares them by, kept per user with the files' stat (:func:`digest_of`)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def problem(path: Path, render: Callable[[], str]) -> str | None:
    """Why the generated file ``path`` is not what ``render()`` makes of its sources now (None when it is)."""
    if not path.is_file():
        return f"{path} is missing: run `iotwarden kb check --fix`"
    if path.read_text(encoding="utf-8") != render():
        return f"{path} is stale: run `iotwarden kb check --fix` and commit it"
    return None


def write(path: Path, text: str) -> None:
    """Write a generated file (its folder made if need be) whole or not at all: a temporary file beside it,
    then renamed over it, so two regenerations at once or a reader meanwhile never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # one a process; its mode as any file's (umask)
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# A start checks that the generated files are what their sources make by hashing the sources (the rule files
# ~4 ms CPU, the registry lists ~3 ms). digest_of keeps each digest with the stat of the files it was taken of
# (size, mtime_ns, ctime_ns, inode) in a small per-user file and hashes again only when one of them differs, as
# git's index and Python's .pyc do; ctime_ns is set by the kernel at every write and every utime, so an edit of
# the same size whose mtime is put back is still seen. A file changed within RACY_NS of its digest being kept
# is not vouched for (git's "racy" rule: a coarse clock may give a later edit the same times), nor is any file
# when the stamp file is missing or unreadable: the sources are hashed, as without it. (Where ctime is no change
# time, Windows's creation time, an edit keeping size, mtime and inode would go unseen.)
STAMP_FORMAT = 1  # version of the stamp file's layout
MAX_STAMPS = 16  # digests kept (the shipped rules, the shipped lists, the copies tests make); the oldest go first
RACY_NS = 2_000_000_000  # a file changed this recently is hashed at every start until it is older


def stamp_path() -> Path:
    """The per-user file of kept digests (``$IOTWARDEN_HOME/cache``, else ``$XDG_CACHE_HOME/iotwarden``, else
    ``~/.cache/iotwarden``)."""
    home = os.environ.get("IOTWARDEN_HOME")
    if home:
        return Path(home) / "cache" / "kb-digests.json"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "iotwarden" / "kb-digests.json"


def _stats(files: list[Path]) -> list[list[int]] | None:
    try:
        return [[(s := f.stat()).st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino] for f in files]
    except OSError:
        return None


def digest_of(kind: str, files: Iterable[Path], compute: Callable[[], str], stamps: Path | None = None) -> str:
    """``compute()`` (a digest of ``files``' contents), or the digest it gave before when every one of ``files``
    has the size, mtime, ctime and inode it had then (see above). ``kind`` names what is hashed."""
    files = list(files)
    try:
        stamps = stamps or stamp_path()
    except RuntimeError:  # no home directory to keep them in
        return compute()
    key = "\n".join([kind, *map(os.path.abspath, files)])
    before = _stats(files)
    kept: dict[str, Any] = {}
    try:
        data = json.loads(stamps.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("format") == STAMP_FORMAT and isinstance(data.get("stamps"), dict):
            kept = data["stamps"]
            entry = kept.get(key)
            if before is not None and isinstance(entry, dict) and entry.get("stat") == before \
                    and isinstance(entry.get("digest"), str):
                return str(entry["digest"])
    except (OSError, ValueError):
        pass
    digest = compute()
    now = time.time_ns()
    # kept only when no file changed while it was hashed, nor so recently that a later edit could keep its times
    if before is not None and before == _stats(files) and all(now - s[2] > RACY_NS and now - s[1] > RACY_NS
                                                                   for s in before):
        kept.pop(key, None)
        kept[key] = {"stat": before, "digest": digest}
        while len(kept) > MAX_STAMPS:
            del kept[next(iter(kept))]
        with contextlib.suppress(OSError):  # a read-only home: hashed at every start, as before
            write(stamps, json.dumps({"format": STAMP_FORMAT, "stamps": kept}, ensure_ascii=False) + "\n")
    return digest
