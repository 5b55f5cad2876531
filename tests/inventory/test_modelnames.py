"""Model names in one spelling per product: vendor prefix, case and punctuation do not make two models."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from iotwarden.inventory.modelnames import model_key, same_model, unify, without_vendor
from iotwarden.kb.index import Match
from iotwarden.kb.oui import VendorNames

NAMES = VendorNames.load()


def match(rule: str, model: str, weight: float, vendor: str | None = None) -> Match:
    conclusions = {"model": model} | ({"vendor": vendor} if vendor else {})
    return Match(rule, "x.y", model, MappingProxyType(conclusions), weight, "test", "test")


def test_the_key_ignores_case_spaces_and_punctuation() -> None:
    assert model_key("VVX_450") == model_key("VVX 450") == model_key("vvx-450") == "vvx450"
    assert model_key("--") == ""


@pytest.mark.parametrize(("a", "b", "same"), [
    ("Chromecast", "Chromecast with Google TV", True),  # one names the other more fully
    ("VVX_450", "VVX 450", True),
    ("M3045-V", "P1455-LE", False),
    ("", "", False),
])
def test_same_model(a: str, b: str, same: bool) -> None:
    assert same_model(a, b) is same


@pytest.mark.parametrize(("model", "vendor", "bare"), [
    ("AXIS M3045-V", "Axis", "M3045-V"),
    ("HP LaserJet Pro M404dn", "HP", "LaserJet Pro M404dn"),  # the shortest vendor prefix: "HP", not "HP LaserJet"
    ("Hewlett-Packard LaserJet 4250", "HP", "LaserJet 4250"),  # an alias of the vendor
    ("Hewlett Packard LaserJet 4250", "HP", "LaserJet 4250"),  # two words naming it
    ("LaserJet Pro M404dn", "HP", "LaserJet Pro M404dn"),
    ("AXIS", "Axis", "AXIS"),  # nothing would be left
    ("M3045-V", None, "M3045-V"),
])
def test_without_vendor(model: str, vendor: str | None, bare: str) -> None:
    assert without_vendor(model, vendor, NAMES) == bare


def test_spellings_of_one_model_become_the_strongest_ones() -> None:
    out = unify([match("a", "AXIS M3045-V", 0.6), match("b", "M3045-V", 0.8), match("c", "P1455-LE", 0.5)],
                "Axis", NAMES)
    assert [m.conclusions["model"] for m in out] == ["M3045-V", "M3045-V", "P1455-LE"]
    assert [m.value for m in out] == ["AXIS M3045-V", "M3045-V", "P1455-LE"]  # what was seen is kept


def test_a_brand_that_is_part_of_the_product_name_is_shown_as_stated() -> None:
    out = unify([match("a", "Apple TV 4K (2nd generation)", 0.8, "Apple")], "Apple", NAMES)
    assert out[0].conclusions["model"] == "Apple TV 4K (2nd generation)"


def test_models_from_evidence_about_another_vendor_are_left_out() -> None:
    out = unify([match("a", "M3045-V", 0.8, "Axis"), match("b", "T46S", 0.8, "Yealink"), match("c", "X1", 0.5)],
                "Axis", NAMES)
    assert [m.rule_id for m in out] == ["a", "c"]
    unknown = unify([match("b", "T46S", 0.8, "Yealink")], None, NAMES)  # vendor unknown: nothing to contradict
    assert [m.rule_id for m in unknown] == ["b"]
