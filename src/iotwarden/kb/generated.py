"""The files ``kb/data/generated/`` holds (the compiled index, the parsed registries and tables): each is what its
sources render to, shipped so a start skips the work, and checked by ``iotwarden kb check`` (``--fix`` rewrites it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


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
