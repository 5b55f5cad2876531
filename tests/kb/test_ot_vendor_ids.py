"""bench/ot_vendor_ids.py: the ODVA / ASHRAE vendor-id facts become one rule per id, named through
vendor_aliases.yaml, the registered company kept in the reference; the shipped files are what it writes."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from iotwarden.kb.oui import VendorNames
from tests.benchutil import bench_module

SHIPPED_WIRESHARK = "4.0."  # the tshark whose tables the shipped files were generated from


GEN = bench_module("ot_vendor_ids")
VALUES = "\n".join([
    "F\tVendor ID\tcip.id.vendor_id\tFT_UINT16\tcip\tBASE_DEC\t0x0\t",
    "V\tcip.id.vendor_id\t0\tReserved",
    "V\tcip.id.vendor_id\t1\tRockwell Automation/Allen-Bradley",  # ot.yaml has it: left there
    "V\tcip.id.vendor_id\t87\tBurkert Werke GmbH & Co. KG",
    "V\tcip.id.vendor_id\t865\tSchweitzer Engineering Laboratories",
    "V\tcip.id.vendor_id\t1030\tTuxPLC",  # an open-source stack: no maker
    "V\tcip.id.vendor_id\t1182\tEndress+Hauser",
    "V\tbacapp.vendor_identifier\t6\tABB (Formerly American Auto-Matrix)",  # in ot.yaml
    "V\tbacapp.vendor_identifier\t333\tNovar/Honeywell",
    "V\tbacapp.vendor_identifier\t18\tAlerton / Honeywell",  # in ot.yaml
    "V\tbacapp.vendor_identifier\t368\tOJ Electronics A/S",
    "V\tbacapp.vendor_identifier\t260\tBACnet Stack at SourceForge",
    "V\tother.field\t865\tnot a vendor table",
])


def _rules(space: str, field: str) -> list[dict[str, object]]:
    text = GEN.render(space, GEN.read_values(VALUES, field), VendorNames.load(registry=False))  # as bench/ renders
    data = yaml.safe_load(text)
    assert data["source"] == "ot" and text.startswith("# ")
    return list(data["rules"])


def test_cip_ids_become_vendor_and_ot_rules_naming_the_registered_company() -> None:
    rules = {r["match"]["exact"]: r for r in _rules("enip", "cip.id.vendor_id")}  # type: ignore[index]
    assert sorted(rules) == [87, 865, 1182]  # reserved, ot.yaml's, a stack's ids left out
    assert rules[865]["conclusions"] == {"vendor": "Schweitzer Engineering", "category": "ot"}
    assert rules[87]["conclusions"] == {"vendor": "Burkert Werke", "category": "ot"}  # legal form dropped
    assert rules[1182]["id"] == "enip.vendor.1182.endress_hauser" and rules[1182]["weight"] == 0.7
    assert rules[865]["reference"] == ("ODVA CIP vendor id 865 'Schweitzer Engineering Laboratories' "
                                       "(Wireshark 4.0 packet-cip.c cip_vendor_vals)")


def test_bacnet_ids_become_vendor_and_building_rules() -> None:
    rules = {r["match"]["exact"]: r["conclusions"] for r in _rules("bacnet", "bacapp.vendor_identifier")}  # type: ignore[index]
    assert rules == {333: {"vendor": "Honeywell", "category": "building"},
                     368: {"vendor": "OJ Electronics", "category": "building"}}


def test_the_shipped_files_are_what_the_installed_wiresharks_tables_give() -> None:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark not installed")
    version = subprocess.run([tshark, "-v"], capture_output=True, text=True, check=True).stdout.split()[2]
    if not version.startswith(SHIPPED_WIRESHARK):
        pytest.skip(f"tshark {version}: the shipped files come from Wireshark {SHIPPED_WIRESHARK}x")
    values = subprocess.run([tshark, "-G", "values"], capture_output=True, text=True, check=True).stdout
    names = VendorNames.load(registry=False)  # as bench/ot_vendor_ids.py renders them
    for space, field in GEN.FIELDS.items():
        shipped = (GEN.RULES / GEN.SPACES[space][5]).read_text(encoding="utf-8")
        assert GEN.render(space, GEN.read_values(values, field), names) == shipped, space


def test_ot_yaml_names_the_company_that_holds_bacnet_ids_3_6_and_171_now() -> None:
    # ASHRAE's registry (Wireshark 4.0 BACnetVendorIdentifiers): 3 'Daikin Applied Americas', 6 'ABB (Formerly
    # American Auto-Matrix)', 171 'ABB (Formerly Cylon Controls, Ltd)'; one rule each, the old names aliases
    rules = yaml.safe_load((GEN.RULES / "ot.yaml").read_text(encoding="utf-8"))["rules"]
    bacnet = [r for r in rules if r["match"].get("attribute") == "bacnet.vendor_id"]
    vendor = {r["match"]["exact"]: r["conclusions"]["vendor"] for r in bacnet}
    assert len(vendor) == len(bacnet)  # one rule per id
    assert (vendor[3], vendor[6], vendor[171]) == ("Daikin Applied", "ABB", "ABB")
    names = VendorNames.load()
    assert names.canonical("MCQUAY INTERNATIONAL") == "Daikin Applied"  # the IEEE registrant of 00:D0:DB
    assert names.canonical("American Auto-Matrix") == names.canonical("Cylon Controls") == "ABB"


def test_a_vendor_id_rule_concludes_no_model() -> None:
    # a registry id names the company (or one of its brands: CIP id 95 is Square D, a Schneider Electric
    # brand), never the product: a model from it would be a guess the device's own identity may contradict
    from iotwarden.kb.paths import RULES_DIR

    offenders = []
    for path in sorted(RULES_DIR.glob("*.yaml")):
        for rule in (yaml.safe_load(path.read_text()) or {}).get("rules", []):
            attribute = str((rule.get("match") or {}).get("attribute", ""))
            if attribute.endswith((".vendor_id", ".vendor_identifier")) and "model" in rule.get("conclusions", {}):
                offenders.append(f"{path.name}: {rule['id']}")
    assert offenders == []
