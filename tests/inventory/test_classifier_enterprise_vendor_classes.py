"""Enterprise access points, wireless controllers, switches, desk phones and printers by DHCP option 60 forms and
printer web-server headers no rule read (issue #3, brief K2 c): the biggest unknown groups of common enterprise kinds
that bench/fingerprint_eval.py measured on third parties' labelled fingerprints, each rule written from its maker's
guide, Rapid7 Recog's fingerprints (BSD-2-Clause) or published printer-detection checks (rules/dhcp.yaml,
rules/http.yaml), never from the measuring files. Each value alone names the maker where it says one, the kind and,
where stated, the model."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

CASES = [  # attribute, value, then what it names: vendor (None: none), kind, model, the rule naming the kind
    # Cisco's Catalyst access points: a capital C or CW (the Aironet line's lower-case c was read already)
    ("dhcp.vendor_class", "Cisco AP C9120AX", "Cisco", "access_point", "C9120AX",
     "dhcp.vendor_class.cisco_catalyst_ap"),
    ("dhcp.vendor_class", "Cisco AP C9115AX", "Cisco", "access_point", "C9115AX",
     "dhcp.vendor_class.cisco_catalyst_ap"),
    ("dhcp.vendor_class", "Cisco AP C9163E", "Cisco", "access_point", "C9163E", "dhcp.vendor_class.cisco_catalyst_ap"),
    ("dhcp.vendor_class", "Cisco AP CW9166D1", "Cisco", "access_point", "CW9166D1",
     "dhcp.vendor_class.cisco_catalyst_ap"),
    ("dhcp.vendor_class", "Airespace.AP1200", "Cisco", "access_point", None, "dhcp.vendor_class.cisco_ap_legacy"),
    ("dhcp.vendor_class", "Cisco AP.LAP1510", "Cisco", "access_point", None, "dhcp.vendor_class.cisco_ap_legacy"),
    ("dhcp.vendor_class", "Cisco AP.OAP1500", "Cisco", "access_point", None, "dhcp.vendor_class.cisco_ap_legacy"),
    ("dhcp.vendor_class", "Cisco AP802", "Cisco", "access_point", "AP802", "dhcp.vendor_class.cisco_ap80x"),
    ("dhcp.vendor_class", "Cisco AIR-CT5508-K9", "Cisco", "wireless_controller", "AIR-CT5508-K9",
     "dhcp.vendor_class.cisco_wlc"),
    ("dhcp.vendor_class", "Cisco AIR-CTVM-K9", "Cisco", "wireless_controller", "AIR-CTVM-K9",
     "dhcp.vendor_class.cisco_wlc"),
    ("dhcp.vendor_class", "Aruba JL253A 2930F-24G-4SFP+ Switch dslforum.org", "Aruba", "switch", "2930F",
     "dhcp.vendor_class.aruba_switch"),
    ("dhcp.vendor_class", "Aruba JL075A 3810M-16SFP+-2-slot Switch", "Aruba", "switch", "3810M",
     "dhcp.vendor_class.aruba_switch"),
    # desk phones
    ("dhcp.vendor_class", "OptiIpPhone", "Unify", "voip_phone", None, "dhcp.vendor_class.unify_phone"),
    ("dhcp.vendor_class", "OptiPoint", "Unify", "voip_phone", None, "dhcp.vendor_class.unify_phone"),
    ("dhcp.vendor_class", "Nortel-i2004-A", "Nortel Networks", "voip_phone", None, "dhcp.vendor_class.nortel_i2004"),
    ("dhcp.vendor_class", "Nortel-SIP-Phone-A", "Avaya", "voip_phone", None, "dhcp.vendor_class.avaya_1200_sip"),
    ("dhcp.vendor_class", "Aamadeus IP phone", "Mitel", "voip_phone", None, "dhcp.vendor_class.mitel_aamadeus"),
    # Axis' encoders are typed cameras, as ONVIF video encoders are
    ("dhcp.vendor_class", "AXIS,Network Video Encoder,M7011,5.90.1", "Axis", "camera", "M7011",
     "dhcp.vendor_class.axis_camera"),
    ("dhcp.vendor_class", "AXIS,PTZ Dome Network Camera,M5014,5.50.3.7", "Axis", "camera", "M5014",
     "dhcp.vendor_class.axis_camera"),
    # printers' embedded web servers
    ("http.server", "HP-ChaiServer/3.0", "HP", "printer", None, "http.server.hp_chai"),
    ("http.server", "HP-ChaiSOE/1.0", "HP", "printer", None, "http.server.hp_chai"),
    ("http.server", "HP_Compact_Server", "HP", "printer", None, "http.server.hp_compact_server"),
    ("http.server", "EWS-NIC5/90.66", None, "printer", None, "http.server.ews_nic"),
]


@pytest.mark.parametrize(("attribute", "value", "named"), [(a, v, tuple(rest)) for a, v, *rest in CASES])
def test_the_value_alone_names_the_kind_and_its_maker(attribute: str, value: str,
                                                      named: tuple[str | None, str, str | None, str]) -> None:
    vendor, kind, model, rule = named
    dev = stating(**{attribute.replace(".", "__"): value})
    found = concluded(dev)
    assert (found.get("vendor"), found.get("device_type"), found.get("model")) == (vendor, kind, model)
    assert rule in rules_for(dev, "device_type")


@pytest.mark.parametrize(("value", "vendor", "os"), [
    ("MERAKI", "Meraki", None),  # a Meraki access point, switch, appliance or camera: no kind
    ("HUAWEI:android:HUAWEI_P30", "Huawei", "Android"),  # a phone, tablet or TV: no kind
])
def test_a_maker_s_class_of_many_kinds_names_the_maker_only(value: str, vendor: str, os: str | None) -> None:
    found = concluded(stating(dhcp__vendor_class=value))
    assert (found.get("vendor"), found.get("os"), found.get("device_type")) == (vendor, os, None)


@pytest.mark.parametrize(("attribute", "value"), [
    ("dhcp.vendor_class", "Cisco AP C1234"),  # a capital C names only the Catalyst 9xxx models
    ("dhcp.vendor_class", "Cisco AP C9120AX extra"),
    ("dhcp.vendor_class", "Airespace.AP120"),  # not the whole documented string
    ("dhcp.vendor_class", "Cisco AP804"),
    ("dhcp.vendor_class", "Aruba JL253A Switch"),
    ("dhcp.vendor_class", "OptiIpPhone2"),
    ("dhcp.vendor_class", "Nortel-i2004-B"),
    ("dhcp.vendor_class", "AXIS,Network IO Audio Module,P8221,5.10.2"),  # an audio module, no camera
    ("http.server", "HP-Chai"),
    ("http.server", "EWS-NIC"),  # no version digit
])
def test_look_alikes_name_no_such_kind(attribute: str, value: str) -> None:
    found = concluded(stating(**{attribute.replace(".", "__"): value}))
    assert found.get("device_type") not in {"access_point", "wireless_controller", "switch", "voip_phone", "camera",
                                            "printer"}, value
