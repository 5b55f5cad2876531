"""Enterprise kinds from what the device states (issue #3, rules/enterprise.yaml): UPS network cards and power
makers by sysObjectID, Epson projectors by theirs, door controllers by ONVIF access-control profiles and Axis's
product type, Cisco meeting-room endpoints by their SIP User-Agent, signage players by their maker's block; and
the look-alikes each rule must leave alone (a PDU of a UPS maker, an Epson printer, an ONVIF camera, a Cisco
desk phone)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from iotwarden.inventory.classifier import Classifier
from iotwarden.kb import KnowledgeBase
from iotwarden.model import Device
from tests.dissect.test_wsd import envelope, match
from tests.inventory.test_classifier_sip import _register
from tests.inventory.test_classifier_wsd import device_of
from tests.risk.harness import T0, classified_by_ip, host, tcp, write_pcap

ONVIF_NS = 'xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'


@cache
def _classifier() -> Classifier:
    return Classifier(KnowledgeBase.load())


def stating(mac: str = "", **attributes: str | list[str]) -> Device:
    """A device stating the given values (``snmp__sys_object_id`` is ``snmp.sys_object_id``), keyed by ``mac``
    when given (its IEEE block then counts as the classifier counts it), else by an address."""
    dev = Device(key=f"mac:{mac}" if mac else "ip:10.0.0.9", first_seen=0.0, last_seen=0.0, mac=mac or None)
    for name, value in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(value) if isinstance(value, list) else {value}
    return dev


def concluded(dev: Device) -> dict[str, str]:
    """The properties the classifier concludes, by name."""
    return {prop: c.value for prop, c in _classifier().classify(dev).items()}


def rules_for(dev: Device, prop: str) -> set[str]:
    """The rules whose evidence agrees with the conclusion of ``prop``."""
    return {str(e["rule_id"]) for e in _classifier().classify(dev)[prop].evidence if e["agrees"]}


# ---- UPS network cards and power makers -------------------------------------------------------------------

@pytest.mark.parametrize(("oid", "vendor", "rule"), [
    ("1.3.6.1.4.1.534.1", "Eaton", "snmp.oid.eaton_xups"),  # Eaton Gigabit Network Card / Network-M2 (XUPS-MIB)
    ("1.3.6.1.4.1.534.2.12", "Eaton", "snmp.oid.eaton_pxgx"),  # Powerware PXGX cards
    ("1.3.6.1.4.1.705.1", "Eaton", "snmp.oid.mge_ups"),  # MGE / Eaton Network-MS
    ("1.3.6.1.4.1.3808.1.1.1", "CyberPower", "snmp.oid.cyberpower_ups"),  # CyberPower RMCARD (CPS-MIB::ups)
    ("1.3.6.1.4.1.232.165.3", "HPE", "snmp.oid.hpe_ups"),  # HP/HPE UPS management module (CPQPOWER-MIB)
])
def test_a_ups_agent_s_sys_object_id_names_a_ups_of_its_maker(oid: str, vendor: str, rule: str) -> None:
    dev = stating(snmp__sys_object_id=oid)
    found = concluded(dev)
    assert (found.get("vendor"), found.get("device_type"), found.get("category")) == (vendor, "ups", "it")
    assert rule in rules_for(dev, "device_type")


@pytest.mark.parametrize(("oid", "vendor"), [
    ("1.3.6.1.4.1.534.10", "Eaton"),  # Eaton's ATS arc above its agents (test_classifier_transfer_switch_makers.py)
    ("1.3.6.1.4.1.3808.1.1.3", "CyberPower"),  # a CyberPower PDU (CPS-MIB::ePDU)
    ("1.3.6.1.4.1.13742.8", "Raritan"),  # a Raritan EMX environment monitor (its PDUs: test_classifier_pdu.py)
    ("1.3.6.1.4.1.1718", "ServerTech"),  # ServerTech's enterprise alone
    ("1.3.6.1.4.1.476.1.42", "Vertiv"),  # a Liebert IntelliSlot card: UPS or precision cooling alike
    ("1.3.6.1.4.1.850.1", "Tripp Lite"),  # a Tripp Lite SNMPWEBCARD: UPS or PDU alike
])
def test_a_power_maker_s_other_agents_name_the_maker_and_no_ups(oid: str, vendor: str) -> None:
    found = concluded(stating(snmp__sys_object_id=oid))
    assert found.get("vendor") == vendor
    assert "device_type" not in found


def test_an_hpe_server_stays_a_server() -> None:
    found = concluded(stating(snmp__sys_object_id="1.3.6.1.4.1.232.9.4.10"))  # Compaq's enterprise, no UPS arc
    assert (found["vendor"], found["device_type"]) == ("HPE", "server")


def test_an_arc_prefix_is_no_ups_subtree() -> None:
    # 534.10 (transfer switches) begins with the digits of 534.1 but is another arc
    assert concluded(stating(snmp__sys_object_id="1.3.6.1.4.1.534.10"))["vendor"] == "Eaton"
    assert "device_type" not in concluded(stating(snmp__sys_object_id="1.3.6.1.4.1.534.10"))


# ---- projectors -------------------------------------------------------------------------------------------

def test_an_epson_projector_s_sys_object_id_names_a_projector() -> None:
    dev = stating(snmp__sys_object_id="1.3.6.1.4.1.1248.4.1.1")
    assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("Epson", "projector")
    assert "snmp.oid.epson_projector" in rules_for(dev, "device_type")


def test_an_epson_printer_stays_a_printer() -> None:
    found = concluded(stating(snmp__sys_object_id="1.3.6.1.4.1.1248.1.2.2.1.1.1"))
    assert (found["vendor"], found["device_type"]) == ("Epson", "printer")


def _pjlink_session(manufacturer: bytes, product: bytes) -> list[tuple[bool, bytes]]:
    """A controller's identity poll of a PJLink device and its answers (JBMIA PJLink Class 1)."""
    return [(False, b"PJLINK 0\r"), (True, b"%1CLSS ?\r"), (False, b"%1CLSS=1\r"), (True, b"%1INF1 ?\r"),
            (False, b"%1INF1=" + manufacturer + b"\r"), (True, b"%1INF2 ?\r"), (False, b"%1INF2=" + product + b"\r"),
            (True, b"%1POWR ?\r"), (False, b"%1POWR=1\r")]


