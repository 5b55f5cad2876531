"""risk.tls.expired: certificates past notAfter at capture time."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import shared
from tests.risk.harness import analyse, found, tls_server

ID = "risk.tls.expired"
SERVER = "mac:02:00:00:00:00:14"


def test_recently_expired_is_medium_and_long_expired_is_high(tmp_path: Path) -> None:
    ctx, _ = analyse(tls_server(tmp_path / "recent.pcap", expired_days=10))
    finding = found(ctx, ID)[SERVER]
    assert (finding.severity, finding.evidence["days_expired"]) == ("medium", ["10"])
    ctx, _ = analyse(tls_server(tmp_path / "old.pcap", expired_days=500))
    assert found(ctx, ID)[SERVER].severity == "high"


def test_threshold_is_an_option(tmp_path: Path) -> None:
    path = tls_server(tmp_path / "recent.pcap", expired_days=10)
    ctx, _ = analyse(path, options={ID: {"long_expired_days": 5}})
    assert found(ctx, ID)[SERVER].severity == "high"


def test_valid_certificates_are_fine(tmp_path: Path) -> None:
    ctx, _ = analyse(tls_server(tmp_path / "valid.pcap"))
    assert found(ctx, ID) == {}
    # judged at capture time: the SELKS certificate was valid when that capture was made
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "ja4-tls", "input.pcap"))
    assert found(ctx, ID) == {}
