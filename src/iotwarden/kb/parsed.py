"""The shipped YAML tables (attribute vocabulary, taxonomy, vendor aliases) kept parsed in
``kb/data/generated/tables.json``, each with the sha256 of the text it was parsed from (STYLE 8)."""

# Every start reads these three tables; libyaml's parse of them took ~13 ms CPU of it, JSON's of the
# same data ~1 ms. A table is taken from the generated file only when the text read now hashes to the
# digest stored with it, so an edited table (a checkout's, or a test's copy) is parsed as before and
# answers never differ; ``iotwarden kb check`` fails when the file is stale, ``kb check --fix`` and
# ``write_index()`` (kb/compiled.py, run after editing rules) rewrite it.

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from iotwarden.errors import ConfigError
from iotwarden.kb import generated, paths

TABLES_FORMAT = 1  # version of generated/tables.json; bump when its layout changes


def table_files() -> list[Path]:
    """The shipped tables kept parsed, in a stable order."""
    return [paths.ATTRIBUTES_FILE, paths.TAXONOMY_FILE, paths.VENDOR_ALIASES_FILE]


def text_digest(text: str) -> str:
    """sha256 of a table's text as read (``read_text`` has made CRLF line ends LF already)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_table(text: str, path: Path | None = None) -> Any:
    """``safe_load(text)``: the data stored for ``text``'s digest in ``generated/tables.json`` (``path``) when
    there is one, else the text parsed. Raises what ``safe_load`` raises (yaml.YAMLError) for a text parsed."""
    from iotwarden.kb.schema import safe_load  # noqa: PLC0415 - schema reads its attribute table through this module

    path = path or paths.GENERATED_TABLES
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("format") == TABLES_FORMAT:
            entry = stored["tables"].get(text_digest(text))
            if isinstance(entry, dict) and "data" in entry:
                return entry["data"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # missing or unreadable: parse the text, as before the file existed
    return safe_load(text)


def render_tables(files: list[Path] | None = None) -> str:
    """The text of ``generated/tables.json``: per table (keyed by its text's digest) its name and data, one table
    a line. ConfigError when a table holds what JSON does not keep (a date, a non-text key)."""
    from iotwarden.kb.schema import safe_load  # noqa: PLC0415 - as in load_table

    lines = []
    for path in files if files is not None else table_files():
        text = path.read_text(encoding="utf-8")
        data = safe_load(text)
        try:
            line = json.dumps({"name": path.name, "data": data}, ensure_ascii=False)  # in the YAML's order
        except (TypeError, ValueError):
            line = ""
        if not line or json.loads(line)["data"] != data:
            raise ConfigError(f"{path}: holds values JSON cannot keep (dates, non-text keys): write them as text")
        lines.append(f"{json.dumps(text_digest(text))}: {line}")
    return f'{{"format": {TABLES_FORMAT}, "tables": {{\n' + ",\n".join(lines) + "\n}}\n"


def tables_problem(path: Path | None = None) -> str | None:
    """Why ``generated/tables.json`` is stale (None when it is what the shipped tables parse to)."""
    return generated.problem(path or paths.GENERATED_TABLES, render_tables)


def write_tables(path: Path | None = None) -> None:
    """Regenerate ``generated/tables.json`` from the shipped tables."""
    generated.write(path or paths.GENERATED_TABLES, render_tables())
