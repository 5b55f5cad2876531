"""Zeek log file formats: the ASCII/TSV writer (``#separator`` header) and JSON lines, plain or gzip'd.

Owns line decoding only (opening, reading lines and sniffing: :mod:`iotwarden.sources.zeek_lines`): each record
comes out as a flat ``{column: value}`` dict with Zeek's own column names and typed values;
:mod:`iotwarden.sources.zeek` maps them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from iotwarden.errors import ParseError
from iotwarden.model.epoch import showable
from iotwarden.sources.zeek_lines import (
    GZIP_MAGIC,
    KNOWN_TYPES,
    MAX_LINE_BYTES,
    READ_BLOCK,
    SNIFF_LINES,
    flatten,
    iter_lines,
    open_log,
    sniff_lines,
    type_from_keys,
    type_from_name,
)

MAX_COUNT = 2**64 - 1  # Zeek's ``count`` is an unsigned 64-bit integer (script reference, "Types")

# the file and line names (sources/zeek_lines.py, split from this module) stay importable from here
__all__ = ["GZIP_MAGIC", "KNOWN_TYPES", "MAX_COUNT", "MAX_LINE_BYTES", "READ_BLOCK", "SNIFF_LINES", "TsvHeader",
           "apply_directive", "column_converters", "column_type", "count", "decode_json", "decode_tsv", "epoch",
           "finite", "flatten", "group_fits", "iter_lines", "may_refuse", "open_log", "sniff_lines", "to_time",
           "type_from_keys", "type_from_name"]

_HEX_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_SPACES = re.compile(rb" +")


@dataclass(slots=True)
class TsvHeader:
    """The directives of one TSV header block (Zeek ``LogAscii`` writer)."""

    separator: bytes = b"\t"
    set_separator: bytes = b","
    empty_field: bytes = b"(empty)"
    unset_field: bytes = b"-"
    path: str | None = None
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    # Columns per separator-delimited part of ``#fields`` when some part holds several names split by
    # spaces (Stratosphere IoT-23 ``conn.log.labeled``: ``tunnel_parents   label   detailed-label``);
    # None when every part is one name (what Zeek itself writes).
    groups: list[int] | None = None
    converters: list[Callable[[bytes], Any]] | None = None  # per column, built on first use


def _unescape(raw: bytes) -> str:
    """Undo the ASCII writer's ``\\xHH`` escapes; bytes that are not UTF-8 stay visible as ``\\xHH``."""
    if b"\\x" in raw:
        raw = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return raw.decode("utf-8", "backslashreplace")


def finite(raw: bytes | str) -> float:
    """A Zeek ``interval``/``double`` (ValueError if not a finite number)."""
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def epoch(raw: bytes | str) -> float:
    """A Zeek ``time`` (ValueError unless within the years 1 to 9999, model/epoch.py: no sensor writes another, and
    a flow or line stamped past year 9999 made every command that shows its time fail)."""
    value = float(raw)
    if not showable(value):
        raise ValueError("time outside the years 1 to 9999")
    return value


def count(raw: bytes | str) -> int:
    """A Zeek ``count``: an unsigned 64-bit integer (Zeek script reference, "Types"); ValueError for a negative
    or wider number, which no Zeek writes (a flow's negative packet or byte count made analyzers fail)."""
    value = int(raw)
    if not 0 <= value <= MAX_COUNT:
        raise ValueError("count out of range")
    return value


def _bool(raw: bytes) -> bool:
    if raw == b"T":
        return True
    if raw == b"F":
        return False
    raise ValueError("bool is neither T nor F")


# TSV text -> value, per Zeek type (Zeek script reference, "Types"); any other type stays text
_SCALARS: dict[str, Callable[[bytes], Any]] = {
    "count": count, "int": int, "port": int, "time": epoch, "interval": finite, "double": finite, "bool": _bool,
}
Converter = Callable[[bytes], Any]


def _converter(type_name: str, header: TsvHeader) -> Converter:
    """The function decoding one column of ``type_name`` (sets and vectors split on set_separator)."""
    if type_name.startswith(("set[", "vector[", "table[")):
        inner = _SCALARS.get(type_name[type_name.index("[") + 1: -1], _unescape)
        unset, empty, sep = header.unset_field, header.empty_field, header.set_separator

        def container(raw: bytes) -> list[Any]:
            if raw == empty:
                return []
            return [None if item == unset else inner(item) for item in raw.split(sep)]

        return container
    if type_name == "string":
        empty_text = header.empty_field
        return lambda raw: "" if raw == empty_text else _unescape(raw)
    return _SCALARS.get(type_name, _unescape)


def column_type(header: TsvHeader, index: int) -> str:
    """The Zeek type of column ``index`` (``string`` when ``#types`` does not say)."""
    types = header.types
    return types[index] if index < len(types) else "string"


