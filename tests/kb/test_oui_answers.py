"""The registry's answers are what the IEEE lists say, however its tables are laid out in memory: every shipped
assignment (and a whole address under each) against a plain reading of the CSV files, a list a user installed
with ``kb update --oui`` before the shipped one, and a block two registries of one length both list."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

import iotwarden.cli.kb  # noqa: F401 - registers the `kb` group on the app
from iotwarden.cli.main import app
from iotwarden.kb import paths
from iotwarden.kb.oui import PREFIX_BITS, REGISTRIES, OuiEntry, OuiRegistry, VendorNames, read_registry_csv
from iotwarden.kb.schema import Rule, RuleValidator, load_attributes, rule_files
from iotwarden.kb.taxonomy import Taxonomy

HEADER = "Registry,Assignment,Organization Name,Organization Address\n"
VENDOR_SAMPLE = 40  # every n-th assignment also has its short vendor name compared (each costs the alias regexes)


def reference_tables(folder: Path) -> dict[int, dict[str, tuple[str, str]]]:
    """The tables as the lists read plainly give them: per prefix length, assignment -> (organisation, registry),
    the lists read in REGISTRIES order and each row over the ones before it (the last one listing a block wins)."""
    tables: dict[int, dict[str, tuple[str, str]]] = {bits: {} for bits in PREFIX_BITS}
    for registry, (filename, bits) in REGISTRIES.items():
        for assignment, org in read_registry_csv(folder / f"{filename}.gz", bits):
            tables[bits][assignment] = (org, registry)
    return tables


def reference_lookup(tables: dict[int, dict[str, tuple[str, str]]], digits: str) -> tuple[str, int, str, str] | None:
    """(prefix, bits, registry, organisation) of the longest prefix listed, by scanning the reference tables."""
    for bits in sorted(tables, reverse=True):
        hit = tables[bits].get(digits[: bits // 4]) if len(digits) >= bits // 4 else None
        if hit is not None:
            return digits[: bits // 4], bits, hit[1], hit[0]
    return None


def answer(entry: OuiEntry | None) -> tuple[str, int, str, str] | None:
    return None if entry is None else (entry.prefix, entry.bits, entry.registry, entry.organization)


def test_every_shipped_assignment_answers_as_the_lists_read_plainly(tmp_path: Path) -> None:
    """Each of the ~46k shipped assignments, alone and as a whole address under it, gives the registry, prefix and
    organisation the CSV rows give (read through generated/oui.json, as a start reads them); a sample the vendor."""
    expected = reference_tables(paths.OUI_DIR)
    registry = OuiRegistry.load(user_dir=tmp_path)  # no user lists: the shipped ones, from the parsed cache
    names = VendorNames.load()
    assert len(registry) == sum(len(t) for t in expected.values()) > 40_000
    assert registry.counts() == {bits: len(t) for bits, t in expected.items()}
    checked = 0
    for bits, table in expected.items():
        for i, (assignment, (org, source)) in enumerate(table.items()):
            entry = registry.lookup(assignment)
            assert answer(entry) == (assignment, bits, source, org)
            whole = (assignment + "0" * 12)[:12]
            assert answer(registry.lookup(whole)) == reference_lookup(expected, whole)
            if i % VENDOR_SAMPLE == 0:
                assert entry is not None and entry.vendor == names.short(org)
                checked += 1
    assert checked > 1_000


def test_a_block_two_lists_of_one_length_name_is_the_later_list_s(tmp_path: Path) -> None:
    """MA-S and IAB are both 36-bit lists: a block listed in both answers as IAB (read after MA-S), as it did when
    one table held (organisation, registry) pairs; within one list its last row wins; the shorter lists still
    answer beneath."""
    (tmp_path / "oui36.csv.gz").write_bytes(gzip.compress((
        HEADER + "MA-S,70B3D5001,Small Block One,addr\nMA-S,70B3D5002,Small Block Two,addr\n"
        "MA-S,70B3D5002,Small Block Two Renamed,addr\n").encode()))
    (tmp_path / "iab.csv.gz").write_bytes(gzip.compress((HEADER + "IAB,70B3D5001,Old IAB Holder,addr\n").encode()))
    registry = OuiRegistry.load(user_dir=tmp_path)
    assert answer(registry.lookup("70:B3:D5:00:1A:BC")) == ("70B3D5001", 36, "IAB", "Old IAB Holder")
    assert answer(registry.lookup("70:B3:D5:00:2A:BC")) == ("70B3D5002", 36, "MA-S", "Small Block Two Renamed")
    assert registry.counts()[36] == 2
    below = registry.lookup("70:B3:D5:00:3A:BC")  # in neither 36-bit list: the shipped MA-L block of the IEEE
    assert below is not None and below.bits == 24 and below.registry == "MA-L"


def test_a_list_installed_by_kb_update_is_used_not_the_parsed_one(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """``kb update --oui`` of an MA-M list: the next load answers from it (its blocks, its names, none of the
    shipped MA-M blocks it lacks), while the other registries still come from the shipped lists."""
    monkeypatch.setenv("IOTWARDEN_HOME", str(tmp_path / "home"))
    shipped = reference_tables(paths.OUI_DIR)
    gone = next(iter(shipped[28]))  # a shipped MA-M block the user's list does not have
    new = tmp_path / "mam.csv"
    new.write_text(HEADER + "MA-M,ABCDEF1,Fresh Vendor Ltd,addr\n")
    result = CliRunner().invoke(app, ["kb", "update", "--oui", str(new)])
    assert result.exit_code == 0, result.output
    registry = OuiRegistry.load()
    assert registry.sources["MA-M"] == paths.user_oui_dir() / "mam.csv.gz"
    assert answer(registry.lookup("AB:CD:EF:12:34:56")) == ("ABCDEF1", 28, "MA-M", "Fresh Vendor Ltd")
    assert registry.counts()[28] == 1
    assert answer(registry.lookup(gone)) == reference_lookup({24: shipped[24], 28: {}, 36: shipped[36]}, gone)
    some_iab = next(a for a, (_, source) in shipped[36].items() if source == "IAB")
    assert answer(registry.lookup(some_iab)) == (some_iab, 36, "IAB", shipped[36][some_iab][0])


def test_every_shipped_rule_reads_back_from_its_compiled_line() -> None:
    """Rule.from_dict (run on each line of generated/index.json at every start) gives back every rule the YAML
    files validate to, the few with ``requires`` and the many without."""
    compiled = RuleValidator(load_attributes(), Taxonomy.load()).load_files(rule_files(paths.RULES_DIR))
    from_index = [Rule.from_dict(r.to_dict()) for r in compiled]
    assert from_index == compiled
    assert any(r.requires for r in from_index) and any(not r.requires for r in from_index)
