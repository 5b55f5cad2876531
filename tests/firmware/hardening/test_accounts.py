"""/etc/shadow and /etc/passwd: shipped hashes and empty passwords on the weak image."""

from __future__ import annotations

from iotwarden.model.finding import Finding


def test_shadow_hashes_and_empty_passwords(weak: dict[str, Finding]) -> None:
    shadow = weak["firmware.hardening.shadow_hash"]
    assert shadow.evidence["accounts"] == ["admin", "root"] and shadow.evidence["schemes"] == ["1", "6"]
    empty = weak["firmware.hardening.empty_password"]
    assert empty.evidence["accounts"] == ["guest"] and empty.severity == "critical"
