"""Kinds no rule could type before (issue #3, bench/kb_channels.py): safety controllers (Siemens F-CPU order numbers
and type names, Rockwell GuardLogix, Modicon M580 Safety, HIMA's CIP id and block), fire alarm panels (Notifier's
BACnet id, fire alarm makers' blocks), elevator controllers (the elevator makers' BACnet and CIP ids and blocks),
historians (an OPC UA server naming itself one) and wearables (an Apple Watch's DHCP host name). Each rule types
what it names, and a near miss stays what it was."""

from __future__ import annotations

import pytest

from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device
from tests.benchutil import bench_module

CLASSIFIER = Classifier()


def stating(mac: str | None = None, **attributes: str) -> Device:
    """A device stating one value per attribute (``enip__product_name`` is ``enip.product_name``), on ``mac``."""
    dev = Device(key=f"mac:{mac}" if mac else "ip:10.0.0.9", first_seen=0.0, last_seen=0.0, mac=mac)
    for name, value in attributes.items():
        dev.attributes[name.replace("__", ".")] = {value}
    return dev


def kind(dev: Device) -> tuple[str | None, str | None]:
    """(vendor, device_type) the classifier concludes, None where it stays unknown."""
    found = CLASSIFIER.classify(dev)
    return (found["vendor"].value if "vendor" in found else None,
            found["device_type"].value if "device_type" in found else None)


# ---- safety controllers ------------------------------------------------------------------------------------------

F_CPU_ORDERS = ["6ES7511-1UK01-0AB0", "6ES7516-3UN00-0AB0",
                "6ES7516-3FN01-0AB0", "6ES7 515-2FM02-0AB0", "6ES7511-1FK02-0AB0", "6ES7518-4FP00-0AB0",
                "6ES7510-1SJ01-0AB0", "6ES7512-1SK01-0AB0", "6ES7315-2FJ14-0AB0", "6ES7317-6FF04-0AB0",
                "6ES7318-3FL01-0AB0", "6ES7151-8FB01-0AB0", "6ES7214-1AF40-0XB0", "6ES7215-1HF40-0XB0",
                # the fail-safe H-CPU 1518HF-4 PN, the ET 200pro 1516pro F-2 PN, the S7-300 317TF-2 DP and 317TF-3 PN/DP
                "6ES7518-4JP00-0AB0", "6ES7 516-2GN00-0AB0", "6ES7317-6TF14-0AB0", "6ES7317-7UL10-0AB0"]
STANDARD_CPU_ORDERS = ["6ES7511-1TK01-0AB0",
                       "6ES7516-3AN01-0AB0", "6ES7515-2AM02-0AB0", "6ES7510-1DJ01-0AB0", "6ES7512-1CK01-0AB0",
                       "6ES7315-2EH14-0AB0", "6ES7315-2AF03-0AB0", "6ES7214-1AG40-0XB0", "6ES7214-1HG40-0XB0",
                       # their standard neighbours: the H-CPU 1517H-3 PN, the R-CPU 1513R-1 PN, 1516pro-2 PN, the
                       # technology CPUs 317T-2 DP and 317T-3 PN/DP
                       "6ES7517-3HP00-0AB0", "6ES7513-1RM03-0AB0", "6ES7516-2PN00-0AB0", "6ES7317-6TK13-0AB0",
                       "6ES7317-7TK10-0AB0"]


@pytest.mark.parametrize("order", F_CPU_ORDERS)
def test_a_siemens_f_cpu_order_number_is_a_safety_controller(order: str) -> None:
    assert kind(stating(s7comm__module_order_number=order)) == ("Siemens", "safety_controller")
    assert kind(stating(pnio_cm__order_id=order)) == ("Siemens", "safety_controller")


@pytest.mark.parametrize("order", STANDARD_CPU_ORDERS)
def test_a_standard_siemens_cpu_stays_a_plc(order: str) -> None:
    assert kind(stating(s7comm__module_order_number=order)) == ("Siemens", "plc")


