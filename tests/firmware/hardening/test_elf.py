"""ELF mitigations (pyelftools): a binary built here without NX, RELRO, PIE and canaries is flagged;
Debian's hardened builds are not, except the static non-PIE busybox."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from iotwarden.firmware.analyze import analyze_image
from iotwarden.firmware.hardening.base import Context
from iotwarden.firmware.hardening.elf import inspect, scan
from iotwarden.model.finding import Finding
from tests.conftest import shared
from tests.firmware.hardening.conftest import paths_of


def test_elf_mitigations(weak: dict[str, Finding]) -> None:
    if not shutil.which("gcc"):
        pytest.skip("gcc not installed: no weak binary was built")
    assert paths_of(weak["firmware.hardening.elf_no_nx"]) == ["/bin/weakd"]
    assert paths_of(weak["firmware.hardening.elf_no_relro"]) == ["/bin/weakd"]
    assert paths_of(weak["firmware.hardening.elf_no_canary"]) == ["/bin/weakd"]
    # Debian's busybox-static is linked as a static non-PIE executable
    assert paths_of(weak["firmware.hardening.elf_no_pie"]) == ["/bin/busybox", "/bin/weakd"]


def test_clean_image_of_real_binaries(squashfs_image: Path) -> None:
    ids = {f.id for f in analyze_image(squashfs_image).findings}
    assert ids == {"firmware.hardening.elf_no_pie"}  # busybox-static only; the rest is hardened



def test_real_debian_binaries() -> None:
    with shared("firmware", "component_binaries", "dnsmasq").open("rb") as f:
        m = inspect("dnsmasq", f)
    assert (m.nx, m.relro, m.pie, m.canary) == (True, "full", True, True)


def test_malformed_elf_is_skipped(tmp_path: Path) -> None:
    from iotwarden.firmware.extract.driver import UnpackedFile

    bad = tmp_path / "bad"
    bad.write_bytes(b"\x7fELF" + b"\xff" * 200)
    assert scan(Context("firmware:x", [UnpackedFile("/bad", "/bad", bad, 204, 0o755)])) == []