def column_converters(header: TsvHeader) -> list[Converter]:
    """The decoding function of each column, built once per header (any directive rebuilds them)."""
    converters = header.converters
    if converters is None:
        converters = header.converters = [_converter(column_type(header, i), header) for i in range(len(header.fields))]
    return converters


def may_refuse(type_name: str) -> bool:
    """Whether a column of ``type_name`` can hold text its converter refuses (a malformed line);
    text types (string, enum, addr, ...) never do."""
    if type_name.startswith(("set[", "vector[", "table[")):
        type_name = type_name[type_name.index("[") + 1: -1]
    return type_name in _SCALARS


def group_fits(part: bytes, size: int) -> bool:
    """Whether a part of a data line holds the ``size`` space-separated values its ``#fields`` part names."""
    return len(_SPACES.split(part.strip(b" "), maxsplit=size - 1)) == size


def decode_tsv(line: bytes, header: TsvHeader) -> dict[str, Any]:
    """One TSV data line as ``{column: value}``; unset columns are left out. ParseError if malformed."""
    parts = line.split(header.separator)
    fields = header.fields
    if len(parts) != len(fields):
        groups = header.groups
        if groups is None or len(parts) != len(groups):
            raise ParseError(f"{len(parts)} columns where the header has {len(fields)}")
        parts = _ungroup(parts, groups)
    converters = column_converters(header)
    unset = header.unset_field
    record: dict[str, Any] = {}
    try:
        for name, convert, raw in zip(fields, converters, parts, strict=True):
            if raw != unset:
                record[name] = convert(raw)
    except ValueError as exc:
        raise ParseError(f"bad value in column {name}: {exc}") from exc
    return record


def _ungroup(parts: list[bytes], groups: list[int]) -> list[bytes]:
    """Data columns of a line whose header put several names in one part: each such part split on
    runs of spaces into as many values (the last value keeps any further spaces)."""
    out: list[bytes] = []
    for part, size in zip(parts, groups, strict=True):
        if size == 1:
            out.append(part)
            continue
        values = _SPACES.split(part.strip(b" "), maxsplit=size - 1)
        if len(values) != size:
            raise ParseError(f"{len(values)} space-separated values where the header names {size}")
        out += values
    return out


def _names(value: bytes, separator: bytes) -> tuple[list[str], list[int] | None]:
    """Column names (or types) of a ``#fields``/``#types`` line and, when a part holds several
    space-separated names, the number of names per part (Zeek names and types never hold a space)."""
    parts = [p.split() if b" " in p else [p] for p in value.split(separator)]
    names = [n.decode("utf-8", "replace") for part in parts for n in part]
    return names, ([len(p) for p in parts] if len(names) != len(parts) else None)


def apply_directive(line: bytes, header: TsvHeader) -> TsvHeader:
    """Update (or, on ``#separator``, restart) the header with one ``#`` line; returns the header."""
    if line.startswith(b"#separator "):
        spec = line[len(b"#separator "):].strip()
        separator = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), spec)
        if not separator:
            raise ParseError("empty #separator")
        return TsvHeader(separator=separator)
    key, _, value = line[1:].partition(header.separator)
    header.converters = None  # any directive may change how columns decode
    if key == b"set_separator":
        header.set_separator = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), value) or b","
    elif key == b"empty_field":
        header.empty_field = value
    elif key == b"unset_field":
        header.unset_field = value
    elif key == b"path":
        header.path = value.decode("utf-8", "replace")
    elif key == b"fields":
        header.fields, header.groups = _names(value, header.separator)
    elif key == b"types":
        header.types = _names(value, header.separator)[0]
    return header  # #open, #close and unknown directives carry nothing we map


def decode_json(line: bytes) -> dict[str, Any]:
    """One JSON-lines record, flattened to dotted column names; ParseError if not a JSON object."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise ParseError("JSON line is not an object")
    return flatten(record)


def to_time(value: Any) -> float:
    """A Zeek ``time`` as epoch seconds: a number (the default) or ISO 8601 (``JSON::TS_ISO8601``)."""
    if isinstance(value, bool):
        raise ParseError("time is a boolean")
    if isinstance(value, int | float):
        ts = float(value)
    elif isinstance(value, str):
        try:
            ts = float(value)
        except ValueError:
            try:
                when = datetime.fromisoformat(value)
                ts = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()  # Zeek writes UTC
            except ValueError as exc:
                raise ParseError(f"bad time {value!r}") from exc
    else:
        raise ParseError(f"bad time {value!r}")
    if not showable(ts):  # NaN, infinite, or past the years 1 to 9999 (model/epoch.py)
        raise ParseError(f"bad time {value!r}")
    return ts
