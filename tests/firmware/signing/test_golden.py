"""The golden-hash registry: a reported hash matches a known-good build, mismatches a registered
version (modified image) or is unknown."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from iotwarden.errors import FirmwareError
from iotwarden.firmware.signing.golden import MAX_HASHES_PER_VERSION, GoldenRegistry
from iotwarden.store import Store


@pytest.fixture
def registry(tmp_path: Path) -> GoldenRegistry:
    return GoldenRegistry(Store(f"sqlite:///{tmp_path / 'g.db'}"))


def test_reported_hashes_are_checked(registry: GoldenRegistry, squashfs_image: Path) -> None:
    good = hashlib.sha256(squashfs_image.read_bytes()).hexdigest()
    assert registry.add("cam-2000", "2.1.0", good.upper(), source="vendor")
    assert not registry.add("cam-2000", "2.1.0", good)  # already known
    assert registry.check("cam-2000", "2.1.0", good).status == "match"
    bad = registry.check("cam-2000", "2.1.0", "0" * 64)
    assert bad.status == "mismatch" and bad.expected == (good,)
    assert registry.check("cam-2000", "9.9", good).status == "unknown"


def test_malformed_hash_is_refused(registry: GoldenRegistry) -> None:
    with pytest.raises(FirmwareError, match="SHA-256"):
        registry.check("m", "1", "abc")


def test_hashes_per_version_are_bounded(registry: GoldenRegistry) -> None:
    for i in range(MAX_HASHES_PER_VERSION):
        registry.add("m", "1", f"{i:064x}")
    with pytest.raises(FirmwareError, match="already has"):
        registry.add("m", "1", "f" * 64)
