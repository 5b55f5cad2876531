"""Device: classification is explicit (unknown stays None) and serialises with its evidence."""

from __future__ import annotations

from iotwarden.model import CLASSIFIED_FIELDS, Conclusion, Device
from iotwarden.model.device import DOMAINS_ATTRIBUTE, UNTAGGED


def test_unknown_properties_are_none_not_guessed() -> None:
    device = Device(key="mac:00:40:8c:00:00:01", first_seen=1.0, last_seen=2.0)
    assert all(device.conclusion(name) is None for name in CLASSIFIED_FIELDS)
    assert (device.vendor, device.device_type, device.category) == (None, None, None)


def test_conclusions_keep_their_evidence_through_to_dict() -> None:
    device = Device(key="mac:00:40:8c:00:00:01", first_seen=1.0, last_seen=2.0)
    evidence = {"rule": "mac.axis", "attribute": "mac.oui_vendor", "value": "Axis", "weight": 0.6}
    device.classification["vendor"] = Conclusion("Axis", 0.6, [evidence])
    device.add_attribute("dhcp.hostname", "axis-00408c000001")
    data = device.to_dict()
    assert data["classification"]["vendor"] == {"value": "Axis", "confidence": 0.6, "evidence": [evidence]}
    assert Conclusion.from_dict(data["classification"]["vendor"]) == device.classification["vendor"]
    assert data["attributes"] == {"dhcp.hostname": ["axis-00408c000001"]}


def test_a_device_is_in_the_domains_it_was_seen_in_or_any_when_none_is_recorded() -> None:
    seen = Device("mac:00:11:22:33:44:01", 0.0, 0.0, attributes={DOMAINS_ATTRIBUTE: {"vlan10", UNTAGGED}})
    assert seen.in_domain("vlan10") and seen.in_domain("")
    assert not seen.in_domain("vlan20") and not seen.in_domain("vni4001/vlan10")
    assert Device("mac:00:11:22:33:44:02", 0.0, 0.0).in_domain("vlan20")  # no record: an untagged run
