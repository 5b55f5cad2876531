"""FoxIO ``ja4plus-mapping.csv`` -> ``tls.ja4`` rules (a copy the user holds; FoxIO License 1.1)."""

# Columns: Application, Library, Device, OS, ja4, ja4s, ja4h, ja4x, ja4t, ja4tscan, Notes. Only the
# JA4 (TLS client) column is converted; rows naming neither an OS nor a device are counted as
# skipped, since an application name alone says nothing about the device.

from __future__ import annotations

import csv
import io
import re

from iotwarden.errors import ParseError
from iotwarden.kb.importers.common import ImportResult, slug
from iotwarden.kb.taxonomy import Taxonomy

_JA4 = re.compile(r"^[tqd]\d{2}[di]\d{4}[\w]{2}_[0-9a-f]{12}_[0-9a-f]{12}$")


def convert(text: str, taxonomy: Taxonomy | None = None) -> ImportResult:
    try:
        return _convert(text, taxonomy)
    except csv.Error as exc:  # a NUL byte, an unterminated quote at the end: not a CSV file
        raise ParseError(f"not a JA4+ mapping CSV: {exc}") from None


def _convert(text: str, taxonomy: Taxonomy | None) -> ImportResult:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "ja4" not in reader.fieldnames:
        raise ParseError("no 'ja4' column: not a JA4+ mapping CSV")
    tax = taxonomy or Taxonomy.load()
    result = ImportResult("ja4")
    for n, row in enumerate(reader, start=2):
        ja4 = (row.get("ja4") or "").strip()
        if not ja4:
            result.skipped["row without a JA4"] += 1
            continue
        if not _JA4.match(ja4):
            result.skipped["malformed JA4"] += 1
            continue
        conclusions: dict[str, str] = {}
        if (row.get("OS") or "").strip():
            conclusions["os"] = row["OS"].strip()
        device = (row.get("Device") or "").strip()
        if device:
            resolved = tax.resolve(device)
            if resolved:
                conclusions["device_type"] = resolved
            else:
                conclusions["model"] = device
        if not conclusions:
            result.skipped["application/library only"] += 1
            continue
        label = row.get("Application") or row.get("Library") or device or conclusions.get("os", "")
        result.add({"id": f"ja4.{n}.{slug(label, 30)}", "match": {"attribute": "tls.ja4", "exact": ja4},
                    "conclusions": conclusions, "weight": 0.5,
                    "reference": f"FoxIO ja4plus-mapping.csv line {n}: {label} (FoxIO License 1.1)"})
    return result
