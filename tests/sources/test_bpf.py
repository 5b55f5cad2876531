"""Capture filters compiled to classic BPF (sources/bpf.py): the limits on an expression, libpcap's compiler and
``tcpdump -ddd``'s output read back. No interface is opened and no packet is sent; the capture that attaches the
program is tests/sources/test_live.py's."""

from __future__ import annotations

import ctypes.util
import subprocess
from typing import Any

import pytest

from iotwarden.errors import CaptureError, ConfigError
from iotwarden.sources import bpf, live

DLT_EN10MB = 1


def _tcpdump_says(monkeypatch: pytest.MonkeyPatch, stdout: str, returncode: int = 0,
                  stderr: str = "") -> list[list[str]]:
    """tcpdump stands in as a program that answers ``stdout``; the command lines it was run with are returned."""
    calls: list[list[str]] = []

    def run(args: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, returncode, stdout, stderr)

    monkeypatch.setattr(bpf.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(bpf.subprocess, "run", run)
    return calls


def test_an_expression_up_to_its_length_limit_is_let_through() -> None:
    bpf.check_expression("port 1 or " * (bpf.MAX_FILTER_CHARS // 10))
    bpf.check_expression("x" * bpf.MAX_FILTER_CHARS)


def test_an_expression_too_long_or_holding_a_nul_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="2,049 characters: at most 2,048"):
        bpf.check_expression("x" * (bpf.MAX_FILTER_CHARS + 1))
    with pytest.raises(ConfigError, match="NUL"):
        bpf.check_expression("udp\0")


def test_tcpdump_ddd_output_is_read_as_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _tcpdump_says(monkeypatch, "3\n40 0 0 12\n21 0 1 2048\n6 0 0 65535\n")
    assert bpf.compile_with_tcpdump("ip", "eth0", 65535) == [(40, 0, 0, 12), (21, 0, 1, 2048), (6, 0, 0, 65535)]
    assert calls == [["/usr/sbin/tcpdump", "-i", "eth0", "-s", "65535", "-ddd", "--", "ip"]]  # "--": never an option


@pytest.mark.parametrize("stdout", ["2\n40 0 0 12\n", "1\n40 0 zero 12\n", "1\n40 0 0\n", "\n"])
def test_tcpdump_output_that_is_not_a_whole_program_is_a_capture_error(monkeypatch: pytest.MonkeyPatch,
                                                                       stdout: str) -> None:
    _tcpdump_says(monkeypatch, stdout)
    with pytest.raises(CaptureError, match="unexpected tcpdump -ddd output for 'ip'"):
        bpf.compile_with_tcpdump("ip", "eth0", 65535)


def test_tcpdump_refusing_the_expression_names_its_last_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _tcpdump_says(monkeypatch, "", returncode=1, stderr="tcpdump: warning\ntcpdump: syntax error\n")
    with pytest.raises(CaptureError, match="invalid capture filter 'udp port fish': tcpdump: syntax error"):
        bpf.compile_with_tcpdump("udp port fish", "eth0", 65535)


def test_without_libpcap_or_tcpdump_a_filter_cannot_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(bpf.shutil, "which", lambda name: None)
    assert bpf.load_libpcap() is None
    with pytest.raises(CaptureError, match=r"needs libpcap .* or tcpdump; neither is installed"):
        bpf.compile_with_tcpdump("udp", "eth0", 65535)


def test_libpcap_compiles_an_expression_for_a_link_type() -> None:
    lib = bpf.load_libpcap()
    if lib is None:
        pytest.skip("needs libpcap (Debian libpcap0.8)")
    program = bpf.compile_with_libpcap(lib, "udp port 53", DLT_EN10MB, 96)
    assert program[-1] == (bpf.BPF_RET_K, 0, 0, 0)  # rejects what it does not accept
    assert (bpf.BPF_RET_K, 0, 0, 96) in program  # accepts cut to the snaplen
    with pytest.raises(CaptureError, match="invalid capture filter 'udp port fish'"):
        bpf.compile_with_libpcap(lib, "udp port fish", DLT_EN10MB, 96)


def test_the_compilers_names_still_import_from_the_live_capture() -> None:
    """sources/live.py held these until they moved here; its callers and tests find them there as before."""
    for name in ("BPF_RET_K", "MAX_FILTER_CHARS", "Program", "check_expression", "compile_with_libpcap",
                 "compile_with_tcpdump"):
        assert getattr(live, name) is getattr(bpf, name), name
        assert name in live.__all__
    assert live._libpcap is bpf.load_libpcap
