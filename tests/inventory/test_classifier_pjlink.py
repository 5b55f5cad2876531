"""PJLink Class 2 on udp/4352 through the engine, the inventory and the knowledge base (rules/pjlink.yaml): a device
that answers a controller's search, or notifies its link-up, states its MAC address and is a PJLink device (category
iot, no kind: projectors and displays both speak it); the searching controller gets nothing."""

from __future__ import annotations

from pathlib import Path

from iotwarden.lab.wire import Host
from iotwarden.model import Device
from tests.risk.harness import T0, classified_by_ip, host, udp, write_pcap

BROADCAST = Host("ff:ff:ff:ff:ff:ff", "10.9.0.255")


def _rules(dev: Device, prop: str) -> set[str]:
    return {str(e["rule_id"]) for e in dev.classification[prop].evidence if e["agrees"]}


def test_a_device_answering_a_pjlink_search_is_a_pjlink_device_and_the_controller_nothing(tmp_path: Path) -> None:
    controller, projector = host(60), host(61)
    frames = [*udp(controller, BROADCAST, 4352, 4352, b"%2SRCH\r"),
              *udp(projector, controller, 4352, 4352, b"%2ACKN=" + projector.mac.upper().encode() + b"\r",
                   t=T0 + 0.2)]
    devices = classified_by_ip(write_pcap(tmp_path / "search.pcap", frames))
    dev = devices[projector.ip]
    assert dev.attributes["pjlink.mac"] == {projector.mac}
    assert dev.category == "iot" and "pjlink.class2.mac" in _rules(dev, "category")
    assert dev.device_type is None  # a projector or a display: the search does not say which
    found = devices[controller.ip]
    assert "pjlink.mac" not in found.attributes and found.category is None


def test_a_link_up_notification_alone_names_a_pjlink_device(tmp_path: Path) -> None:
    controller, display = host(62), host(63)
    frames = udp(display, controller, 4352, 4352, b"%2LKUP=" + display.mac.encode() + b"\r")
    frames += udp(display, controller, 4352, 4352, b"%2POWR=1\r", t=T0 + 1)
    devices = classified_by_ip(write_pcap(tmp_path / "lkup.pcap", frames))
    assert devices[display.ip].category == "iot" and devices[display.ip].attributes["pjlink.mac"] == {display.mac}
    assert devices[controller.ip].category is None


def test_status_notifications_without_a_mac_say_nothing(tmp_path: Path) -> None:
    controller, display = host(64), host(65)
    frames = udp(display, controller, 4352, 4352, b"%2ERST=000000\r%2POWR=0\r")
    devices = classified_by_ip(write_pcap(tmp_path / "status.pcap", frames))
    assert "pjlink.mac" not in devices[display.ip].attributes
