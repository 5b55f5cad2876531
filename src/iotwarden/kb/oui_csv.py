"""The IEEE Registration Authority's lists as CSV files: which copy of a list is read, its rows read and checked."""

# The lists (MA-L ``oui.csv``, MA-M ``mam.csv``, MA-S ``oui36.csv``, IAB ``iab.csv``) ship gzip-compressed in
# ``kb/data/oui``; a newer list installed by ``iotwarden kb update --oui`` in the user data dir wins.

from __future__ import annotations

import csv
import io
import zlib
from pathlib import Path

from iotwarden import inputfile
from iotwarden.errors import ConfigError

# registry name -> (file name, prefix length in bits); MA-L is the old "OUI" (IEEE 802-2014 §8.2)
REGISTRIES: dict[str, tuple[str, int]] = {
    "MA-L": ("oui.csv", 24),
    "MA-M": ("mam.csv", 28),
    "MA-S": ("oui36.csv", 36),
    "IAB": ("iab.csv", 36),
}
MAX_REGISTRY_ROWS = 200_000  # per file; the 2022 MA-L list has ~32.5k rows
MAX_REGISTRY_BYTES = 64 * 1024 * 1024  # per file, read or unpacked (MA-L's CSV is ~3.6 MB)
UPPER_HEX = frozenset("0123456789ABCDEF")  # an assignment's digits, and a MAC's as kb/oui.py mac_hex reads it
ASSIGNMENT_DIGITS = {24: 6, 28: 7, 36: 9}  # hex digits of an assignment per registry prefix length


def registry_file(filename: str, user_dir: Path, shipped_dir: Path) -> Path | None:
    """The user's copy of a registry file if installed, else the shipped gzip one."""
    for candidate in (user_dir / f"{filename}.gz", user_dir / filename, shipped_dir / f"{filename}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_registry_csv(path: Path, bits: int) -> list[tuple[str, str]]:
    """(assignment hex, organisation) rows of one IEEE registry CSV (plain or gzip).

    Raises ConfigError naming the file when it is not an IEEE registry CSV.
    """
    try:
        raw = inputfile.read_bytes(path, MAX_REGISTRY_BYTES)
        if raw[:2] == b"\x1f\x8b":
            raw = inputfile.gunzip(raw, MAX_REGISTRY_BYTES)
        text = raw.decode("utf-8-sig")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:  # a damaged gzip copy: zlib.error, EOFError
        raise ConfigError(f"{path}: cannot read IEEE registry: {exc}") from exc
    return parse_registry_csv(text, bits, str(path))


def _csv_rows(text: str, origin: str) -> list[list[str]]:
    """The rows of a CSV text (RFC 4180: CR, LF or CRLF end a record); ConfigError naming the line where it stops
    being CSV (a quote left open past csv's field limit, ...), which escaped as ``_csv.Error``, an internal error."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as exc:
        raise ConfigError(f"{origin}:{reader.line_num}: not CSV: {exc}") from None


def parse_registry_csv(text: str, bits: int | None, origin: str) -> list[tuple[str, str]]:
    """Rows of an IEEE registry CSV text; ``bits`` None accepts any registry's prefix length."""
    reader = iter(_csv_rows(text, origin))
    header = next(reader, None)
    if not header or [h.strip() for h in header[:3]] != ["Registry", "Assignment", "Organization Name"]:
        raise ConfigError(f"{origin}: not an IEEE registry CSV (header 'Registry,Assignment,Organization Name')")
    rows: list[tuple[str, str]] = []
    digits = ASSIGNMENT_DIGITS.get(bits) if bits else None  # once per file: this loop runs ~50k times a start
    for lineno, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(rows) >= MAX_REGISTRY_ROWS:
            raise ConfigError(f"{origin}: more than {MAX_REGISTRY_ROWS} rows (MAX_REGISTRY_ROWS)")
        if len(row) < 3:
            raise ConfigError(f"{origin}:{lineno}: expected at least 3 columns")
        assignment = row[1].strip().upper()
        want = digits if bits else len(assignment)
        if len(assignment) != want or not UPPER_HEX.issuperset(assignment):
            raise ConfigError(f"{origin}:{lineno}: bad assignment {row[1]!r} for a {bits}-bit registry")
        rows.append((assignment, row[2].strip()))
    return rows


def registry_of(text: str) -> str | None:
    """The registry name (MA-L, MA-M, MA-S, IAB) of the first data row of a registry CSV text."""
    reader = csv.reader(io.StringIO(text))
    try:
        next(reader, None)
        for row in reader:
            if row:
                return row[0].strip() if row[0].strip() in REGISTRIES else None
    except csv.Error:  # NUL bytes, broken quoting: not a registry CSV
        return None
    return None
