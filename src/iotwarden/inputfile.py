"""Reading a whole file a user names (policy, playbook, scenario, MUD profile, feed...): regular files only,
bounded in size.

Loaders read their file into memory at once; ``/dev/zero`` would grow memory for ever, a FIFO would block
the command until a writer came, and a multi-gigabyte file named by mistake would exhaust memory. Every
such loader reads through :func:`read_bytes` / :func:`read_text` with its own documented limit (a
``MAX_*_BYTES`` constant next to the loader). A refusal is an :class:`OSError` whose ``strerror`` says why,
so the loaders' existing ``except OSError`` and :func:`iotwarden.errors.describe` turn it into their line.
"""

from __future__ import annotations

import errno
import os
import stat
import zlib
from pathlib import Path

NOT_REGULAR = "not a regular file"  # the words `analyze` uses for a FIFO, a device or a socket
NUL_IN_NAME = "a file name cannot hold a NUL byte"


class InputRefused(OSError):
    """The file is not a regular file, is larger than its loader's limit, or its name holds a NUL byte (a name a
    file may give another: a scenario's ``extends``); nothing of it was read."""


def read_bytes(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes; OSError otherwise.

    Opened without blocking (a FIFO's open waits for a writer) and checked on the open descriptor, so
    what is read is what was checked; a file that grows past ``limit`` while read is refused too.
    """
    if "\0" in os.fspath(path):  # os.open raises ValueError for it, which no loader's ``except OSError`` takes
        raise InputRefused(errno.EINVAL, NUL_IN_NAME)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd)
        if stat.S_ISDIR(mode.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(mode.st_mode):
            raise InputRefused(errno.EINVAL, NOT_REGULAR)
        if mode.st_size > limit:
            raise InputRefused(errno.EFBIG, _too_large(limit))
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputRefused(errno.EFBIG, _too_large(limit))
    return data


def read_text(path: Path, limit: int) -> str:
    """:func:`read_bytes` decoded as UTF-8 with universal newlines, as ``Path.read_text`` reads it
    (UnicodeDecodeError for other bytes)."""
    return read_bytes(path, limit).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def gunzip(data: bytes, limit: int) -> bytes:
    """The gzip members of ``data`` (RFC 1952; several in a row, as ``gzip.decompress`` reads them) unpacked to
    at most ``limit`` bytes, taken a bounded piece at a time: a small file that unpacks to gigabytes is refused
    (InputRefused) before it is held. Damaged data raises zlib.error, a member cut short EOFError."""
    out = bytearray()
    while data:
        dec = zlib.decompressobj(wbits=31)  # a gzip header and trailer around the deflate stream
        while data and not dec.eof:
            out += dec.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                raise InputRefused(errno.EFBIG, f"unpacks to more than {limit:,} bytes, the limit for this kind of "
                                                "file")
            data = dec.unconsumed_tail
        if not dec.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        data = dec.unused_data.lstrip(b"\0")  # gzip allows zero padding after a member
    return bytes(out)


def _too_large(limit: int) -> str:
    return f"larger than {limit:,} bytes, the limit for this kind of file"