def test_only_the_documented_s7_1200_fc_generation_is_read_as_fail_safe() -> None:
    """The S7-1200 FC order numbers are documented as 1AF40 / 1HF40 (V4 generation); an order number of another
    generation with F in that place is not read as an F-CPU by the rule (review of e7c0923, issue #3)."""
    assert kind(stating(s7comm__module_order_number="6ES7214-1AF40-0XB0")) == ("Siemens", "safety_controller")
    assert kind(stating(s7comm__module_order_number="6ES7214-1AF50-0XB0"))[1] != "safety_controller"


@pytest.mark.parametrize(("name", "expected"), [
    ("CPU 1516F-3 PN/DP", "safety_controller"), ("CPU 1511TF-1 PN", "safety_controller"),
    ("CPU 1510SP F-1 PN", "safety_controller"), ("CPU 315F-2 PN/DP", "safety_controller"),
    ("CPU 1214FC DC/DC/DC", "safety_controller"), ("CPU 1516pro F-2 PN", "safety_controller"),
    ("CPU 1516proF-2 PN", "safety_controller"), ("CPU 1518HF-4 PN", "safety_controller"),
    ("CPU 317TF-3 PN/DP", "safety_controller"),
    ("CPU 1516-3 PN/DP", "plc"), ("CPU 1214C DC/DC/DC", "plc"), ("CPU 315-2 PN/DP", "plc"), ("CPU 1511T-1 PN", "plc"),
    ("CPU 1516pro-2 PN", "plc"), ("CPU 1517H-3 PN", "plc"), ("CPU 317T-3 PN/DP", "plc"),
])
def test_the_s7_type_name_says_fail_safe_or_standard(name: str, expected: str) -> None:
    assert kind(stating(s7comm__module_type_name=name)) == ("Siemens", expected)


@pytest.mark.parametrize(("product", "expected"), [
    ("1756-L73S/B LOGIX5573SAFETY", "safety_controller"), ("1756-L83ES/B", "safety_controller"),
    ("1756-L7SP/B", "safety_controller"), ("1769-L33ERMS/A", "safety_controller"),
    ("5069-L320ERS2/A", "safety_controller"), ("1756-L73SXT/B", "safety_controller"),
    ("1756-L7SPXT/B", "safety_controller"), ("1756-L63S/B LOGIX5563S", "safety_controller"),
    ("1756-L72EROMS/A", "safety_controller"), ("1756-L73EROMS/A", "safety_controller"),  # Armor GuardLogix
    ("1769-L33ERMSK/A", "safety_controller"), ("1769-L38ERMSK/A", "safety_controller"),  # conformally coated
    ("1769-L36ERMOS/A", "safety_controller"),  # Armor Compact GuardLogix
    ("1756-L73/B LOGIX5573", "plc"), ("1756-L83E/B", "plc"), ("1769-L33ER/A", "plc"), ("5069-L320ER/A", "plc"),
    ("1756-L73XT/B", "plc"), ("1756-L72EROM/A", "plc"), ("1769-L37ERMK/A", "plc"), ("1769-L36ERMO/A", "plc"),
])
def test_a_guardlogix_is_a_safety_controller_a_controllogix_a_plc(product: str, expected: str) -> None:
    assert kind(stating(enip__product_name=product)) == ("Rockwell Automation", expected)


def test_the_guardlogix_keeps_its_catalogue_model() -> None:
    found = CLASSIFIER.classify(stating(enip__product_name="1756-L73S/B LOGIX5573SAFETY"))
    assert found["model"].value == "ControlLogix 1756-L73S" and found["category"].value == "ot"


@pytest.mark.parametrize(("code", "expected"), [
    ("BMEP584040S", "safety_controller"), ("BME H58 6040S", "safety_controller"),
    ("BMEP584040", "plc"), ("BME H58 6040", "plc"),
])
def test_an_m580_safety_cpu_is_a_safety_controller(code: str, expected: str) -> None:
    assert kind(stating(modbus__product_code=code)) == ("Schneider Electric", expected)


