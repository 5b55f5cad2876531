"""What every importer returns (rules plus counts of what was skipped and why) and the YAML writer."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_IMPORTED_RULES = 50_000  # same bound as a rule file (schema.MAX_RULES_PER_FILE)


@dataclass(slots=True)
class ImportResult:
    """Converted rules (rule-file mappings) and the entries left out, counted by reason."""

    source: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, rule: dict[str, Any]) -> bool:
        if len(self.rules) >= MAX_IMPORTED_RULES:
            self.skipped["over MAX_IMPORTED_RULES"] += 1
            return False
        self.rules.append(rule)
        return True


def slug(text: str, limit: int = 40) -> str:
    """A rule-id fragment from free text ("Microsoft Windows XP" -> "microsoft_windows_xp")."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit] or "x"


def glob_regex(pattern: str) -> str:
    """An anchored regex for a '*'-wildcard pattern (Satori partial TCP signatures)."""
    return "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"


def dump_rules(result: ImportResult, origin: str, licence_note: str) -> str:
    """The rule file text for ``result``, with a header naming its origin and licence."""
    header = (
        f"# Converted by `iotwarden kb import {result.source}` from {origin}.\n"
        f"# {licence_note}\n"
        f"# {len(result.rules)} rules; skipped: "
        + (", ".join(f"{n} {why}" for why, n in sorted(result.skipped.items())) or "none")
        + "\n"
    )
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available: 10x faster
    body: str = yaml.dump({"source": result.source, "rules": result.rules}, Dumper=dumper, sort_keys=False,
                          allow_unicode=True, width=200)
    return header + body
