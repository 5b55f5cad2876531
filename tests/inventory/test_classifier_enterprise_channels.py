"""Enterprise printers and phones by the channels they commonly use that the knowledge base did not read (issue #3,
brief E b): the DHCP option 60 of printers, VVX and wireless phones and PCoIP zero clients (rules/dhcp.yaml, the
values Rapid7 Recog's DHCP vendor-class fingerprints give as examples), the SIP User-Agent of Grandstream's current
phones (rules/sip.yaml) and the provisioning User-Agent of Aastra/Mitel phones (rules/http.yaml, the values
wazo-provd-plugins' Aastra plugin quotes). Each value alone names the maker, the kind and, where stated, the model."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import _classifier, concluded, rules_for, stating

CASES = [  # attribute, value, then what it names: vendor, kind, model, the rule naming the model (else the kind)
    # printers' option 60
    ("dhcp.vendor_class", "Mfg=Xerox;Typ=MFP;Mod=VersaLink C405;Ser=ABC123456;Loc=Print Room", "Xerox", "printer",
     "VersaLink C405", "dhcp.vendor_class.xerox_printer"),
    ("dhcp.vendor_class",
     "Mfg=Xerox;Typ=MFP;Mod=Xerox AltaLink C8055 Multifunction Printer;Ser=1AB234567;Loc=Print Room2", "Xerox",
     "printer", "AltaLink C8055", "dhcp.vendor_class.xerox_printer"),
    ("dhcp.vendor_class", "Mfg=XEROX;Typ=MFP;Mod=WorkCentre 3345;Ser=1AB234567;Loc=", "Xerox", "printer",
     "WorkCentre 3345", "dhcp.vendor_class.xerox_printer"),
    ("dhcp.vendor_class", "Mfg=FujiXerox;Typ=printer;Mod=Phaser 6500DN;Ser=ABC123456", "Xerox", "printer",
     "Phaser 6500DN", "dhcp.vendor_class.xerox_printer"),
    ("dhcp.vendor_class", "Mfg=Hewlett Packard;Typ=Printer;Mod=HP LaserJet 400 M401dne;Ser=ABCDE12345;", "HP",
     "printer", "LaserJet 400 M401dne", "dhcp.vendor_class.hp_printer_model"),
    ("dhcp.vendor_class", "Hewlett-Packard OfficeJet", "HP", "printer", None, "dhcp.vendor_class.hp_printer"),
    ("dhcp.vendor_class", "HP LaserJet", "HP", "printer", None, "dhcp.vendor_class.hp_printer"),
    ("dhcp.vendor_class", "HP Printer", "HP", "printer", None, "dhcp.vendor_class.hp_printer"),
    ("dhcp.vendor_class", "Mfg=LEXMARK;Typ=MFP;Mod=Lexmark MX410de;Ser=12345ABC6D7EF;", "Lexmark", "printer",
     "MX410de", "dhcp.vendor_class.lexmark_printer"),
    ("dhcp.vendor_class", "Mfg=LEXMARK;Typ=Printer;Mod=Lexmark MS310dn;Ser=123456AB7C8DE;", "Lexmark", "printer",
     "MS310dn", "dhcp.vendor_class.lexmark_printer"),
    ("dhcp.vendor_class", "Canon iR-ADV C5535 III", "Canon", "printer", "iR-ADV C5535 III",
     "dhcp.vendor_class.canon_printer"),
    ("dhcp.vendor_class", "Canon iR-ADV 525", "Canon", "printer", "iR-ADV 525", "dhcp.vendor_class.canon_printer"),
    ("dhcp.vendor_class", "Canon D1600 Series", "Canon", "printer", "D1600", "dhcp.vendor_class.canon_printer"),
    ("dhcp.vendor_class", "SAMSUNG Network Printer", "Samsung", "printer", None, "dhcp.vendor_class.samsung_printer"),
    # phones' option 60
    ("dhcp.vendor_class", "Polycom-VVX410", "Polycom", "voip_phone", "VVX410", "dhcp.vendor_class.polycom_vvx"),
    ("dhcp.vendor_class", "Cisco Systems Inc. Wireless Phone 7925G", "Cisco", "voip_phone", "7925G",
     "dhcp.vendor_class.cisco_wireless_phone"),
    ("dhcp.vendor_class", "Cisco Systems Inc. Wireless Phone 7920", "Cisco", "voip_phone", "7920",
     "dhcp.vendor_class.cisco_wireless_phone"),
    ("dhcp.vendor_class", "Cisco systems, Inc. IP Phone CP3911", "Cisco", "voip_phone", "CP3911",
     "dhcp.vendor_class.cisco_phone"),
    # Grandstream's SIP User-Agent, Aastra/Mitel's provisioning User-Agent
    ("sip.user_agent", "Grandstream GRP2612W 1.0.5.67", "Grandstream", "voip_phone", "GRP2612W", "sip.ua.grandstream"),
    ("sip.user_agent", "Grandstream GXP2140 1.0.9.14", "Grandstream", "voip_phone", "GXP2140", "sip.ua.grandstream"),
    ("sip.server", "Grandstream GXV3240 1.0.1.27", "Grandstream", "voip_phone", "GXV3240", "sip.ua.grandstream"),
    ("http.user_agent", "Aastra6731i MAC:00-08-5D-23-74-29 V:3.2.0.70-SIP", "Mitel", "voip_phone", "6731i",
     "http.ua.aastra_mitel"),
    ("http.user_agent", "Mitel6915 MAC:14-00-E9-1B-E2-41 V:6.4.0.140-SIP", "Mitel", "voip_phone", "6915",
     "http.ua.aastra_mitel"),
]


@pytest.mark.parametrize(("attribute", "value", "named"), [(a, v, tuple(rest)) for a, v, *rest in CASES])
def test_a_printer_or_phone_is_named_by_the_channel_alone(attribute: str, value: str,
                                                          named: tuple[str, str, str | None, str]) -> None:
    vendor, kind, model, rule = named
    dev = stating(**{attribute.replace(".", "__"): value})
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found.get("model")) == (vendor, kind, model)
    assert rule in rules_for(dev, "model" if model else "device_type")


def test_a_pcoip_zero_client_is_a_thin_client_of_no_maker() -> None:
    # Teradici's firmware runs in several makers' zero clients: the option names the kind, not the vendor
    found = concluded(stating(dhcp__vendor_class="PCoIP Endpoint"))
    assert found["device_type"] == "thin_client" and "vendor" not in found


@pytest.mark.parametrize(("attribute", "value"), [
    ("dhcp.vendor_class", "Mfg=Xerox;Typ=Scanner;Mod=DocuMate 3220;Ser=1"),  # not a printer's Typ
    ("dhcp.vendor_class", "HP LaserJet Pro"),  # the bare family forms only
    ("dhcp.vendor_class", "Canon EOS R5"),  # a camera body
    ("dhcp.vendor_class", "Polycom-Trio8800"),
    ("dhcp.vendor_class", "Cisco Systems Inc. Wireless Phone 7925G extra"),
    ("sip.user_agent", "Grandstream GXP2140"),  # no firmware: not the phone's form
    ("sip.user_agent", "Grandstream HT801 1.0.17.5"),  # an ATA, no phone
    ("sip.user_agent", "Grandstream UCM6302 1.0.11.10"),  # the IP PBX
    ("http.user_agent", "Aastra6731i"),  # no MAC and firmware
    ("http.user_agent", "Mitel6915 MAC:14-00-E9-1B-E2-41 V:6.4.0.140"),  # no -SIP suffix
])
def test_other_values_of_the_same_channels_name_no_such_device(attribute: str, value: str) -> None:
    found = concluded(stating(**{attribute.replace(".", "__"): value}))
    assert found.get("device_type") not in {"printer", "voip_phone", "thin_client"}, value


@pytest.mark.parametrize(("vendor_class", "user_agent", "model"), [
    ("AastraIPPhone6731i", "Aastra6731i MAC:00-08-5D-23-74-29 V:3.2.0.70-SIP", "Aastra 6731i"),
    ("AastraIPPhone6867i", "Mitel6867i MAC:14-00-E9-1B-E2-41 V:5.1.0.1024-SIP", "Aastra 6867i"),
])
def test_an_aastra_phone_s_dhcp_and_user_agent_name_one_model(vendor_class: str, user_agent: str, model: str) -> None:
    # review R2 of a1824ae: option 60 names 'Aastra 6731i', the User-Agent '6731i'; Aastra is Mitel's brand
    # (vendor_aliases.yaml parents), so the brand in front is dropped to compare and both count for one model
    dev = stating("00:08:5d:23:74:29", dhcp__vendor_class=vendor_class, http__user_agent=user_agent)
    result = _classifier().classify(dev)
    assert (result["vendor"].value, result["model"].value) == ("Mitel", model)
    assert {e["rule_id"] for e in result["model"].evidence if e["agrees"]} == {
        "dhcp.vendor_class.aastra", "http.ua.aastra_mitel"}
