"""``iotwarden kb``: inspect, check, update and extend the knowledge base (a thin shell over kb/)."""

from __future__ import annotations

import gzip
import json
import zipfile
import zlib
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from iotwarden import inputfile
from iotwarden.cli.files import check_output, write_file
from iotwarden.cli.main import app
from iotwarden.cli.progress import activity
from iotwarden.errors import ConfigError, ParseError, describe
from iotwarden.kb import paths
from iotwarden.kb.compiled import compile_rules, index_problem, write_index
from iotwarden.kb.importers import fingerbank, homeassistant, ja4, p0f, recog, satori
from iotwarden.kb.importers.common import ImportResult, dump_rules
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.oui import (
    REGISTRIES,
    OuiRegistry,
    VendorNames,
    cache_problem,
    parse_registry_csv,
    registry_of,
    spellings_problem,
)
from iotwarden.kb.parsed import tables_problem
from iotwarden.kb.schema import RuleValidator, load_attributes, rule_files, safe_load
from iotwarden.kb.taxonomy import Taxonomy

kb_app = typer.Typer(help="Inspect, check, update and extend the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

MAX_INPUT_BYTES = 256 * 1024 * 1024  # an input file (registry CSV, fingerprint database) read whole


class ImportFormat(StrEnum):
    p0f = "p0f"
    satori = "satori"
    fingerbank = "fingerbank"
    ja4 = "ja4"
    recog = "recog"
    homeassistant = "homeassistant"


LICENCE_NOTES = {
    "p0f": "p0f.fp is LGPL-2.1 (Michal Zalewski): keep the converted file under the same terms.",
    "satori": "Satori fingerprints are GPL-2.0 (xnih/satori): do not ship the converted file in proprietary products.",
    "fingerbank": "Fingerbank data is ODbL 1.0 / DbCL 1.0 (Inverse inc.): share-alike; attribute Fingerbank.",
    "ja4": "JA4+ mapping is FoxIO License 1.1 (non-commercial use): check the licence before use.",
    "recog": "Rapid7 Recog is BSD-2-Clause (Copyright (c) 2014, Rapid7): keep its copyright notice with the file.",
    "homeassistant": "Home Assistant's matchers are Apache-2.0 (the Home Assistant authors, "
                     "https://github.com/home-assistant/core; licence: kb/data/rules/homeassistant.LICENSE); "
                     "conclusions from kb/data/homeassistant_domains.yaml.",
}
def _homeassistant_files(source: Path) -> tuple[dict[str, str], str]:
    """The generated matcher files (name -> text) and the release, from a wheel or a directory."""
    found: dict[str, str] = {}
    if source.is_dir():
        for folder in (source / "homeassistant" / "generated", source / "generated"):
            if folder.is_dir():
                found = {n: _read_text(folder / n) for n in homeassistant.GENERATED if (folder / n).is_file()}
                if (folder.parent / "const.py").is_file():
                    found["const.py"] = _read_text(folder.parent / "const.py")
                break
        else:
            raise ConfigError(f"{source}: no homeassistant/generated/ (nor generated/) folder in it")
    else:
        try:
            with zipfile.ZipFile(source) as wheel:
                members = {n: f"homeassistant/generated/{n}" for n in homeassistant.GENERATED}
                members["const.py"] = "homeassistant/const.py"
                present = set(wheel.namelist())
                for name, member in members.items():
                    if member not in present:
                        continue
                    info = wheel.getinfo(member)
                    if info.file_size > MAX_INPUT_BYTES:
                        raise ConfigError(f"{source}: {member} larger than {MAX_INPUT_BYTES} bytes")
                    found[name] = wheel.read(member).decode("utf-8")
        except (OSError, zipfile.BadZipFile, UnicodeDecodeError, zlib.error) as exc:
            raise ConfigError(f"{source}: not a Home Assistant wheel (zip) nor a directory: {describe(exc)}") from exc
    const = found.pop("const.py", None)
    if not found:
        raise ConfigError(f"{source}: none of homeassistant/generated/{{{','.join(homeassistant.GENERATED)}}}")
    try:
        version = homeassistant.release(const) if const is not None else "unknown release"
    except ParseError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    return found, version



def _recog_files(source: Path) -> list[tuple[str, str]]:
    """A Recog file, or the ``*.xml`` of a directory (a clone's root: its ``xml/``), as (name, text)."""
    if not source.is_dir():
        return [(source.name, _read_text(source))]
    files = sorted(source.glob("*.xml")) or sorted((source / "xml").glob("*.xml"))
    if not files:
        raise ConfigError(f"{source}: no *.xml Recog files in it (nor in its xml/)")
    return [(p.name, _read_text(p)) for p in files[: recog.MAX_FILES + 1]]


def _read_text(path: Path) -> str:
    try:
        raw = inputfile.read_bytes(path, MAX_INPUT_BYTES)
        if raw[:2] == b"\x1f\x8b":
            raw = inputfile.gunzip(raw, MAX_INPUT_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise ConfigError(f"{path}: cannot read: {describe(exc)}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # Fingerbank 2014 is Latin-1


@kb_app.command("update")
def update(oui: Annotated[Path, typer.Option("--oui", help="IEEE registry CSV (oui.csv, mam.csv, oui36.csv or iab.csv; "
                                                          ".gz ok).")]) -> None:
    """Install a newer IEEE registry list into the user data dir (used before the shipped one)."""
    text = _read_text(oui)
    registry = registry_of(text)
    if registry is None:
        raise ConfigError(f"{oui}: first row names no known registry ({', '.join(REGISTRIES)})")
    filename, bits = REGISTRIES[registry]
    rows = parse_registry_csv(text, bits, str(oui))
    target = paths.user_oui_dir() / f"{filename}.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    write_file(tmp, gzip.compress(text.encode("utf-8"), mtime=0))
    tmp.replace(target)
    typer.echo(f"installed {registry} registry: {len(rows)} assignments -> {target}")


@kb_app.command("stats")
def stats(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counts of rules (per file and attribute), device types and registry prefixes."""
    kb = KnowledgeBase.load(refresh=True)
    registry = kb.oui
    per_file = dict(sorted(Counter(r.file for r in kb.rules).items()))
    per_attribute = dict(sorted(Counter(r.attribute for r in kb.rules).items()))
    prefixes = {f"{bits}-bit": n for bits, n in registry.counts().items()}
    sources = {k: str(v) for k, v in registry.sources.items()}
    out: dict[str, Any] = {
        "rules": len(kb.rules),
        "rules_per_file": per_file,
        "rules_per_attribute": per_attribute,
        "device_types": len(kb.taxonomy),
        "oui_prefixes": prefixes,
        "oui_sources": sources,
    }
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo(f"rules: {len(kb.rules)} in {len(per_file)} files")
    for name, n in per_file.items():
        typer.echo(f"  {name:<24} {n}")
    typer.echo(f"attributes matched: {len(per_attribute)}")
    typer.echo(f"device types: {len(kb.taxonomy)}")
    for bits, n in prefixes.items():
        typer.echo(f"oui {bits:<7} {n}")
    for registry_name, source in sources.items():
        typer.echo(f"  {registry_name:<5} {source}")


@kb_app.command("lookup")
def lookup(mac: Annotated[str, typer.Argument(help="MAC address or prefix (aa:bb:cc, aa-bb-cc-dd-ee-ff, "
                                                   "aabb.ccdd.eeff).")],
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The registry entry of a MAC address and what its address bits say."""
    registry = OuiRegistry.load()
    info = registry.info(mac)
    entry = info.entry if info is not None else registry.lookup(mac)
    if info is None and entry is None:
        raise ConfigError(f"{mac!r}: no registry entry (or not a MAC address)")
    out = {
        "mac": info.mac if info else mac,
        "vendor": entry.vendor if entry else None,
        "organization": entry.organization if entry else None,
        "prefix": entry.prefix if entry else None,
        "prefix_bits": entry.bits if entry else None,
        "registry": entry.registry if entry else None,
    }
    if info is not None:
        out.update({"multicast": info.multicast, "locally_administered": info.locally_administered,
                    "randomised": info.randomised})
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    for key, value in out.items():
        typer.echo(f"{key:<21} {value if value is not None else '-'}")


@kb_app.command("check")
def check(fix: Annotated[bool, typer.Option("--fix", help="Rewrite the compiled index and the parsed tables "
                                                          "(and the parsed registries when stale).")] = False) -> None:
    """Validate every rule file, the taxonomy and aliases, and that the compiled index, the parsed YAML tables
    (generated/tables.json), the parsed IEEE registries (generated/oui.json) and the registry's vendor spellings
    (generated/vendor_spellings.json) are fresh."""
    taxonomy = Taxonomy.load()
    VendorNames.load()
    rules = compile_rules()
    user_dir = paths.user_data_dir() / "rules"
    user_files = rule_files(user_dir)
    if user_files:
        user_rules = RuleValidator(load_attributes(), taxonomy).load_files(user_files)
        typer.echo(f"user rules: {len(user_rules)} in {len(user_files)} files under {user_dir}")
    oui_problem = cache_problem()
    spelling_problem = spellings_problem()
    if fix:
        n = write_index(rules=rules)  # the parsed YAML tables with it (kb/parsed.py)
        typer.echo(f"compiled index rewritten: {n} rules -> {paths.GENERATED_INDEX}")
        typer.echo(f"parsed tables rewritten -> {paths.GENERATED_TABLES}")
        if oui_problem:  # write_index rewrote it
            typer.echo(f"parsed registries rewritten -> {paths.GENERATED_OUI}")
        if spelling_problem:  # write_index rewrote it: the spellings come from the vendor aliases too
            typer.echo(f"registry spellings rewritten -> {paths.GENERATED_SPELLINGS}")
        return
    problem = index_problem(rules=rules)
    table_problem = tables_problem()
    if problem or oui_problem or spelling_problem or table_problem:
        for line in (problem, oui_problem, spelling_problem, table_problem):
            if line:
                typer.echo(f"error: {line}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {len(rules)} rules, {len(taxonomy)} device types, compiled index up to date, "
               "parsed registries up to date, registry spellings up to date, parsed tables up to date")


@kb_app.command("import")
def import_(fmt: Annotated[ImportFormat, typer.Argument(help="Database format.")],
            source: Annotated[Path, typer.Argument(help="The database file you hold (p0f.fp, a Satori *.xml, "
                                                        "dhcp_fingerprints.conf, ja4plus-mapping.csv; for recog "
                                                        "a Recog *.xml or a directory of them; for homeassistant "
                                                        "the wheel or a directory holding homeassistant/generated/).")],
            output: Annotated[Path, typer.Option("-o", "--output", help="Rule file to write (put it in "
                                                 "<home>/rules/ to have it loaded).")]) -> None:
    """Convert your own copy of an external fingerprint database into a rule file."""
    check_output(output)
    origin = source.name
    text = "" if fmt in (ImportFormat.recog, ImportFormat.homeassistant) else _read_text(source)
    if fmt is ImportFormat.homeassistant:
        ha_files, version = _homeassistant_files(source)
        origin = f"{source.name} (Home Assistant {version})"
    with activity(f"converting {source.name}"):
        try:
            result: ImportResult
            if fmt is ImportFormat.p0f:
                result = p0f.convert(text)
            elif fmt is ImportFormat.satori:
                result = satori.convert(text)
            elif fmt is ImportFormat.fingerbank:
                result = fingerbank.convert(text)
            elif fmt is ImportFormat.recog:
                result = recog.convert_all(_recog_files(source))
            elif fmt is ImportFormat.homeassistant:
                taxonomy = Taxonomy.load()
                hand_written = [r for r in compile_rules() if r.file != homeassistant.SHIPPED_FILE]
                result = homeassistant.convert(ha_files, homeassistant.load_domain_map(taxonomy=taxonomy),
                                               existing=KnowledgeBase(hand_written, load_attributes(), taxonomy))
            else:
                result = ja4.convert(text)
        except ParseError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(result.skipped.items())) or "none"
        if not result.rules:  # a file of another kind (or empty) converts to nothing: say so, write nothing
            raise ConfigError(f"{source}: no {fmt.value} fingerprints found (skipped: {skipped}); is it a "
                              f"{fmt.value} database?")
        rendered = dump_rules(result, origin, LICENCE_NOTES[fmt.value])
        validator = RuleValidator(load_attributes(), Taxonomy.load())
        for i, item in enumerate(safe_load(rendered)["rules"]):
            validator.rule(item, output.name, i)  # never write a file `kb check` would refuse
    write_file(output, rendered)
    typer.echo(f"{len(result.rules)} rules -> {output} (skipped: {skipped})")
