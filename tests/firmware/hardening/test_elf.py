"""ELF mitigations (pyelftools): a binary built here without NX, RELRO, PIE and canaries is flagged;
Debian's hardened builds are not, except the static non-PIE busybox."""

from __future__ import annotations

import io
import shutil
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iotwarden.errors import FirmwareError
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


# gABI ELF64 field offsets and widths: the file header's table fields, a program header's p_offset and p_filesz,
# a section header's sh_name, sh_type, sh_offset, sh_size, sh_link and sh_entsize
ELF64_HEADER_FIELDS = {"e_phoff": (0x20, 8), "e_shoff": (0x28, 8), "e_phentsize": (0x36, 2), "e_phnum": (0x38, 2),
                       "e_shentsize": (0x3A, 2), "e_shnum": (0x3C, 2), "e_shstrndx": (0x3E, 2)}
ELF64_PHDR_FIELDS = {"p_offset": (8, 8), "p_filesz": (32, 8)}
ELF64_SHDR_FIELDS = {"sh_name": (0, 4), "sh_type": (4, 4), "sh_offset": (24, 8), "sh_size": (32, 8),
                     "sh_link": (40, 4), "sh_entsize": (56, 8)}
SHT_DYNAMIC = 6
HOSTILE = (0, 1, 2**15, 2**16 - 1, 2**31 - 1, 2**31, 2**32 - 1, 2**48, 2**63 - 1, 2**63, 2**64 - 256, 2**64 - 1)


def _field(elf: bytes, table: str, entry: int, name: str) -> tuple[int, int]:
    """Where field ``name`` of entry ``entry`` of ``table`` ("header", "phdr", "shdr") lies: offset, width."""
    if table == "header":
        return ELF64_HEADER_FIELDS[name]
    phoff, shoff = struct.unpack_from("<QQ", elf, ELF64_PHOFF)
    phent, phnum, shent, shnum = struct.unpack_from("<HHHH", elf, 0x36)
    base, size, count, fields = (phoff, phent, phnum, ELF64_PHDR_FIELDS) if table == "phdr" else (
        shoff, shent, shnum, ELF64_SHDR_FIELDS)
    at, width = fields[name]
    return base + (entry % count) * size + at, width


def _dynamic_index(elf: bytes) -> int:
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shent, shnum = struct.unpack_from("<HH", elf, 0x3A)
    return next(i for i in range(shnum) if struct.unpack_from("<I", elf, shoff + i * shent + 4)[0] == SHT_DYNAMIC)


DNSMASQ = shared("firmware", "component_binaries", "dnsmasq").read_bytes()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("header"), st.just(0), st.sampled_from(sorted(ELF64_HEADER_FIELDS))),
            st.tuples(st.just("phdr"), st.integers(0, 64), st.sampled_from(sorted(ELF64_PHDR_FIELDS))),
            st.tuples(st.just("shdr"), st.integers(0, 64), st.sampled_from(sorted(ELF64_SHDR_FIELDS))),
        ),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.integers(0, 2**64 - 1)), min_size=3, max_size=3),
    st.booleans(),
)
@example([("header", 0, "e_phoff")], [2**63, 0, 0], False)  # past ssize_t: BytesIO.seek raised OverflowError
@example([("header", 0, "e_shoff")], [2**64 - 1, 0, 0], True)
@example([("shdr", _dynamic_index(DNSMASQ), "sh_link")], [0, 0, 0], False)  # .dynamic's strings: no string table
@example([("shdr", _dynamic_index(DNSMASQ), "sh_link")], [0, 0, 0], True)  # (pyelftools asserted, scan let it out)
def test_hostile_header_fields_give_a_verdict_or_a_firmware_error(
    fields: list[tuple[str, int, str]], values: list[int], on_disk: bool
) -> None:
    """Any value in the file header's table fields or in a program or section header's offset, size, type, link
    and name, read from a file or from memory: inspect returns a verdict or raises FirmwareError naming the file,
    never pyelftools' or the stream's exception; scan skips what inspect refuses."""
    from iotwarden.firmware.extract.driver import UnpackedFile

    data = bytearray(DNSMASQ)
    for (table, entry, name), value in zip(fields, values, strict=False):
        at, width = _field(DNSMASQ, table, entry, name)
        data[at : at + width] = (value % 2 ** (8 * width)).to_bytes(width, "little")
    with tempfile.TemporaryDirectory() as tmp:
        host = Path(tmp) / "dnsmasq"
        host.write_bytes(data)
        with host.open("rb") if on_disk else io.BytesIO(bytes(data)) as stream:
            try:
                verdict = inspect("/bin/dnsmasq", stream)
            except FirmwareError as exc:
                assert str(exc).startswith("/bin/dnsmasq: malformed ELF (")
            else:
                assert verdict.path == "/bin/dnsmasq"
        scanned = scan(Context("firmware:x", [UnpackedFile("/bin/x", "/bin/x", host, len(data), 0o755)]))
    assert len(scanned) <= 1


def _symbol_tables(tables: int, symbols: int, canary_in: int | None = None) -> bytes:
    """An ELF64 whose section 1 is a string table and sections 2.. are ``tables`` symbol tables, all over one table
    of ``symbols`` unnamed symbols (or, for table ``canary_in``, a table whose last symbol is __stack_chk_fail)."""
    ehsize, shentsize = 64, 64
    strtab = b"\x00__stack_chk_fail\x00"
    plain = b"\x00" * 24 * symbols
    marked = b"\x00" * 24 * (symbols - 1) + struct.pack("<IBBHQQ", 1, 0x12, 0, 0, 0, 0)
    strtab_off = ehsize
    plain_off = (strtab_off + len(strtab) + 7) // 8 * 8
    marked_off = plain_off + len(plain)
    shoff = marked_off + len(marked)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\x00" * 8
    header += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, ehsize, 56, 0, shentsize, tables + 2, 0)
    body = header + strtab + b"\x00" * (plain_off - strtab_off - len(strtab)) + plain + marked
    sections = [b"\x00" * shentsize, struct.pack("<IIQQQQIIQQ", 0, 3, 0, 0, strtab_off, len(strtab), 0, 0, 1, 0)]
    sections += [struct.pack("<IIQQQQIIQQ", 0, 2, 0, 0, marked_off if i == canary_in else plain_off, len(plain), 1,
                             0, 8, 24) for i in range(tables)]
    return body + b"".join(sections)


def test_the_symbols_read_are_bounded_per_file_not_per_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile ELF of many symbol tables over one large table (65,535 section headers of 64 bytes over 200,000
    symbols: a 9 MB file) cost MAX_SYMBOLS a table, ~6 s each here, days in all. Now MAX_SYMBOLS bounds a file's
    symbols read, whatever its tables; a canary within the budget is still found, in any table."""
    from elftools.elf.sections import SymbolTableSection

    from iotwarden.firmware.hardening import elf

    monkeypatch.setattr(elf, "MAX_SYMBOLS", 500)
    read: list[int] = []
    real = SymbolTableSection.get_symbol

    def counted(self: SymbolTableSection, n: int) -> object:
        read.append(n)
        return real(self, n)

    monkeypatch.setattr(SymbolTableSection, "get_symbol", counted)
    assert inspect("x", io.BytesIO(_symbol_tables(40, 400))).canary is False
    assert len(read) <= 500  # before: 40 tables x 400 symbols, 16,000
    read.clear()
    assert inspect("x", io.BytesIO(_symbol_tables(3, 200, canary_in=1))).canary is True
    assert len(read) == 400
