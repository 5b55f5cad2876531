"""Capture filter expressions compiled to classic BPF: libpcap's ``pcap_compile`` through ctypes, or
``tcpdump -ddd`` without libpcap, and the limits an expression is held to before either sees it.
``sources/live`` picks the compiler for an interface's link type and attaches the program."""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
import threading
from typing import Any

from iotwarden.errors import CaptureError, ConfigError

BPF_RET_K = 0x06  # "ret #k": accept k bytes of the packet

# Characters of a filter expression. libpcap's optimiser grows about cubically with the expression
# ("port 1 or port 2 or ..." of 2 KiB compiles in under a second, of 4 KiB in 6 s, 16 KiB for minutes),
# and the kernel attaches at most BPF_MAXINSNS (4096) instructions anyway; name networks, not hosts.
MAX_FILTER_CHARS = 2048

_compile_lock = threading.Lock()  # pcap_compile is not thread-safe before libpcap 1.8


class _BpfInsn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


Program = list[tuple[int, int, int, int]]


def load_libpcap() -> Any | None:
    """libpcap's compiler functions, typed for ctypes; None when libpcap is not installed or will not load."""
    name = ctypes.util.find_library("pcap")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_compile.restype = ctypes.c_int
    lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram), ctypes.c_char_p, ctypes.c_int,
                                 ctypes.c_uint32]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    return lib


def compile_with_libpcap(lib: Any, expression: str, dlt: int, snaplen: int) -> Program:
    """``expression`` as classic BPF for link type ``dlt`` (optimised, as tcpdump compiles it)."""
    with _compile_lock:
        handle = lib.pcap_open_dead(dlt, snaplen)
        if not handle:
            raise CaptureError("libpcap could not open a compiler handle")
        try:
            prog = _BpfProgram()
            if lib.pcap_compile(handle, ctypes.byref(prog), expression.encode(), 1, 0xFFFFFFFF) != 0:
                reason = (lib.pcap_geterr(handle) or b"").decode("utf-8", "replace")
                raise CaptureError(f"invalid capture filter {expression!r}: {reason}")
            try:
                return [(prog.bf_insns[i].code, prog.bf_insns[i].jt, prog.bf_insns[i].jf, prog.bf_insns[i].k)
                        for i in range(prog.bf_len)]
            finally:
                lib.pcap_freecode(ctypes.byref(prog))
        finally:
            lib.pcap_close(handle)


def compile_with_tcpdump(expression: str, interface: str, snaplen: int) -> Program:
    """``expression`` as classic BPF for ``interface``, compiled by ``tcpdump -ddd``."""
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        raise CaptureError("a capture filter needs libpcap (Debian: libpcap0.8) or tcpdump; neither is installed")
    try:
        # "--": an expression starting with "-" must not be read as an option (tcpdump uses getopt)
        done = subprocess.run([tcpdump, "-i", interface, "-s", str(snaplen), "-ddd", "--", expression],  # noqa: S603
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CaptureError(f"tcpdump could not compile the capture filter: {exc}") from exc
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise CaptureError(f"invalid capture filter {expression!r}: {reason}")
    try:
        rows = [tuple(int(x) for x in line.split()) for line in done.stdout.split("\n")[1:] if line.strip()]
        program = [(r[0], r[1], r[2], r[3]) for r in rows]
        if len(program) != int(done.stdout.split("\n", 1)[0]):
            raise ValueError("instruction count mismatch")
    except (ValueError, IndexError) as exc:
        raise CaptureError(f"unexpected tcpdump -ddd output for {expression!r}") from exc
    return program


def check_expression(expression: str) -> None:
    """Refuse, before libpcap sees it, a filter expression longer than MAX_FILTER_CHARS or holding a NUL."""
    if len(expression) > MAX_FILTER_CHARS:
        raise ConfigError(f"capture filter of {len(expression):,} characters: at most {MAX_FILTER_CHARS:,} "
                          "(libpcap's optimiser would take minutes; filter on networks, not host by host)")
    if "\0" in expression:
        raise ConfigError("capture filter: a NUL character cannot be part of an expression")
