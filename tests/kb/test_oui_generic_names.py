"""A registrant's name is never cut down to a generic word alone (kb/oui.py VendorNames.short), by the comma
cut ('Energy, Inc.') as by the legal-form words ('Server Technology, Inc.')."""

from __future__ import annotations

from pathlib import Path

from iotwarden.kb import oui, paths
from iotwarden.kb.oui import OuiRegistry, VendorNames


def test_the_comma_cut_never_leaves_a_generic_word_alone(tmp_path: Path) -> None:
    table = tmp_path / "aliases.yaml"
    table.write_text("suffixes: [inc, incorporated, gmbh, technology]\ngeneric_words: [energy, human, server]\n"
                     "aliases: []\n")
    names = VendorNames.load(table)
    assert names.short("Energy, Inc.") == "Energy Inc"  # was 'Energy'
    assert names.short("Human, Incorporated") == "Human Incorporated"  # was 'Human'
    assert names.short("Server Technology, Inc.") == "Server Technology"
    # a name that is not generic is cut at its comma as before
    assert names.short("Cisco Systems, Inc") == "Cisco Systems"
    assert names.short("Acme, Inc.") == "Acme"


def test_no_shipped_registrant_is_cut_down_to_a_generic_word(tmp_path: Path) -> None:
    # IEEE MA-L 00252F 'Energy, Inc.' and 5CB3F6 'Human, Incorporated' were vendors 'Energy' and 'Human'
    names = VendorNames.load()
    registry = OuiRegistry.load(user_dir=tmp_path, vendors=names)  # the shipped registries only
    assert registry.vendor_name("Energy, Inc.") == "Energy Inc"
    for filename, bits in oui.REGISTRIES.values():
        for _, org in oui.read_registry_csv(paths.OUI_DIR / (filename + ".gz"), bits):
            short = registry.vendor_name(org)
            if names.is_generic(short):
                assert short.lower() == " ".join(org.split()).strip(" .,").lower(), org  # the whole name, uncut
