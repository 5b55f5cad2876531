"""The knowledge base compiled to ``kb/data/generated/index.json``: the rule sources and their digest, the
index written and checked for staleness (``iotwarden kb check``, STYLE 8), and the shipped rules read from it."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from iotwarden.kb import generated, oui, paths
from iotwarden.kb.parsed import write_tables
from iotwarden.kb.schema import Attribute, Rule, RuleValidator, load_attributes, rule_files
from iotwarden.kb.taxonomy import Taxonomy

log = logging.getLogger(__name__)

INDEX_FORMAT = 1  # version of generated/index.json; bump when its layout changes


def source_files() -> list[Path]:
    """Every file the compiled index depends on, in a stable order."""
    return [paths.ATTRIBUTES_FILE, paths.TAXONOMY_FILE, *rule_files(paths.RULES_DIR)]


def source_digest(files: Iterable[Path] | None = None) -> str:
    h = hashlib.sha256()
    for path in files if files is not None else source_files():
        # newlines normalised: a CRLF checkout (git autocrlf) is the same source
        h.update(path.name.encode() + b"\0" + path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return h.hexdigest()


def compile_rules() -> list[Rule]:
    """Validate every shipped rule file (ConfigError names file, rule id and key)."""
    validator = RuleValidator(load_attributes(), Taxonomy.load())
    return validator.load_files(rule_files(paths.RULES_DIR))


def render_index(rules: list[Rule], digest: str) -> str:
    """The text of ``generated/index.json`` for ``rules`` (stable: sorted keys, one rule a line)."""
    lines = [json.dumps(r.to_dict(), sort_keys=True, ensure_ascii=False) for r in rules]
    head = f'{{"format": {INDEX_FORMAT}, "digest": "{digest}", "rules": [\n'
    return head + ",\n".join(lines) + "\n]}\n"


def write_index(path: Path | None = None, rules: list[Rule] | None = None) -> int:
    """Regenerate the compiled index from the rule sources; returns the number of rules. ``rules``: what
    ``compile_rules()`` returned, when the caller has them already (compiling them takes most of a second).
    The parsed YAML tables (kb/parsed.py: attributes, taxonomy, vendor aliases) are rewritten beside it, so
    whoever edits those and regenerates the index keeps ``generated/tables.json`` fresh too; the shipped index
    (``path`` None) also rewrites ``generated/oui.json`` and ``generated/vendor_spellings.json`` when they are
    stale, the registry's spellings coming from the vendor aliases (kb/oui_names.py registry_spellings)."""
    shipped = path is None
    tables = paths.GENERATED_TABLES if path is None else path.with_name(paths.GENERATED_TABLES.name)
    path = path or paths.GENERATED_INDEX
    rules = compile_rules() if rules is None else rules
    generated.write(path, render_index(rules, source_digest()))
    write_tables(tables)
    if shipped:  # the registry's renders (~0.4 and ~1.1 CPU s), only when regenerating what ships
        if oui.cache_problem():
            oui.write_cache()
        if oui.spellings_problem():
            oui.write_spellings()
    return len(rules)


def index_problem(path: Path | None = None, rules: list[Rule] | None = None) -> str | None:
    """Why the compiled index is stale (or None when it is exactly what the sources compile to). ``rules``:
    what ``compile_rules()`` returned, when the caller has them already (``kb check`` compiles them once)."""
    return generated.problem(path or paths.GENERATED_INDEX,
                             lambda: render_index(compile_rules() if rules is None else rules, source_digest()))


def load_shipped_rules(attributes: dict[str, Attribute], taxonomy: Taxonomy) -> list[Rule]:
    """Rules from the compiled index when it matches the sources, else compiled from YAML."""
    path = paths.GENERATED_INDEX
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") == INDEX_FORMAT and data.get("digest") == source_digest():
            return [Rule.from_dict(d) for d in data["rules"]]
        log.warning("compiled knowledge index %s is stale; compiling the rule files", path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("compiled knowledge index %s unusable (%s); compiling the rule files", path, exc)
    return RuleValidator(attributes, taxonomy).load_files(rule_files(paths.RULES_DIR))
