"""Vendor names (kb/oui_names.py): a registrant's short name, brand owners, and the registry's one spelling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.kb import oui, oui_names, paths

TABLE = """
aliases:
  - {match: '^Hangzhou Hikvision', vendor: Hikvision}
suffixes: [inc, ltd, co]
parents: {Nest: Google}
part_makers: ['^Espressif']
"""


def _names(tmp_path: Path) -> oui_names.VendorNames:
    (tmp_path / "aliases.yaml").write_text(TABLE)
    return oui_names.VendorNames.load(tmp_path / "aliases.yaml")


def test_a_registrant_s_name_is_shortened_by_the_table(tmp_path: Path) -> None:
    names = _names(tmp_path)
    assert names.short("Hangzhou Hikvision Digital Technology Co.,Ltd.") == "Hikvision"
    assert names.short("Acme Widgets, Inc.") == "Acme Widgets"
    assert names.short("SHOUTING MAKER LTD") == "Shouting Maker"
    assert names.owners("Nest") == ["Nest", "Google"] and names.related("Google", "Nest")
    assert names.part_maker("Espressif Inc") and not names.part_maker("Hikvision")


def test_the_registry_s_spelling_is_capitalised_then_the_most_used() -> None:
    names = oui_names.VendorNames([], frozenset({"inc"}))
    organizations = ["sonicwall"] * 5 + ["SonicWall Inc", "SonicWall", "Sonicwall", "Lone Maker"]
    # 'sonicwall' has the most blocks but a word in lower case; 'SonicWall' two blocks to 'Sonicwall''s one
    assert oui_names.registry_spellings(organizations, names) == {"sonicwall": "SonicWall"}
    assert oui_names.registry_spellings(["Acme", "ACme"], names) == {"acme": "ACme"}  # a tie: the first sorted


def test_the_shipped_spellings_read_as_the_generated_file_says() -> None:
    data = json.loads(paths.GENERATED_SPELLINGS.read_text(encoding="utf-8"))
    assert data["format"] == oui_names.SPELLINGS_FORMAT
    assert oui_names.read_spellings() == data["spellings"]


def test_the_names_are_importable_from_kb_oui_as_before() -> None:
    for name in ("VendorNames", "VENDOR_CACHE_SIZE", "SPELLINGS_FORMAT", "registry_spellings", "read_spellings"):
        assert getattr(oui, name) is getattr(oui_names, name)


def test_a_brand_may_have_two_owners_the_present_one_last(tmp_path: Path) -> None:
    # a company a group sold: its goods carry either owner's name, the two owners stay unrelated
    (tmp_path / "aliases.yaml").write_text(
        "aliases: []\nparents: {Techwin: [Samsung, Hanwha], Hanwha: Hanwha Group}\n")
    names = oui_names.VendorNames.load(tmp_path / "aliases.yaml")
    assert names.owners("Techwin") == ["Techwin", "Samsung", "Hanwha", "Hanwha Group"]
    assert names.related("Techwin", "Samsung") and names.related("Hanwha", "Techwin")
    assert not names.related("Samsung", "Hanwha")


@pytest.mark.parametrize("parents", ["{Techwin: []}", "{Techwin: [Samsung, 3]}", "{Techwin: ['']}"])
def test_a_brand_s_owners_must_be_names(tmp_path: Path, parents: str) -> None:
    (tmp_path / "aliases.yaml").write_text(f"aliases: []\nparents: {parents}\n")
    with pytest.raises(ConfigError, match="'parents' must map"):
        oui_names.VendorNames.load(tmp_path / "aliases.yaml")
