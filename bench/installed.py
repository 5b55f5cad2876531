"""Run iotwarden's benchmark subprocesses as an installed product runs: with its modules' bytecode cached.

A pip-installed package ships (or writes on first import) ``.pyc`` files; an editable install in an
environment that sets ``PYTHONDONTWRITEBYTECODE=1`` (this project's dev machines do) compiles every
iotwarden module it imports from source on every run, ~0.15-0.2 CPU s that no user pays. The benchmark
therefore runs the iotwarden tools with that variable unset and ``PYTHONPYCACHEPREFIX`` pointing at
``bench/out/pycache`` (git-ignored; the source tree gets no ``__pycache__``), after one warm-up run that
fills it. Bytecode is checked against its source's mtime as usual, so an edited module is recompiled.
"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

PCAP_HEADER = 24
RECORD_HEADER = 16


def product_env(cache: Path) -> dict[str, str]:
    """This process's environment with bytecode written to and read from ``cache``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def head_slice(src: Path, dst: Path, packets: int) -> Path:
    """The first ``packets`` records of the little-endian classic pcap ``src`` written to ``dst``."""
    with src.open("rb") as fh:
        header = fh.read(PCAP_HEADER)
        if len(header) < PCAP_HEADER or header[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            raise ValueError(f"{src}: not a little-endian classic pcap")
        chunks = [header]
        for _ in range(packets):
            head = fh.read(RECORD_HEADER)
            if len(head) < RECORD_HEADER:
                break
            incl = struct.unpack("<IIII", head)[2]
            chunks += (head, fh.read(incl))
    dst.write_bytes(b"".join(chunks))
    return dst


def warm_up(cache: Path, python: str, commands: list[list[str]]) -> None:
    """Compile every iotwarden module into ``cache``, then run each command once so the standard
    library and third-party modules it imports are cached there too (the prefix replaces their
    ``__pycache__``). A failed warm-up raises: the measured run would fail the same way."""
    env = product_env(cache)
    compile_all = ("import compileall, os, sys, iotwarden; "
                   "sys.exit(not compileall.compile_dir(os.path.dirname(iotwarden.__file__), quiet=1))")
    subprocess.run([python, "-c", compile_all], env=env, check=True)
    for cmd in commands:
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