def test_an_epson_projector_answering_pjlink_end_to_end(tmp_path: Path) -> None:
    controller, projector = host(40), host(41)
    frames = tcp(controller, projector, 4352, _pjlink_session(b"EPSON", b"EB-2250U"))
    devices = classified_by_ip(write_pcap(tmp_path / "pjlink.pcap", frames))
    dev = devices[projector.ip]
    assert dev.attributes["pjlink.manufacturer"] == {"EPSON"} and "pjlink" in dev.attributes["service.server"]
    assert (dev.vendor, dev.device_type, dev.conclusion("model"), dev.category) == (
        "Epson", "projector", "EB-2250U", "iot")
    assert devices[controller.ip].device_type != "projector"  # the controller only asked


@pytest.mark.parametrize(("manufacturer", "product", "kind"), [
    ("Panasonic", "PT-RZ970", "projector"),
    ("SONY", "VPL-PHZ61", "projector"),
    ("HITACHI", "CP-EX301N", "projector"),
    ("NEC", "PA1004UL", None),  # NEC's projectors and its MultiSync displays answer alike: no kind
    ("Panasonic", "TH-55EQ1", None),  # a Panasonic display is no projector
    ("Acme", "CP-EX301N", None),  # the Hitachi numbering counts under Hitachi's (Maxell's) name only
])
def test_a_pjlink_product_line_says_the_kind_only_where_it_is_a_projector_line(
        manufacturer: str, product: str, kind: str | None) -> None:
    found = concluded(stating(service__server="pjlink", pjlink__manufacturer=manufacturer, pjlink__product=product))
    assert found.get("device_type") == kind
    assert (found["category"], found["model"]) == ("iot", product)


# ---- physical access control ------------------------------------------------------------------------------

AXIS_DOOR_CONTROLLER = envelope("<d:ProbeMatches>" + match(
    "tds:Device",
    "onvif://www.onvif.org/name/AXIS%20A1001 onvif://www.onvif.org/hardware/A1001 "
    "onvif://www.onvif.org/Profile/A onvif://www.onvif.org/Profile/C") + "</d:ProbeMatches>", namespaces=ONVIF_NS)


def test_an_axis_door_controller_answering_onvif_is_a_badge_reader() -> None:
    dev = device_of(AXIS_DOOR_CONTROLLER, probe=False)
    assert dev.attributes["wsd.onvif_profiles"] == {"A", "C"}
    assert (dev.vendor, dev.device_type, dev.category) == ("Axis", "badge_reader", "building")
    assert dev.conclusion("model") == "A1001"
    rules = {str(e["rule_id"]) for e in dev.classification["device_type"].evidence if e["agrees"]}
    assert {"wsd.onvif.hardware.axis_door_controller", "wsd.onvif.profile.access_control"} <= rules


def test_an_access_control_profile_alone_names_the_kind_not_a_vendor() -> None:
    found = concluded(stating(wsd__onvif_profiles=["C"]))
    assert found.get("device_type") == "badge_reader" and "vendor" not in found
    assert concluded(stating(wsd__onvif_profiles=["D"])).get("device_type") == "badge_reader"