def test_hima_by_its_cip_id_is_a_safety_controller_pilz_is_not() -> None:
    assert kind(stating(enip__vendor_id="925")) == ("HIMA", "safety_controller")
    assert kind(stating("00:e0:a1:00:00:01", enip__vendor_id="925")) == ("HIMA", "safety_controller")
    # Pilz builds safety relays, drives and operator terminals besides its controllers: its id names the maker only
    assert kind(stating(enip__vendor_id="181")) == ("Pilz", None)
    assert kind(stating("00:02:48:00:00:01")) == ("Pilz", None)


def test_hima_s_block_alone_is_ot_equipment_of_no_one_kind() -> None:
    """HIMA's block holds its HIMatrix remote I/O modules (F1 DI 16 01, F3 DIO 8/8 01: io_module, on their own
    addresses) as well as its controllers: the block alone names the maker and category OT, no kind (review R2 of
    e7c0923: it typed every HIMA address a safety controller)."""
    found = CLASSIFIER.classify(stating("00:e0:a1:00:00:01"))
    assert found["vendor"].value == "HIMA" and found["category"].value == "ot" and "device_type" not in found


# ---- fire alarm panels -------------------------------------------------------------------------------------------

def test_a_notifier_bacnet_device_is_a_fire_panel() -> None:
    assert kind(stating(bacnet__vendor_id="34")) == ("Notifier", "fire_panel")


def test_other_fire_and_security_makers_bacnet_ids_name_no_kind() -> None:
    # Simplex, Hochiki, Tyco build more than fire panels; 1435 'Edwards Limited' is the vacuum-pump maker
    for vendor_id in ("32", "79", "437", "1435"):
        assert kind(stating(bacnet__vendor_id=vendor_id))[1] is None, vendor_id


@pytest.mark.parametrize("mac", ["8c:59:3c:20:00:01", "38:1f:26:c0:00:01", "00:18:aa:00:00:01"])
def test_a_fire_alarm_makers_block_is_a_fire_panel(mac: str) -> None:
    assert kind(stating(mac))[1] == "fire_panel"


def test_a_home_smoke_alarm_makers_block_is_no_fire_panel() -> None:
    assert kind(stating("e4:1e:0a:a0:00:01"))[1] != "fire_panel"  # FireAngel: consumer smoke and CO alarms


# ---- elevator controllers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("vendor_id", "vendor"), [
    ("498", "ThyssenKrupp Elevator"), ("703", "New Lift"), ("902", "Otis"), ("984", "KONE"), ("1149", "Schindler"),
])
def test_an_elevator_makers_bacnet_id_is_an_elevator_controller(vendor_id: str, vendor: str) -> None:
    assert kind(stating(bacnet__vendor_id=vendor_id)) == (vendor, "elevator_controller")
    assert CLASSIFIER.classify(stating(bacnet__vendor_id=vendor_id))["category"].value == "building"


def test_nippon_otis_by_its_cip_id_is_an_elevator_controller() -> None:
    assert kind(stating(enip__vendor_id="669")) == ("Nippon Otis Elevator", "elevator_controller")


@pytest.mark.parametrize("mac", ["00:d0:85:00:00:01", "64:9f:f7:00:00:01", "00:06:c3:00:00:01", "00:1c:16:00:00:01",
                                 "5c:14:37:00:00:01", "28:ca:09:00:00:01", "1c:35:f1:00:00:01"])
def test_an_elevator_makers_block_alone_is_a_building_device_of_no_kind(mac: str) -> None:
    """The block also holds the makers' escalator, access control and monitoring kit (review of brief B 3, issue
    #3): alone it leans to an elevator controller and decides only the category."""
    dev = stating(mac)
    found = CLASSIFIER.classify(dev)
    assert "device_type" not in found and found["category"].value == "building"
    assert any(m.conclusions.get("device_type") == "elevator_controller" for m in CLASSIFIER.matches(dev))


