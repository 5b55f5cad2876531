"""risk.tls.weak_cipher: NULL/EXPORT/RC4/3DES suites negotiated."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import shared
from tests.risk.harness import analyse, found, tls_server

ID = "risk.tls.weak_cipher"
SERVER = "mac:02:00:00:00:00:14"


@pytest.mark.parametrize(("suite", "weakness", "severity"), [
    (0x0005, "rc4", "high"), (0x000A, "3des", "medium"), (0x0003, "export", "high"), (0x0002, "null", "critical"),
])
def test_weak_suites_are_flagged(tmp_path: Path, suite: int, weakness: str, severity: str) -> None:
    ctx, _ = analyse(tls_server(tmp_path / "weak.pcap", suite=suite))
    finding = found(ctx, ID)[SERVER]
    assert finding.evidence["weaknesses"] == [weakness]
    assert finding.severity == severity
    assert finding.evidence["cipher_suites"][0].startswith(f"0x{suite:04X} TLS_")


def test_aead_suite_is_fine(tmp_path: Path) -> None:
    ctx, _ = analyse(tls_server(tmp_path / "gcm.pcap", suite=0xC02F))
    assert found(ctx, ID) == {}


def test_real_handshake_with_modern_suite_is_fine() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "ja4-tls", "input.pcap"))
    assert found(ctx, ID) == {}
