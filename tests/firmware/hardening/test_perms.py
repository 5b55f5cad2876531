"""World-writable paths, sticky folders excepted."""

from __future__ import annotations

from iotwarden.model.finding import Finding
from tests.firmware.hardening.conftest import paths_of


def test_world_writable_but_not_sticky(weak: dict[str, Finding]) -> None:
    assert paths_of(weak["firmware.hardening.world_writable"]) == ["/etc/config.ini", "/var/www"]
