"""Fingerbank ``dhcp_fingerprints.conf`` (2014 format) -> DHCP option 55 and vendor class rules."""

# Format: ``[class N]`` sections (``description``, ``members=100-199,102-106``) and ``[os N]``
# sections (``description``, ``fingerprints=<<EOT`` one option-55 list a line ``EOT``, optional
# ``vendor_id=<<EOT`` ... ``EOT``); ``#`` starts a comment line. The class an os id falls in gives
# the OS family or the device type (resolved through the taxonomy aliases).

from __future__ import annotations

import re
from typing import Any

from iotwarden.errors import ParseError
from iotwarden.kb.importers.common import ImportResult
from iotwarden.kb.taxonomy import Taxonomy

OS_FAMILIES = {"windows": "Windows", "macintosh": "macOS", "linux": "Linux", "bsd": "BSD", "solaris": "Solaris"}
MAX_HEREDOC_LINES = 10_000  # lines of one <<EOT block


def parse(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{"class": {id: fields}, "os": {id: fields}}``; heredoc fields become lists of lines."""
    out: dict[str, dict[str, dict[str, Any]]] = {"class": {}, "os": {}}
    current: dict[str, Any] | None = None
    lines = iter(text.splitlines())
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"\[(class|os)\s+(\d+)\]", line)
        if m:
            current = out[m.group(1)].setdefault(m.group(2), {})
            continue
        if current is None or "=" not in line:
            raise ParseError(f"unexpected line outside a [class]/[os] section: {line[:60]!r}")
        key, value = (p.strip() for p in line.split("=", 1))
        if value == "<<EOT":
            block: list[str] = []
            for inner in lines:
                inner = inner.strip()
                if inner == "EOT":
                    break
                if inner and not inner.startswith("#"):
                    block.append(inner)
                if len(block) > MAX_HEREDOC_LINES:
                    raise ParseError(f"heredoc longer than {MAX_HEREDOC_LINES} lines")
            else:
                raise ParseError(f"unterminated <<EOT block for {key!r}")
            current[key] = block
        else:
            current[key] = value
    return out


def _members(spec: str) -> list[tuple[int, int]]:
    ranges = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isascii() and lo.isdigit():
            ranges.append((int(lo), int(hi) if hi.isascii() and hi.isdigit() else int(lo)))
    return ranges


def convert(text: str, taxonomy: Taxonomy | None = None) -> ImportResult:
    data = parse(text)
    if not data["os"]:
        raise ParseError("no [os N] sections: not a Fingerbank dhcp_fingerprints.conf")
    tax = taxonomy or Taxonomy.load()
    classes = [(_members(c.get("members", "")), c.get("description", "")) for c in data["class"].values()]
    result = ImportResult("fingerbank")
    for os_id, fields in data["os"].items():
        description = str(fields.get("description", "")).strip() or f"Fingerbank OS {os_id}"
        conclusions = _conclusions(int(os_id), description, classes, tax)
        for k, fp in enumerate(fields.get("fingerprints", []), start=1):
            numbers = re.findall(r"\d+", fp)
            if not numbers:
                result.skipped["empty fingerprint"] += 1
                continue
            result.add({"id": f"fingerbank.os{os_id}.prl{k}",
                        "match": {"attribute": "dhcp.param_req_list", "exact": ",".join(numbers)},
                        "conclusions": dict(conclusions), "weight": 0.5,
                        "reference": f"Fingerbank 2014 [os {os_id}] {description} (ODbL 1.0 / DbCL 1.0)"})
        for k, vendor_class in enumerate(fields.get("vendor_id", []), start=1):
            result.add({"id": f"fingerbank.os{os_id}.vc{k}",
                        "match": {"attribute": "dhcp.vendor_class", "exact": vendor_class},
                        "conclusions": dict(conclusions), "weight": 0.4,
                        "reference": f"Fingerbank 2014 [os {os_id}] {description} (ODbL 1.0 / DbCL 1.0)"})
        if not fields.get("fingerprints") and not fields.get("vendor_id"):
            result.skipped["os entry without fingerprints"] += 1
    return result


def _conclusions(os_id: int, description: str, classes: list[tuple[list[tuple[int, int]], str]],
                 tax: Taxonomy) -> dict[str, str]:
    # the widest class range containing the id wins: a class's own block of 100 ids beats a stray
    # cross-listing ("Dead OSes" also lists the Windows ids 102-106)
    best: tuple[int, str] | None = None
    for ranges, class_desc in classes:
        for lo, hi in ranges:
            if lo <= os_id <= hi and (best is None or hi - lo > best[0]):
                best = (hi - lo, class_desc)
    class_desc = best[1] if best else ""
    family = OS_FAMILIES.get(class_desc.strip().lower())
    if family:
        return {"os": family, "os_version": description}
    device_type = tax.resolve(class_desc) if class_desc else None
    if device_type:
        return {"device_type": device_type, "model": description}
    return {"os": description}
