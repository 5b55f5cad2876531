"""Exploit mitigations of ELF executables and libraries, read with pyelftools (System V gABI, LSB):
non-executable stack (PT_GNU_STACK without PF_X), RELRO (PT_GNU_RELRO), position independence
(ET_DYN with PT_INTERP) and stack canaries (a ``__stack_chk_fail`` / ``__stack_chk_guard`` symbol)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from iotwarden.errors import FirmwareError, describe
from iotwarden.firmware.hardening.base import Context, finding
from iotwarden.model.finding import Finding

ELF_NO_NX = "firmware.hardening.elf_no_nx"
ELF_NO_RELRO = "firmware.hardening.elf_no_relro"
ELF_NO_PIE = "firmware.hardening.elf_no_pie"
ELF_NO_CANARY = "firmware.hardening.elf_no_canary"
CHECK_IDS = (ELF_NO_NX, ELF_NO_RELRO, ELF_NO_PIE, ELF_NO_CANARY)
MAX_ELF_FILES = 5000  # ELF files inspected per image
MAX_ELF_BYTES = 128 * 1024 * 1024
# symbols read per file looking for the canary, whatever its tables: a hostile file of 65,535 section headers over one
# table of 200,000 symbols (9 MB) would otherwise be read 65,533 times (~6 s each)
MAX_SYMBOLS = 200_000
PF_X = 0x1  # gABI program header flag: executable
CANARY_SYMBOLS = {"__stack_chk_fail", "__stack_chk_guard", "__stack_chk_fail_local", "__intel_security_cookie"}
# what pyelftools raises on a damaged header or table, as measured by fuzzing every header field: its own errors, an
# offset past the stream (OSError or ValueError from a file's seek, OverflowError from a BytesIO's), a table entry
# of the wrong type (AssertionError: a .dynamic whose sh_link names no string table), a bad index or field
MALFORMED = (ELFError, ConstructError, struct.error, OSError, ValueError, ArithmeticError, AssertionError, LookupError,
             AttributeError, TypeError)


@dataclass(frozen=True, slots=True)
class Mitigations:
    path: str
    executable: bool  # ET_EXEC, or ET_DYN with an interpreter (a PIE program)
    nx: bool
    relro: str  # "full" | "partial" | "none"
    pie: bool | None  # None for shared libraries (always position independent)
    canary: bool | None  # None when there is no symbol table to tell (stripped static binary)


def inspect(path: str, stream: IO[bytes]) -> Mitigations:
    """The mitigations of the ELF file in ``stream`` (a file or a BytesIO, read from its start). The file is
    untrusted: a damaged or hostile one (offsets and sizes past the file or past 2**63, tables of the wrong type)
    raises FirmwareError naming ``path``, never pyelftools' or the stream's own exception."""
    try:
        return _inspect(path, stream)
    except MALFORMED as exc:
        raise FirmwareError(f"{path}: malformed ELF ({describe(exc)})") from exc


def _inspect(path: str, stream: IO[bytes]) -> Mitigations:
    elf = ELFFile(stream)
    segs = {seg["p_type"]: seg for seg in elf.iter_segments()}
    etype = elf["e_type"]
    has_interp = "PT_INTERP" in segs
    stack = segs.get("PT_GNU_STACK")
    nx = stack is not None and not stack["p_flags"] & PF_X
    relro = "none"
    if "PT_GNU_RELRO" in segs:
        relro = "partial"
        dyn = elf.get_section_by_name(".dynamic")
        for tag in dyn.iter_tags() if dyn is not None and hasattr(dyn, "iter_tags") else []:
            if tag.entry.d_tag == "DT_BIND_NOW" or (
                tag.entry.d_tag in ("DT_FLAGS", "DT_FLAGS_1")
                and tag.entry.d_val & (0x8 if tag.entry.d_tag == "DT_FLAGS" else 0x1)
            ):
                relro = "full"  # DF_BIND_NOW (0x8) / DF_1_NOW (0x1)
    pie: bool | None = None if etype == "ET_DYN" and not has_interp else etype == "ET_DYN"
    canary: bool | None = None
    budget = MAX_SYMBOLS  # per file (MAX_SYMBOLS)
    for sec in elf.iter_sections():
        if canary or budget <= 0:
            break
        if isinstance(sec, SymbolTableSection) and sec.num_symbols():
            canary = False
            for sym in sec.iter_symbols():
                budget -= 1
                if sym.name in CANARY_SYMBOLS:
                    canary = True
                    break
                if budget <= 0:
                    break
    return Mitigations(path, etype == "ET_EXEC" or has_interp, nx, relro, pie, canary)


def scan(ctx: Context) -> list[Mitigations]:
    out: list[Mitigations] = []
    for f in ctx.regular():
        if len(out) >= MAX_ELF_FILES:
            break
        if f.size < 64 or f.size > MAX_ELF_BYTES:
            continue
        try:
            with f.host.open("rb") as stream:
                if stream.read(4) != b"\x7fELF":
                    continue
                stream.seek(0)
                out.append(inspect(f.path, stream))
        except (FirmwareError, OSError):
            continue  # a malformed or unreadable ELF is not a mitigation verdict
    return out


def run(ctx: Context) -> list[Finding]:
    elves = scan(ctx)
    refs = ["https://refspecs.linuxfoundation.org/elf/gabi4+/ch5.pheader.html"]
    rules = [
        (
            ELF_NO_NX,
            "Binaries with an executable stack (no NX)",
            "medium",
            [e.path for e in elves if not e.nx],
            "Link with -z noexecstack.",
        ),
        (
            ELF_NO_RELRO,
            "Binaries without RELRO",
            "low",
            [e.path for e in elves if e.relro == "none"],
            "Link with -z relro -z now.",
        ),
        (
            ELF_NO_PIE,
            "Executables not built as PIE (no ASLR for the program)",
            "low",
            [e.path for e in elves if e.executable and e.pie is False],
            "Build with -fPIE -pie.",
        ),
        (
            ELF_NO_CANARY,
            "Binaries without stack canaries",
            "low",
            [e.path for e in elves if e.canary is False],
            "Build with -fstack-protector-strong.",
        ),
    ]
    return [
        finding(cid, title, sev, ctx, paths=paths, inspected=len(elves), remediation=fix, references=refs)  # type: ignore[arg-type]
        for cid, title, sev, paths, fix in rules
        if paths
    ]
