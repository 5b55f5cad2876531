"""risk.tls.weak_version: SSL 3.0 / TLS 1.0 / TLS 1.1 negotiated."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import shared
from tests.risk.harness import analyse, found, tls_server

ID = "risk.tls.weak_version"
SERVER = "mac:02:00:00:00:00:14"


@pytest.mark.parametrize(("version", "name", "severity"), [
    (0x0300, "SSL 3.0", "high"), (0x0301, "TLS 1.0", "medium"), (0x0302, "TLS 1.1", "medium"),
])
def test_deprecated_versions_are_flagged_on_the_server(tmp_path: Path, version: int, name: str,
                                                       severity: str) -> None:
    ctx, _ = analyse(tls_server(tmp_path / "old.pcap", version=version))
    finding = found(ctx, ID)[SERVER]
    assert (finding.evidence["versions"], finding.severity) == ([name], severity)


def test_tls12_is_fine(tmp_path: Path) -> None:
    ctx, _ = analyse(tls_server(tmp_path / "tls12.pcap", version=0x0303))
    assert found(ctx, ID) == {}


def test_real_tls12_handshake_is_fine() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "ja4-tls", "input.pcap"))
    assert found(ctx, ID) == {}


def test_the_client_that_accepted_it_is_flagged_too(tmp_path: Path) -> None:
    ctx, _ = analyse(tls_server(tmp_path / "old.pcap", version=0x0301))
    findings = found(ctx, ID)
    assert findings[SERVER].evidence["roles"] == ["server"]
    assert findings["mac:02:00:00:00:00:0a"].evidence["roles"] == ["client"]
    assert findings["mac:02:00:00:00:00:0a"].evidence["peers"] == ["10.9.0.20"]