@pytest.mark.parametrize(("mac", "vendor_id"), [
    ("00:d0:85:00:00:01", "902"), ("64:9f:f7:00:00:01", "984"), ("00:06:c3:00:00:01", "1149"),
    ("00:1c:16:00:00:01", "498"), ("1c:35:f1:00:00:01", "703"),
])
def test_an_elevator_makers_block_and_its_bacnet_id_are_an_elevator_controller(mac: str, vendor_id: str) -> None:
    assert kind(stating(mac, bacnet__vendor_id=vendor_id))[1] == "elevator_controller"


@pytest.mark.parametrize("mac", ["78:ca:83:e0:00:01", "cc:c9:2c:00:00:01"])
def test_konecranes_and_schindlers_port_terminals_are_no_elevator_controllers(mac: str) -> None:
    assert kind(stating(mac))[1] != "elevator_controller"


# ---- historians --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("attribute", "value"), [
    ("opcua__application_name", "Historian OPC UA HDA Server"),
    ("opcua__application_name", "Proficy Historian"),
    ("opcua__product_uri", "urn:example.com:AVEVA:Historian"),
])
def test_an_opc_ua_server_naming_itself_a_historian_is_one(attribute: str, value: str) -> None:
    assert kind(stating(**{attribute: value}))[1] == "historian"


def test_an_opc_ua_client_named_historian_or_another_server_is_not() -> None:
    assert kind(stating(opcua__client_application_name="Historian Collector"))[1] != "historian"
    assert kind(stating(opcua__application_name="KEPServerEX/UA Server"))[1] != "historian"
    assert kind(stating(opcua__application_name="HistorianX Gateway"))[1] != "historian"  # a word, not a substring



@pytest.mark.parametrize("name", ["Historian Collector", "Proficy Historian OPC UA Collector",
                                  "OPC UA Collector for Proficy Historian", "PI Interface to Historian",
                                  "Historian Client Access", "Historian Connector"])
def test_a_historians_collector_or_interface_serving_opc_ua_is_no_historian(name: str) -> None:
    """A collector or interface node names the historian it feeds (review of brief B 3, issue #3)."""
    assert kind(stating(opcua__application_name=name))[1] != "historian"


# ---- wearables ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Ravis-Apple-Watch", "Apple-Watch", "Kims-AppleWatch", "apple-watch-2",
                                  "Ravis-Apple-Watch-Ultra-49mm", "Apple-Watch-SE"])
def test_an_apple_watchs_host_name_is_a_wearable(name: str) -> None:
    assert kind(stating(dhcp__hostname=name)) == ("Apple", "wearable")


@pytest.mark.parametrize(("name", "expected"), [
    ("Ravis-iPhone", "mobile_phone"), ("Apple-TV", "media_player"), ("Swatch-Kiosk", None),
    ("watchguard-fw", None),
])
def test_other_apple_and_watch_names_are_no_wearable(name: str, expected: str | None) -> None:
    assert kind(stating(dhcp__hostname=name))[1] == expected


@pytest.mark.parametrize("name", ["apple-watch-charger", "AppleWatchStrapShop-PC", "applewatch-dock",
                                  "pineapple-watch"])
def test_a_thing_named_for_the_watch_is_no_watch(name: str) -> None:
    """A charger's, dock's or shop PC's host name that names the watch is no watch (review of e7c0923, issue #3):
    the watch's own name ends its host name, or a model word, size or number follows it."""
    assert kind(stating(dhcp__hostname=name)) == (None, None)


# ---- the coverage probe --------------------------------------------------------------------------------------------

def test_each_of_these_kinds_has_a_rule_now() -> None:
    rows = {kind_id: channels for kind_id, _, channels in bench_module("kb_channels").coverage(CLASSIFIER.kb)}
    for kind_id in ("safety_controller", "fire_panel", "elevator_controller", "historian", "wearable"):
        assert rows[kind_id], kind_id
