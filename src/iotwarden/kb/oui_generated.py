"""The IEEE registry's generated files: ``generated/oui.json`` (the shipped lists, parsed) and
``generated/vendor_spellings.json`` (their vendor names' spellings), rendered, read, checked and written."""

# The shipped lists are kept parsed in ``kb/data/generated/oui.json`` (``iotwarden kb check --fix`` writes it,
# ``kb check`` fails when it is stale): read when its digest matches the shipped files, it spares every start the
# CSV parse (~0.09 CPU s). ``generated/vendor_spellings.json`` is read by kb/oui_names.py (read_spellings).

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from iotwarden.kb import generated, paths
from iotwarden.kb.oui_csv import REGISTRIES, read_registry_csv
from iotwarden.kb.oui_names import SPELLINGS_FORMAT, VendorNames, registry_spellings

CACHE_FORMAT = 3  # version of generated/oui.json; bump when its layout changes


def shipped_digest(shipped_dir: Path | None = None) -> str:
    """sha256 over the shipped registry files (name and bytes, REGISTRIES order; a missing one is skipped)."""
    shipped_dir = shipped_dir or paths.OUI_DIR
    h = hashlib.sha256()
    for filename, _ in REGISTRIES.values():
        path = shipped_dir / f"{filename}.gz"
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _shipped_rows(shipped_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Registry -> the rows of its shipped list as read_registry_csv reads them (a list not shipped left out)."""
    return {registry: read_registry_csv(path, bits) for registry, (filename, bits) in REGISTRIES.items()
            if (path := shipped_dir / f"{filename}.gz").is_file()}


def render_cache(shipped_dir: Path | None = None) -> str:
    """The text of ``generated/oui.json``: the shipped registries' rows as read_registry_csv reads them, per
    registry two lists (assignments, organisations), one registry a line, and the shipped files' digest."""
    shipped_dir = shipped_dir or paths.OUI_DIR
    lines = [f"{json.dumps(registry)}: " + json.dumps([[a for a, _ in rows], [o for _, o in rows]], ensure_ascii=False)
             for registry, rows in _shipped_rows(shipped_dir).items()]
    head = f'{{"format": {CACHE_FORMAT}, "digest": "{shipped_digest(shipped_dir)}", "registries": {{\n'
    return head + ",\n".join(lines) + "\n}}\n"


def render_spellings(shipped_dir: Path | None = None) -> str:
    """The text of ``generated/vendor_spellings.json``: the registry's spellings of the vendor names the shipped
    lists' registrants spell in several cases (:func:`registry_spellings`, one a line), with the shipped lists'
    digest (what ``kb check`` holds it to: it comes from them and from ``vendor_aliases.yaml``)."""
    shipped_dir = shipped_dir or paths.OUI_DIR
    # one organisation per block: a spelling's weight is how many blocks carry it
    organizations = [o for rows in _shipped_rows(shipped_dir).values() for _, o in rows]
    spellings = registry_spellings(organizations, VendorNames.load(registry=False))
    head = f'{{"format": {SPELLINGS_FORMAT}, "digest": "{shipped_digest(shipped_dir)}", "spellings": '
    return head + json.dumps(spellings, ensure_ascii=False, indent=0, sort_keys=True) + "}\n"


def read_cache_data(shipped_dir: Path | None, path: Path) -> dict[str, Any] | None:
    """``generated/oui.json`` parsed and checked; None when it is missing, unreadable, of another format or not
    made from the files now in ``shipped_dir``."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))  # not a dict: .get fails below
        if data.get("format") != CACHE_FORMAT or data.get("digest") != shipped_digest(shipped_dir):
            return None
        registries = data["registries"]
        if not isinstance(registries, dict) or not all(
                isinstance(v, list) and len(v) == 2 and len(v[0]) == len(v[1]) for v in registries.values()):
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def read_cache(shipped_dir: Path | None = None, path: Path | None = None) -> dict[str, list[list[str]]] | None:
    """The parsed shipped registries from ``generated/oui.json``; None when it is missing, unreadable or not
    made from the files now in ``shipped_dir`` (the caller then parses the CSV files)."""
    data = read_cache_data(shipped_dir, path or paths.GENERATED_OUI)
    return None if data is None else data["registries"]


def cache_problem(path: Path | None = None) -> str | None:
    """Why ``generated/oui.json`` is stale (None when it is what the shipped registry files parse to)."""
    return generated.problem(path or paths.GENERATED_OUI, render_cache)


def write_cache(path: Path | None = None) -> None:
    """Regenerate ``generated/oui.json`` from the shipped registry files."""
    generated.write(path or paths.GENERATED_OUI, render_cache())


def spellings_problem(path: Path | None = None) -> str | None:
    """Why ``generated/vendor_spellings.json`` is stale (None when it is what the shipped lists and vendor table
    make)."""
    return generated.problem(path or paths.GENERATED_SPELLINGS, render_spellings)


def write_spellings(path: Path | None = None) -> None:
    """Regenerate ``generated/vendor_spellings.json`` from the shipped registry files and vendor table."""
    generated.write(path or paths.GENERATED_SPELLINGS, render_spellings())
