"""What an analyze run reads: the capture files and Zeek log folders under the paths given (folders searched,
Zeek logs that repeat a capture's traffic left out, with why), each file's format told by its head, and each
input's fingerprint (its sha256 and size), by which a file analysed before is recognised.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from iotwarden.errors import describe

SNIFF_BYTES = 4096  # bytes read from a file's head to tell a Zeek log from a capture
HASH_CHUNK = 1 << 20
PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"
MAX_FOLDER_DEPTH = 32  # folder levels searched below a folder given to analyse


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a run reads (``paths``: capture files, and folders read as one Zeek log set), the folders
    of Zeek logs it leaves out (``left_out``) and the folders it could not list (``unreadable``),
    each with why."""

    paths: list[Path]
    left_out: list[tuple[Path, str]]
    unreadable: list[tuple[Path, str]]


def expand_inputs(paths: Sequence[Path]) -> Inputs:
    """Inputs to analyse: each file as given; for a folder, every capture file in it and in the
    folders below it (sorted, hidden names and linked folders left out, :data:`MAX_FOLDER_DEPTH`
    levels), and each folder holding Zeek logs (its logs are read together, so conn.log MACs join the
    other logs). A dataset keeps its captures in folders of their own (per device, per protocol),
    and a capture's Zeek logs in a folder below it (IoT-23's ``bro/``): Zeek logs in a folder below
    one that holds captures describe the same traffic, so they are left out, with the reason (analyse
    that folder on its own to read them)."""
    found = Inputs([], [], [])
    for path in paths:
        if path.is_dir():
            _walk(path, 0, None, found)
        else:
            found.paths.append(path)
    return found


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """The paths :func:`expand_inputs` reads."""
    return expand_inputs(paths).paths


def _walk(folder: Path, depth: int, captures_at: Path | None, found: Inputs) -> None:
    """``captures_at``: the nearest folder above ``folder`` (in this walk) that holds captures."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        found.unreadable.append((folder, f"{folder}: cannot list the folder: {describe(exc)}"))
        return
    files = [p for p in entries if not p.name.startswith(".") and p.is_file()]
    kinds = {p: sniff_format(p) for p in files}
    captures = [p for p in files if kinds[p] == "capture"]
    found.paths.extend(captures)
    if "zeek" in kinds.values():
        if captures_at is None:
            found.paths.append(folder)
        else:
            found.left_out.append((folder, f"Zeek logs below {captures_at}, whose captures hold the same traffic "
                                      "(analyse this folder on its own to read them)"))
    below = captures_at if captures_at is not None else (folder if captures else None)
    for sub in entries:
        if sub.name.startswith(".") or sub.is_symlink() or not sub.is_dir():
            continue
        if depth + 1 > MAX_FOLDER_DEPTH:
            found.left_out.append((sub, f"more than {MAX_FOLDER_DEPTH} folder levels below the folder given"))
            continue
        _walk(sub, depth + 1, below, found)


def zeek_logs(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.iterdir()) if p.is_file() and sniff_format(p) == "zeek"]


def fingerprint(path: Path) -> tuple[str, int]:
    """sha256 and size of a file; of a Zeek folder: over its logs' names and hashes, and their total size."""
    if not path.is_dir():
        return _sha256(path), path.stat().st_size
    digest, size = hashlib.sha256(b"zeek-folder\n"), 0
    for log in zeek_logs(path):
        digest.update(f"{log.name}\t{_sha256(log)}\n".encode())
        size += log.stat().st_size
    return digest.hexdigest(), size


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as gz:
                head = gz.read(SNIFF_BYTES)
        except (OSError, EOFError, zlib.error):  # not gzip after all, or damaged: the reader says why
            return b""
    return head


def sniff_format(path: Path) -> str | None:
    """``"zeek"`` (a ``#separator`` header, or JSON lines with ts and uid), ``"capture"`` or None."""
    try:
        head = _head(path)
    except OSError:
        return None
    if head.startswith(b"#separator"):
        return "zeek"
    if head[:4] in PCAP_MAGICS or head.startswith(PCAPNG_MAGIC):
        return "capture"
    first = head.lstrip().split(b"\n", 1)[0]
    if first.startswith(b"{"):
        try:
            record = json.loads(first)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to be a Zeek record
            return None
        if isinstance(record, dict) and "ts" in record and ("uid" in record or "id.orig_h" in record):
            return "zeek"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
