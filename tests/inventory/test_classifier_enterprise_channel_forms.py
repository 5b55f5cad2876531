"""The other documented forms of the enterprise printer and phone values rules/dhcp.yaml and rules/http.yaml read
(review of a1824ae): Xerox's option 60 with its keys in lower case or of an all-in-one ('mfg=Xerox;typ=MFP;...',
'Mfg=FujiXerox;Typ=AIO;...'), a Xerox model of one word not taken with the word after it, and the Aastra 5xi
phones' provisioning User-Agent ('Aastra55i MAC:... V:...-SIP'), a model of two digits."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating


@pytest.mark.parametrize(("value", "model"), [
    # DentonGentry/gfiber-platform cmds/test-dhcpvendortax.sh, its printer values
    ("mfg=Xerox;typ=MFP;mod=WorkCentre 3220;ser=ABC012345;loc=", "WorkCentre 3220"),
    ("Mfg=FujiXerox;Typ=AIO;Mod=WorkCentre 6027;Ser=P1A234567", "WorkCentre 6027"),
    # the model of one word, then the kind of machine (as Recog's 'Xerox AltaLink C8055 Multifunction Printer')
    ("Mfg=Xerox;Typ=MFP;Mod=Xerox B215 Multifunction Printer;Ser=ABC123456;Loc=", "B215"),
    # Recog's example: the family, the model, a revision and the kind
    ("Mfg=Xerox;Typ=MFP;Mod=Xerox WorkCentre 7845 v1 Multifunction System;Ser=AB1234567;Loc=", "WorkCentre 7845"),
])
def test_xerox_option_60_in_its_other_documented_forms_names_the_printer_and_its_model(value: str,
                                                                                         model: str) -> None:
    dev = stating(dhcp__vendor_class=value)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Xerox", "printer", model)
    assert "dhcp.vendor_class.xerox_printer" in rules_for(dev, "device_type")


def test_satoris_lower_case_xerox_key_is_read_as_the_start_of_xeroxs_form() -> None:
    # ../shared/data/fingerprints/satori/dhcp.xml types 'mfg=Xerox' (partial) a Xerox WorkCentre 7545
    dev = stating(dhcp__vendor_class="mfg=Xerox;typ=MFP;mod=WorkCentre 7545;ser=ABC012345;loc=")
    assert concluded(dev)["model"] == "WorkCentre 7545"


@pytest.mark.parametrize("value", [
    "mfg=Xerox;typ=Scanner;mod=DocuMate 3220;ser=1",  # a scanner, whatever the keys' case
    "Mfg=Brother;Typ=AIO;Mod=MFC-L2750DW;Ser=1",  # another maker's all-in-one
])
def test_other_xerox_like_values_name_no_xerox_printer(value: str) -> None:
    dev = stating(dhcp__vendor_class=value)
    assert "dhcp.vendor_class.xerox_printer" not in {r for p in ("vendor", "device_type", "model")
                                                     if p in concluded(dev) for r in rules_for(dev, p)}


@pytest.mark.parametrize(("user_agent", "model", "firmware"), [
    # wazo-platform/wazo-provd-plugins plugins/wazo_aastra/common/common.py: its _UA_MODELS_MAP reads 51i, 53i,
    # 55i, 57i from this User-Agent; "Aastra55i MAC:00-08-5D-20-DA-..." among the examples of its earlier version
    ("Aastra55i MAC:00-08-5D-20-DA-5B V:3.2.2.1136-SIP", "55i", "3.2.2.1136"),
    ("Aastra57i MAC:00-08-5D-1A-99-01 V:2.1.2.30-SIP", "57i", "2.1.2.30"),
    ("Aastra9480i MAC:00-08-5D-12-34-56 V:3.2.2.70-SIP", "9480i", "3.2.2.70"),
])
def test_an_aastra_phone_of_a_two_digit_model_is_a_mitel_phone_by_its_user_agent(user_agent: str, model: str,
                                                                                  firmware: str) -> None:
    dev = stating(http__user_agent=user_agent)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"], found["firmware"]) == (
        "Mitel", "voip_phone", model, firmware)
    assert "http.ua.aastra_mitel" in rules_for(dev, "device_type")


def test_an_aastra_user_agent_without_its_mac_and_sip_firmware_is_still_no_phone() -> None:
    dev = stating(http__user_agent="Aastra55i V:3.2.2.1136")
    assert "device_type" not in concluded(dev)
