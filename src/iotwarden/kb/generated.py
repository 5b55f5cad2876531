"""The files ``kb/data/generated/`` holds (the compiled index, the parsed registries and tables): each is what its
sources render to, shipped so a start skips the work, and checked by ``iotwarden kb check`` (``--fix`` rewrites it)."""

from __future__ import annotations

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
    """Write a generated file (its folder made if need be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
