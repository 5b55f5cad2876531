"""ELF mitigations (pyelftools): a binary built here without NX, RELRO, PIE and canaries is flagged;
Debian's hardened builds are not, except the static non-PIE busybox."""

from __future__ import annotations

import shutil
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

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



ELF64_PHOFF = 0x20  # gABI ELF64 header: e_phoff, e_shoff at 0x20; e_phentsize, e_phnum, e_shentsize, e_shnum at 0x36


def _regions(elf: bytes) -> tuple[tuple[int, int], ...]:
    """Where a damaged ELF breaks a reader: the file header, the program and the section header tables."""
    phoff, shoff = struct.unpack_from("<QQ", elf, ELF64_PHOFF)
    phent, phnum, shent, shnum = struct.unpack_from("<HHHH", elf, 0x36)
    return (0, 64), (phoff, phent * phnum), (shoff, shent * shnum)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 2000), st.binary(min_size=1, max_size=8)), min_size=1, max_size=6
    ),
    st.one_of(st.none(), st.integers(4, 500_000)),
)
@example([(0, ELF64_PHOFF, b"\x00\xff\xff\xff\xff\xff\xff\xff")], None)  # e_phoff 2**64 - 256: no offset to seek
def test_a_damaged_elf_is_skipped_or_read(writes: list[tuple[int, int, bytes]], cut: int | None) -> None:
    """A firmware binary is untrusted: a damaged header or table yields no verdict for that file (scan skips
    it) or a verdict, never an exception that would void the ELF check for the whole image."""
    from iotwarden.firmware.extract.driver import UnpackedFile

    data = bytearray(shared("firmware", "component_binaries", "dnsmasq").read_bytes())
    regions = _regions(bytes(data))
    for region, at, chunk in writes:
        start, length = regions[region]
        pos = start + at % length
        data[pos : pos + len(chunk)] = chunk
    with tempfile.TemporaryDirectory() as tmp:
        host = Path(tmp) / "dnsmasq"
        host.write_bytes(data[:cut])
        out = scan(Context("firmware:x", [UnpackedFile("/bin/x", "/bin/x", host, len(data[:cut]), 0o755)]))
    assert len(out) <= 1
