"""inventory/masks.py: which of a device's evidence describes something it shows, not itself (issue #3). A desktop
User-Agent on a camera maker's block is a mask; one nothing of the device's own confirms says the system only; a
printer's announcements beside CUPS's sharing keys are a shared printer's; a printer's own announcements are its."""

from __future__ import annotations

from iotwarden.inventory import masks
from iotwarden.inventory.classifier import Classifier
from iotwarden.kb import KnowledgeBase
from iotwarden.kb.index import Match
from tests.inventory.test_classifier_enterprise import stating
from tests.inventory.test_classifier_shared_printer import CUPS_SERVICES, CUPS_TXT, HP_PRINTER, WINDOWS_DHCP
from tests.inventory.test_classifier_user_agent_mask import EDGE_UA, HIKVISION_MAC, UNKNOWN_BLOCK_MAC

CLASSIFIER = Classifier()
TAXONOMY = KnowledgeBase.load().taxonomy


def evidence(mac: str = "", **attributes: str | list[str]) -> list[Match]:
    return CLASSIFIER.matches(stating(mac, **attributes))


def test_a_desktop_user_agent_on_a_camera_makers_block_is_a_mask() -> None:
    matches = evidence(HIKVISION_MAC, http__user_agent=EDGE_UA)
    kept, masked, unconfirmed = masks.user_agent(TAXONOMY, CLASSIFIER.min_confidence, matches)
    assert masked and all(m.attribute == masks.USER_AGENT for m in masked) and unconfirmed == []
    assert not any(m.attribute == masks.USER_AGENT for m in kept) and len(kept) + len(masked) == len(matches)


def test_a_user_agent_the_devices_own_dhcp_confirms_stands() -> None:
    matches = evidence(http__user_agent=EDGE_UA, **WINDOWS_DHCP)
    assert masks.user_agent(TAXONOMY, CLASSIFIER.min_confidence, matches) == (matches, [], [])


def test_a_user_agent_alone_says_the_system_only() -> None:
    matches = evidence(UNKNOWN_BLOCK_MAC, http__user_agent=EDGE_UA)
    kept, masked, unconfirmed = masks.user_agent(TAXONOMY, CLASSIFIER.min_confidence, matches)
    assert kept == matches and masked == [] and unconfirmed
    stripped = masks.system_only(matches, unconfirmed)
    assert any(m.conclusions.get("os") == "Windows" for m in stripped)
    user_agent = [m for m in stripped if m.attribute == masks.USER_AGENT]
    assert user_agent and not any({"device_type", "category"} & set(m.conclusions) for m in user_agent)
    assert masks.system_only(matches, []) is matches


def test_a_printers_announcements_beside_cups_sharing_keys_are_a_shared_printers() -> None:
    matches = evidence(mdns__txt=CUPS_TXT, mdns__services=CUPS_SERVICES)
    kept, shared = masks.shared_printer(TAXONOMY, matches)
    assert shared and all(m.behaviour == masks.PRINTER_ANNOUNCEMENT for m in shared)
    assert not any(m.behaviour == masks.PRINTER_ANNOUNCEMENT for m in kept)


def test_a_printers_own_announcements_are_its_own() -> None:
    matches = evidence(mdns__txt=HP_PRINTER, mdns__services=["_ipp._tcp.local"], **WINDOWS_DHCP)
    assert masks.shared_printer(TAXONOMY, matches) == (matches, [])  # usb_MFG: a printer's own sign


def test_an_it_machine_and_an_it_sign() -> None:
    windows = Match("r", "dhcp.vendor_class", "MSFT 5.0", {"os": "Windows"}, 0.7, "", "dhcp")
    laptop = Match("r", "x", "y", {"device_type": "workstation"}, 0.5, "", "x")
    camera = Match("r", "x", "y", {"device_type": "camera"}, 0.5, "", "x")
    assert masks.it_machine(TAXONOMY, windows) and masks.it_machine(TAXONOMY, laptop)
    assert not masks.it_machine(TAXONOMY, camera)
    assert masks.it_sign(TAXONOMY, laptop) and not masks.it_sign(TAXONOMY, windows)
    assert not masks.it_sign(TAXONOMY, camera)
