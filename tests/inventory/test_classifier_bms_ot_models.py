"""The kind of building and OT devices from what they state (issue #3): BACnet Model_Name product lines of the
BMS makers (rules/bacnet_models.yaml), CIP Identity device types, Modbus device identification product codes and
MMS Identify model names (rules/ot_models.yaml), on hand-made attribute sets and on the real ics_iti captures."""

from __future__ import annotations

from functools import cache

import pytest

from iotwarden.addons import default_analyzers
from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device
from tests.conftest import shared
from tests.risk.harness import run_capture

CLASSIFIER = Classifier()
ICS = ("pcaps", "ics_iti", "pcaps")


def stating(**attributes: str) -> Device:
    """A device stating one value per attribute (``bacnet__model_name`` is ``bacnet.model_name``)."""
    dev = Device(key="ip:10.0.0.9", first_seen=0.0, last_seen=0.0)
    for name, value in attributes.items():
        dev.attributes[name.replace("__", ".")] = {value}
    return dev


def kind(dev: Device) -> tuple[str | None, str | None]:
    """(vendor, device_type) the classifier concludes, None where it stays unknown."""
    found = CLASSIFIER.classify(dev)
    return (
        found["vendor"].value if "vendor" in found else None,
        found["device_type"].value if "device_type" in found else None,
    )


@cache
def _devices(*path: str) -> dict[str, Device]:
    return run_capture(shared(*path), default_analyzers()).devices


# ---- BACnet Device object Model_Name -> maker and kind ---------------------------------------------------------

SUPERVISORS = [  # engines and system/automation controllers: building_controller
    ("MS-NAE4510-2", "Johnson Controls"),
    ("MS-NAE5510-3U", "Johnson Controls"),
    ("MS-NCE2560-0", "Johnson Controls"),
    ("M4-SNE22002-0", "Johnson Controls"),
    ("M4-SNC25151-0", "Johnson Controls"),
    ("MS-NXE85SW-0", "Johnson Controls"),
    ("PXC36.1-E.D", "Siemens"),
    ("PXC4.E16", "Siemens"),
    ("PXC Modular", "Siemens"),
    ("DXR2.E18-101A", "Siemens"),
    ("JACE-8000", "Tridium"),
    ("WEB-8000", "Honeywell"),
    ("ECY-S1000", "Distech Controls"),
    ("ECY-303", "Distech Controls"),
    ("ECB-600", "Distech Controls"),
    ("AS-P", "Schneider Electric"),
    ("SmartX Server AS-B", "Schneider Electric"),
    ("MNB-1000", "Schneider Electric"),
    ("bCX1-CR", "Schneider Electric"),
    ("eBCON", "Delta Controls"),
    ("DSC-1616EX", "Delta Controls"),
    ("Tracer SC", "Trane"),
    ("Tracer SC+", "Trane"),
    ("VLC-1188", "Alerton"),
    ("BCM-ETH", "Alerton"),
    ("MACH-ProWebSys", "Reliable Controls"),
]
FIELD = [  # controllers of one piece of HVAC equipment: hvac_controller
    ("MS-FEC2611-0", "Johnson Controls"),
    ("MS-FAC3611-0", "Johnson Controls"),
    ("MS-VMA1630-0", "Johnson Controls"),
    ("M4-CVM03050-0", "Johnson Controls"),
    ("PUB6438S", "Honeywell"),
    ("PVB6436AS", "Honeywell"),
    ("ECY-VAV", "Distech Controls"),
    ("ECB-PTU-207", "Distech Controls"),
    ("MP-V-9A", "Schneider Electric"),
    ("MNB-V2", "Schneider Electric"),
    ("DVC-V322", "Delta Controls"),
    ("Tracer UC600", "Trane"),
    ("Tracer\u00ae UC400", "Trane"),
]
LIGHTING = [("MACH-ProLight", "Reliable Controls"), ("LMBC-300", "Watt Stopper")]


@pytest.mark.parametrize(("model", "vendor"), SUPERVISORS, ids=[m for m, _ in SUPERVISORS])
def test_a_supervisory_engine_or_automation_station_is_a_building_controller(model: str, vendor: str) -> None:
    assert kind(stating(bacnet__model_name=model)) == (vendor, "building_controller")


@pytest.mark.parametrize(("model", "vendor"), FIELD, ids=[m for m, _ in FIELD])
def test_a_field_controller_is_an_hvac_controller(model: str, vendor: str) -> None:
    assert kind(stating(bacnet__model_name=model)) == (vendor, "hvac_controller")


@pytest.mark.parametrize(("model", "vendor"), LIGHTING, ids=[m for m, _ in LIGHTING])
def test_a_lighting_controller_is_a_lighting_controller(model: str, vendor: str) -> None:
    assert kind(stating(bacnet__model_name=model)) == (vendor, "lighting_controller")


def test_a_field_controller_is_not_called_a_supervisor_even_with_its_makers_vendor_id() -> None:
    # ASHRAE vendor id 5 alone says building_controller (ot.yaml); the FEC's own model name is more specific
    fec = CLASSIFIER.classify(stating(bacnet__model_name="MS-FEC2611-0", bacnet__vendor_id="5"))
    nae = CLASSIFIER.classify(stating(bacnet__model_name="MS-NAE5510-2", bacnet__vendor_id="5"))
    assert fec["device_type"].value == "hvac_controller"
    assert nae["device_type"].value == "building_controller"
    assert fec["category"].value == nae["category"].value == "building"


