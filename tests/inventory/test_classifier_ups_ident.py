"""A power agent by the UPS-MIB identity it answers (RFC 1628 upsIdent; dissect/snmp.py promotes upsIdentManufacturer.0
and upsIdentModel.0 of a response): a model names a UPS, of any maker, unless it names a PDU or an ATS, and Tripp
Lite's transfer-switch PDUs, which answer the same group, by their model family (issue #3, brief C1 b)."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating


@pytest.mark.parametrize("model", [
    "TRIPP LITE PDUMH20HVATNET",  # LibreNMS / Observium poweralert pollers' snmpwalk
    "TRIPP LITE PDUMH15ATNET",  # Tripp Lite owner's manuals of the ATS PDUs
    "TRIPP LITE PDUMH30HVATNET",
    "PDUMH20ATNET",
])
def test_tripp_lite_s_ats_pdu_models_name_a_tripp_lite_transfer_switch(model: str) -> None:
    dev = stating(snmp__ups_ident_manufacturer="TRIPP LITE", snmp__ups_ident_model=model)
    found = concluded(dev)
    assert (found.get("vendor"), found.get("device_type")) == ("Tripp Lite", "transfer_switch"), model
    assert found.get("model") == model.removeprefix("TRIPP LITE ")
    assert "snmp.ups_ident.ups" not in rules_for(dev, "device_type")


@pytest.mark.parametrize("model", ["Smart-UPS 1500", "SMART1500LCDT", "9PX 3000i", "Liebert GXT4"])
def test_a_ups_mib_model_names_a_ups_of_any_maker(model: str) -> None:
    dev = stating(snmp__ups_ident_model=model)
    assert concluded(dev).get("device_type") == "ups", model
    assert rules_for(dev, "device_type") == {"snmp.ups_ident.ups"}


@pytest.mark.parametrize("model", [
    "TRIPP LITE PDUMH15NET",  # a metered PDU with no transfer switch
    "TRIPP LITE PDU3XEVSR6G32",
    "Rack ATS AP4423",
])
def test_a_pdu_or_ats_model_names_no_ups_and_no_transfer_switch_unless_documented(model: str) -> None:
    found = concluded(stating(snmp__ups_ident_model=model))
    assert found.get("device_type") not in ("ups", "transfer_switch"), model


@pytest.mark.parametrize("model", ["", "   ", "--"])
def test_an_empty_model_names_nothing(model: str) -> None:
    assert concluded(stating(snmp__ups_ident_model=model)).get("device_type") is None


@pytest.mark.parametrize(("maker", "vendor"), [("TRIPP LITE", "Tripp Lite"), ("Tripp Lite", "Tripp Lite"),
                                               ("TrippLite", "Tripp Lite"), ("EATON", None)])
def test_the_manufacturer_names_tripp_lite_only_for_tripp_lite(maker: str, vendor: str | None) -> None:
    found = concluded(stating(snmp__ups_ident_manufacturer=maker))
    assert found.get("vendor") == vendor and found.get("device_type") is None, maker
