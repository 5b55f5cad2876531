"""Default credentials: a Mirai password hashed into /etc/shadow is found through the shipped base."""

from __future__ import annotations

from iotwarden.model.finding import Finding


def test_default_credential_from_the_shipped_base_is_cracked(weak: dict[str, Finding]) -> None:
    found = weak["firmware.hardening.default_credentials"]
    assert found.evidence["accounts"] == [{"user": "root", "password": "x*****"}]  # admin's is not a default
