"""Test helper: the classifier's answer for a device described only by the attributes it stated."""

from __future__ import annotations

from typing import Any

from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device

CLASSIFIER = Classifier()
LOCAL_MAC = "02:00:00:00:00:01"  # locally administered: no registry block to name a maker


def classify(mac: str = LOCAL_MAC, /, **attributes: list[str]) -> tuple[dict[str, Any], set[str]]:
    """Values and the rules that matched, for a device with ``attributes`` (``a__b`` is ``a.b``) and the MAC
    address ``mac`` (a registry block's address adds its maker's evidence, as a module maker's block does)."""
    dev = Device(key=f"mac:{mac}", first_seen=0.0, last_seen=0.0, mac=mac)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(values)
    found = CLASSIFIER.classify(dev)
    return {k: c.value for k, c in found.items()}, {m.rule_id for m in CLASSIFIER.matches(dev)}
