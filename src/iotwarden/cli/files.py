"""Files the user names on the command line: an output checked before long work starts, inputs and
outputs whose OSError becomes one :class:`~iotwarden.errors.ConfigError` line (exit code 2).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from iotwarden import inputfile
from iotwarden.errors import CaptureError, ConfigError, describe

# a certificate or a SUIT envelope read whole (suit.MAX_ENVELOPE_BYTES is 256 KiB): far above either
MAX_SMALL_INPUT_BYTES = 16 << 20


def check_output(path: Path | None) -> None:
    """Refuse, before any long work, an output file (``-o``) that cannot be written where it is named."""
    if path is None:
        return
    if path.is_dir():
        raise ConfigError(f"cannot write {path}: it is a folder (name a file)")
    if not path.parent.is_dir():
        raise ConfigError(f"cannot write {path}: folder {path.parent} does not exist")


def check_output_folder(path: Path) -> None:
    """Refuse, before any work (a certificate issued whose key could not be kept), an output folder that is a
    file; a folder that does not exist yet is made by the writer."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"cannot write into {path}: it is a file (name a folder)")


def check_watched(source: str) -> None:
    """Refuse, before serving or watching, a source (``monitor SOURCE``, ``serve --capture``) that is
    neither a folder nor a network interface; an empty name is not taken for the working folder."""
    if not source:
        raise CaptureError("an empty name is neither a folder nor a network interface")
    if Path(source).is_dir():
        return
    try:
        socket.if_nametoindex(source)
    except (OSError, ValueError):  # ValueError: a NUL in the name
        if Path(source).is_file():
            raise CaptureError(f"{source}: a file, not a folder or a network interface "
                               "(iotwarden analyze reads a file)") from None
        raise CaptureError(f"{source}: no such folder or network interface") from None


@contextmanager
def output(path: Path | None) -> Iterator[TextIO]:
    """stdout, or the text file ``path`` (an OSError opening or writing it is one ConfigError line)."""
    if path is None:
        yield sys.stdout
        return
    try:
        with path.open("w", encoding="utf-8") as fh:
            yield fh
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {describe(exc)}") from None


def read_file(path: Path, what: str, limit: int = MAX_SMALL_INPUT_BYTES) -> bytes:
    """The bytes of an input file the user named (``what`` it should be, for the message): a regular file
    of at most ``limit`` bytes (inputfile)."""
    try:
        return inputfile.read_bytes(path, limit)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {describe(exc)}") from None


def write_file(path: Path, data: str | bytes) -> None:
    """Write an output file the user named; an OSError is one ConfigError line."""
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {describe(exc)}") from None