def test_an_onvif_camera_s_streaming_profiles_make_no_badge_reader() -> None:
    camera = envelope("<d:ProbeMatches>" + match(
        "dn:NetworkVideoTransmitter tds:Device",
        "onvif://www.onvif.org/name/AXIS%20M3045-V onvif://www.onvif.org/hardware/M3045-V "
        "onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/Profile/G onvif://www.onvif.org/Profile/T")
        + "</d:ProbeMatches>", namespaces=ONVIF_NS)
    dev = device_of(camera)
    assert (dev.vendor, dev.device_type) == ("Axis", "camera")


def test_an_intercom_streaming_video_beside_profile_c_stays_a_camera() -> None:
    # a door station that also streams (NVT, Profile S) weighs more as a camera than by its door profile
    intercom = envelope("<d:ProbeMatches>" + match(
        "dn:NetworkVideoTransmitter tds:Device",
        "onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/Profile/C") + "</d:ProbeMatches>",
        namespaces=ONVIF_NS)
    assert device_of(intercom).device_type == "camera"


def test_an_axis_model_of_another_line_is_no_door_controller() -> None:
    # the A-number rule holds for the A1xxx door controllers only, and only under Axis's own name scope
    found = concluded(stating(wsd__onvif_hardware="A8207-VE", wsd__onvif_names="AXIS A8207-VE"))
    assert found.get("device_type") != "badge_reader"
    found = concluded(stating(wsd__onvif_hardware="A1001", wsd__onvif_names="IPCAM"))
    assert found.get("device_type") != "badge_reader"


def test_an_axis_door_controller_s_dhcp_product_type_outweighs_the_axis_host_name() -> None:
    dev = stating("b8:a4:4f:00:00:01", dhcp__vendor_class="AXIS,Network Door Controller,A1601",
                  dhcp__hostname="axis-b8a44f000001")
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Axis", "badge_reader", "A1601")
    camera = stating(dhcp__vendor_class="AXIS,Network Camera,P3301", dhcp__hostname="axis-b8a44f000002")
    assert concluded(camera)["device_type"] == "camera"


def test_an_axis_upnp_description_names_its_door_controller() -> None:
    dev = stating(http__upnp_model_description="AXIS A1610 Network Door Controller", http__upnp_manufacturer="AXIS")
    assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("Axis", "badge_reader")
    station = stating(http__upnp_model_description="AXIS A8004-VE Network Video Door Station")
    assert concluded(station).get("device_type") != "badge_reader"


def test_access_control_makers_blocks_name_a_badge_reader() -> None:
    mercury = concluded(stating("00:0f:e5:00:00:01"))  # MERCURY SECURITY CORPORATION
    paxton = concluded(stating("6c:2a:cb:00:00:01"))  # Paxton Access Ltd
    assert (mercury["vendor"], mercury["device_type"]) == ("Mercury Security", "badge_reader")
    assert (paxton["vendor"], paxton["device_type"]) == ("Paxton Access", "badge_reader")



# ---- meeting-room video -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("user_agent", "model", "firmware"), [
    ("TANDBERG/529 (ce9.1.4.3ae3106) Cisco-MX700ST", "MX700ST", "ce9.1.4"),
    ("TANDBERG/529 (ce11.40.1.1.10bdaa53ce2) Cisco-RoomKitMini", "RoomKitMini", "ce11.40.1"),
    ("Cisco-CP-DX80/10.2.1", "DX80", "10.2.1"),
])
def test_a_cisco_room_endpoint_s_user_agent_names_its_model(user_agent: str, model: str, firmware: str) -> None:
    found = concluded(stating(sip__user_agent=user_agent))
    assert (found["vendor"], found["device_type"], found["model"], found["firmware"]) == (
        "Cisco", "video_conferencing", model, firmware)


def test_a_cisco_desk_phone_is_no_room_endpoint() -> None:
    found = concluded(stating(sip__user_agent="Cisco-CP8865/12.8.1"))
    assert found["device_type"] == "voip_phone"


def test_a_registering_room_kit_end_to_end(tmp_path: Path) -> None:
    room, pbx = host(31), host(2)
    frames = _register(room, pbx, "TANDBERG/529 (ce9.15.3.17) Cisco-RoomKit", t=T0)
    dev = classified_by_ip(write_pcap(tmp_path / "room.pcap", frames))[room.ip]
    assert (dev.vendor, dev.device_type, dev.conclusion("model")) == ("Cisco", "video_conferencing", "RoomKit")


def test_a_tandberg_block_leans_to_video_conferencing_without_a_vendor_rule() -> None:
    found = concluded(stating("00:50:60:00:00:01"))  # TANDBERG TELECOM AS
    assert found["device_type"] == "video_conferencing"


# ---- digital signage --------------------------------------------------------------------------------------

def test_a_brightsign_block_is_a_signage_player() -> None:
    found = concluded(stating("90:ac:3f:00:00:01"))  # BrightSign LLC
    assert (found["vendor"], found["device_type"]) == ("BrightSign", "digital_signage")
