"""A device's type and category agree with the taxonomy, each type having its category (issue #3,
inventory/classifier.py Classifier._kind): the category best supported decides, the concluded type's winning a tie,
and a type of another category yields to it. A category the device's own evidence supports up to the threshold wins
over one a maker's block alone carries (inventory/weighing.py category), as for a vendor and a type: a camera maker's
block under a host whose DHCP client says Windows is no camera, a block's printer answering DNP3 is an RTU's, a
Windows Server polling PLCs is an OT station; a Windows NVR stating its model on a Hikvision block stays an NVR of
category iot. Over every lab scenario and every shared capture no device's category contradicts its type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iotwarden.kb import KnowledgeBase
from iotwarden.model import Device
from iotwarden.services.inputs import sniff_format
from tests.conftest import SHARED_DATA
from tests.inventory.test_classifier_enterprise import concluded, stating
from tests.inventory.test_classifier_windows_hosts import WINDOWS_DHCP
from tests.inventory.test_ics_iti_acceptance import _devices
from tests.inventory.test_lab_truth import _inventory, _scenarios

HIKVISION_MAC = "28:57:be:01:02:03"  # Hikvision's IEEE block: mac.vendor.hikvision (camera, 0.5)
XEROX_MAC = "00:00:00:00:00:02"  # Xerox's IEEE block 00:00:00: mac.vendor.xerox (printer, 0.6)
WINDOWS_SERVER_2008 = "Windows Server (R) 2008 Standard 6002 Service Pack 2"  # smb.server.windows_server_native_os
PCAPS = SHARED_DATA / "pcaps"


def test_a_windows_host_on_a_camera_makers_block_is_no_camera() -> None:
    found = concluded(stating(HIKVISION_MAC, **WINDOWS_DHCP))
    assert (found["vendor"], found["os"], found["category"]) == ("Hikvision", "Windows", "it")
    assert "device_type" not in found, found  # nothing says workstation or server either


def test_a_windows_recorder_stating_its_model_on_a_hikvision_block_is_an_nvr_of_category_iot() -> None:
    found = concluded(stating(HIKVISION_MAC, **WINDOWS_DHCP, sadp__device_description="DS-7608NI-I2"))
    assert (found["os"], found["device_type"], found["category"]) == ("Windows", "nvr", "iot")


def test_a_camera_makers_block_alone_is_still_a_camera() -> None:
    found = concluded(stating(HIKVISION_MAC))
    assert (found["device_type"], found["category"]) == ("camera", "iot")


def test_a_windows_server_polling_plcs_is_an_ot_station_not_an_it_server() -> None:
    dev = stating(smb__server_native_os=WINDOWS_SERVER_2008, service__client=["modbus", "enip", "s7comm"])
    found = concluded(dev)
    assert found["category"] == "ot"
    assert "device_type" not in found, found
    # the same server polling nothing is an IT server
    found = concluded(stating(smb__server_native_os=WINDOWS_SERVER_2008))
    assert (found["device_type"], found["category"]) == ("server", "it")


@pytest.mark.parametrize("role", ["service__server", "service__client"])
def test_a_printer_makers_block_answering_or_polling_dnp3_is_no_printer(role: str) -> None:
    found = concluded(stating(XEROX_MAC, **{role: "dnp3"}))
    assert (found["vendor"], found["category"]) == ("Xerox", "ot")
    assert "device_type" not in found, found
    assert concluded(stating(XEROX_MAC))["device_type"] == "printer"  # the block alone: its kind


def _contradictions(devices: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    taxonomy = KnowledgeBase.load().taxonomy
    return {key: (d["device_type"], d["category"]) for key, d in devices.items()
            if d.get("device_type") and taxonomy.get(d["device_type"]) is not None
            and taxonomy.category_of(d["device_type"]) != d.get("category")}


def _classified(devices: dict[str, Device]) -> dict[str, dict[str, Any]]:
    return {key: {prop: c.value for prop, c in dev.classification.items()} for key, dev in devices.items()}


@pytest.fixture(scope="module")
def labdir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("lab"))


@pytest.mark.slow
@pytest.mark.parametrize("scenario", _scenarios())
def test_no_lab_device_s_category_contradicts_its_type(scenario: str, labdir: str) -> None:
    _, found = _inventory(scenario, labdir)
    assert any(d.get("device_type") for d in found.values())  # the check has typed devices to look at
    assert _contradictions(found) == {}


def _shared_captures() -> list[Path]:
    if not PCAPS.is_dir():
        return []
    return sorted(p for p in PCAPS.rglob("*") if p.is_file() and sniff_format(p) == "capture")


def _folders() -> list[str]:
    return sorted({str(p.relative_to(PCAPS).parts[0]) for p in _shared_captures()})


@pytest.mark.slow
@pytest.mark.parametrize("folder", _folders())
def test_no_shared_capture_device_s_category_contradicts_its_type(folder: str) -> None:
    typed, wrong = 0, {}
    for path in (p for p in _shared_captures() if p.relative_to(PCAPS).parts[0] == folder):
        try:
            found = _classified(_devices(path))
        except AssertionError:  # a capture the reader refuses whole (not a truncated one): no devices to check
            continue
        typed += sum(1 for d in found.values() if d.get("device_type"))
        wrong.update({f"{path.relative_to(PCAPS)} {k}": v for k, v in _contradictions(found).items()})
    assert typed  # each folder has typed devices to look at
    assert wrong == {}


EMBEDDED_PRL = "1,3,6"  # satori dhcp.xml 'Trendnet IP Camera': option 55 1,3,6 under vendor class 'MSFT 98'


@pytest.mark.parametrize("vendor_class", ["MSFT 5.0", "MSFT 98"])
@pytest.mark.parametrize("prl", [EMBEDDED_PRL, None])
def test_a_camera_copying_windows_vendor_class_on_a_camera_makers_block_stays_a_camera(
        vendor_class: str, prl: str | None) -> None:
    """An embedded stack's copied option 60 is no Windows machine's own evidence: the block's camera stands."""
    attrs = {"dhcp__vendor_class": vendor_class, **({"dhcp__param_req_list": prl} if prl else {})}
    found = concluded(stating(HIKVISION_MAC, **attrs))
    assert (found["device_type"], found["category"]) == ("camera", "iot"), found


WINDOWS_PRLS = ["1,3,6,15,31,33,43,44,46,47,119,121,249,252", "1,15,3,6,44,46,47,31,33,121,249,43,252"]


@pytest.mark.parametrize("prl", WINDOWS_PRLS)
def test_a_windows_pc_with_windows_request_list_on_a_camera_makers_block_is_no_camera(prl: str) -> None:
    """Windows' own request list (dhcp.prl.windows10, windows7_8) beside MSFT 5.0 is a PC's: it, no type."""
    found = concluded(stating(HIKVISION_MAC, dhcp__vendor_class="MSFT 5.0", dhcp__param_req_list=prl))
    assert (found["os"], found["category"]) == ("Windows", "it") and "device_type" not in found, found


def test_a_windows_vendor_class_with_nothing_else_is_still_windows_it() -> None:
    found = concluded(stating(dhcp__vendor_class="MSFT 5.0", dhcp__param_req_list=EMBEDDED_PRL))
    assert (found["os"], found["category"]) == ("Windows", "it") and "device_type" not in found, found
