"""A file the monitor follows: how far it has been read (:class:`Cursor`; a rotated log's names share one
:class:`Progress`), what it is known by (its head's digest; a Zeek log's content name, :func:`zeek_ident`), whether a
new Zeek log can be read while still growing, and the packets an earlier read fed passed over.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from iotwarden.engine.batch import PacketBatch
from iotwarden.errors import CaptureError
from iotwarden.services.inputs import sniff_format
from iotwarden.sources import zeek
from iotwarden.sources.zeek_lines import KNOWN_TYPES, iter_lines, open_log

HEAD_BYTES = 4096  # bytes of a file's start compared to tell more of the same file from new content
IDENT_LINES = 256  # Zeek log lines looked at for the first record that, with the header, names a log


@dataclass(slots=True)
class Progress:
    """Records (packets or log lines) of one content read: shared by the names it has had (a rotated log)."""

    records: int = 0


@dataclass(slots=True)
class Cursor:
    """How far a followed file has been read: ``records`` packets (capture) or log lines (Zeek)."""

    kind: str | None  # "capture", "zeek", or None: not something the monitor reads
    size: int
    mtime_ns: int
    head_len: int  # the file's first ``head_len`` bytes hash to ``head`` (at most HEAD_BYTES)
    head: bytes
    progress: Progress = field(default_factory=Progress)
    error: str | None = None  # the last read's error, reported once
    log_type: str | None = None  # a Zeek log's type (conn, dns...)
    ident: bytes | None = None  # a Zeek log's content name (:func:`zeek_ident`), once it has a whole record
    resume: zeek.Resume = field(default_factory=zeek.Resume)  # where a Zeek log's next read starts (plain or gz)
    resumed: int = 0  # the log's lines before where ``resume`` says its next read starts

    @property
    def records(self) -> int:
        return self.progress.records

    @records.setter
    def records(self, value: int) -> None:
        self.progress.records = value


def head_of(path: Path, length: int = HEAD_BYTES) -> tuple[int, bytes]:
    with path.open("rb") as fh:
        data = fh.read(length)
    return len(data), hashlib.sha256(data).digest()


def zeek_ident(path: Path) -> bytes | None:
    """What names a Zeek log whatever its file is called or whether it is gzip'd: a digest of its lines up
    to its first whole record (a TSV log's header holds Zeek's ``#open`` time; a JSON record its ts and
    uid); None before the log holds a whole record, or when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open_log(path) as fh:
            for line in itertools.islice(iter_lines(fh, lambda: None, whole_lines=True), IDENT_LINES):
                digest.update(line + b"\n")
                if line.strip() and not line.startswith(b"#"):
                    return digest.digest()
    except (CaptureError, OSError):
        return None
    return None


def zeek_log_begun(path: Path) -> bool:
    """Whether ``path`` is a Zeek log of a type we map with a whole first record (:func:`zeek_ident` names it): read
    at once, whole lines only, though still growing (Zeek appends to a log all the time on a busy network, so a new
    one, after each rotation or found at start, would wait for a quiet poll to settle)."""
    return (sniff_format(path) == "zeek" and zeek.sniff_zeek(path) in KNOWN_TYPES
            and zeek_ident(path) is not None)


def skip_packets(batches: Iterator[PacketBatch], skip: int) -> Iterator[PacketBatch]:
    """The packets after the first ``skip`` (those fed by an earlier read of the same file)."""
    for batch in batches:
        n = len(batch)
        if skip >= n:
            skip -= n
            continue
        if skip:
            batch = PacketBatch(batch.data, batch.offsets[skip:], batch.caplen[skip:], batch.wirelen[skip:],
                                batch.ts[skip:], batch.linktype[skip:])
            skip = 0
        yield batch
