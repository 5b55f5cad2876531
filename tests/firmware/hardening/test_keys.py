"""Embedded private keys and certificates."""

from __future__ import annotations

from iotwarden.model.finding import Finding
from tests.firmware.hardening.conftest import paths_of


def test_private_key_and_certificate(weak: dict[str, Finding]) -> None:
    assert paths_of(weak["firmware.hardening.private_key"]) == ["/etc/ssl/device.key"]
    assert weak["firmware.hardening.private_key"].evidence["kinds"] == ["EC PRIVATE KEY"]
    assert paths_of(weak["firmware.hardening.certificate"]) == ["/etc/ssl/device.crt"]