def test_an_unknown_model_name_stays_untyped() -> None:
    dev = stating(bacnet__model_name="Widget 3000", bacnet__vendor_name="Acme Controls")
    found = CLASSIFIER.classify(dev)
    assert found["model"].value == "Widget 3000"  # the stated model is kept, no kind is guessed from it
    assert "device_type" not in found


def test_a_short_model_prefix_needs_its_makers_vendor_id() -> None:
    # 'ZN' zone controllers are Automated Logic's only when the device's ASHRAE vendor id is 24
    assert kind(stating(bacnet__model_name="ZN551")) == (None, None)
    assert kind(stating(bacnet__model_name="ZN551", bacnet__vendor_id="24")) == ("Automated Logic", "hvac_controller")
    assert kind(stating(bacnet__model_name="ZN551", bacnet__vendor_id="5"))[1] == "building_controller"  # JCI's id only


def test_the_metasys_engine_of_the_real_bacnet_capture_is_typed() -> None:
    # it answers ReadProperty with Vendor_Name 'JCI' and Model_Name 'MS-NAE4510-2', no I-Am vendor id
    dev = _devices(*ICS, "BACnet", "bacnet_test.pcap")["mac:00:19:07:24:3c:ca"]
    assert (dev.vendor, dev.device_type, dev.category) == ("Johnson Controls", "building_controller", "building")
    assert dev.conclusion("model") == "MS-NAE4510-2"
    rules = {e["rule_id"] for e in dev.classification["device_type"].evidence}
    assert rules == {"bacnet.model.jci_metasys_engine"}


# ---- CIP Identity device type (ODVA device profile) -------------------------------------------------------------

CIP = [
    (14, "plc"),
    (24, "hmi"),
    (2, "vfd"),
    (37, "vfd"),
    (7, "io_module"),
    (35, "io_module"),
    (44, "industrial_switch"),
    (41, "ot_gateway"),
    (12, "ot_gateway"),
]


@pytest.mark.parametrize(("code", "dtype"), CIP, ids=[f"cip-{c}" for c, _ in CIP])
def test_a_cip_device_profile_names_the_kind(code: int, dtype: str) -> None:
    assert kind(stating(enip__device_type=str(code)))[1] == dtype


@pytest.mark.parametrize("code", [0, 43, 6, 200], ids=["generic", "generic-keyable", "photo-sensor", "embedded"])
def test_generic_and_sensor_profiles_name_no_kind(code: int) -> None:
    assert kind(stating(enip__device_type=str(code))) == (None, None)


def test_a_catalogue_number_outweighs_the_profile() -> None:
    # a POINT I/O head declares Communications Adapter (12): its catalogue number says remote I/O
    assert kind(stating(enip__device_type="12", enip__product_name="1734-AENT/B"))[1] == "io_module"
    assert kind(stating(enip__device_type="14", enip__product_name="1756-L61/B LOGIX5561"))[1] == "plc"


# ---- Modbus device identification product codes -----------------------------------------------------------------

MODBUS = [
    ("ATV320U15N4C", "Schneider Electric", "vfd"),
    ("METSEPM5560", "Schneider Electric", "energy_meter"),
    ("TSX P57 2634M", "Schneider Electric", "plc"),
    ("BMX NOE 0100", "Schneider Electric", "ot_gateway"),
    ("750-881", "WAGO", "plc"),
    ("750-8212", "WAGO", "plc"),
    ("750-352", "WAGO", "io_module"),
]


@pytest.mark.parametrize(("code", "vendor", "dtype"), MODBUS, ids=[c for c, _, _ in MODBUS])
def test_a_modbus_product_code_names_maker_and_kind(code: str, vendor: str, dtype: str) -> None:
    assert kind(stating(modbus__product_code=code)) == (vendor, dtype)


def test_an_unknown_modbus_product_code_stays_untyped() -> None:
    assert kind(stating(modbus__product_code="XYZ-100", modbus__vendor_name="Acme"))[1] is None


# ---- MMS Identify model names: IEDs, RTUs / substation gateways, control-centre servers --------------------------

MMS = [
    ("REF615", "ABB", "ied"),
    ("RET670", "ABB", "ied"),
    ("SEL-751A", "Schweitzer Engineering", "ied"),
    ("SEL-411L", "Schweitzer Engineering", "ied"),
    ("7SJ85", "Siemens", "ied"),
    ("SEL-3530", "Schweitzer Engineering", "rtu"),
    ("RTU560", "ABB", "rtu"),
    ("COM600", "ABB", "rtu"),
    ("CP-8050", "Siemens", "rtu"),
]


@pytest.mark.parametrize(("model", "vendor", "dtype"), MMS, ids=[m for m, _, _ in MMS])
def test_an_mms_model_name_names_maker_and_kind(model: str, vendor: str, dtype: str) -> None:
    # every one of them serves MMS (service.server.mms says ied at 0.7): a gateway's model name outweighs it
    assert kind(stating(mms__model_name=model, service__server="mms")) == (vendor, dtype)


def test_the_iccp_nodes_of_the_real_capture_are_scada_servers() -> None:
    # two AREVA e-terracomm nodes exchange TASE.2 (ICCP) objects: control-centre servers, not substation IEDs
    devices = _devices(*ICS, "IEC61850", "8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap")
    for key in ("mac:00:10:18:0a:b1:92", "mac:00:11:85:5c:f1:9d"):
        dev = devices[key]
        assert (dev.vendor, dev.device_type, dev.category) == ("Areva T&D", "scada_server", "ot"), key
        assert dev.conclusion("model") == "e-terracomm"
