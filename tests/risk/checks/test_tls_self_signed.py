"""risk.tls.self_signed: self-signed leaf certificates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import shared
from tests.risk.harness import analyse, found, key_of, tls_server

ID = "risk.tls.self_signed"


def test_real_selks_certificate_is_self_signed() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "ja4-tls", "input.pcap"))
    (finding,) = found(ctx, ID).values()
    assert finding.evidence["subjects"] == ["CN=SELKS,O=Stamus,L=Paris,ST=IDF,C=FR"]
    assert finding.evidence["ports"] == ["443"]


def test_lab_medical_gateway_serving_a_self_signed_certificate(enterprise_lab: Any) -> None:
    # enterprise.yaml: the monitor and the pump reach med-gw over TLS with self_signed: true
    ctx, _, truth = enterprise_lab
    finding = found(ctx, ID)[key_of(truth, "med-gw")]
    assert finding.evidence["ports"] == ["2575", "443"]
    assert set(found(ctx, ID)) == {key_of(truth, "med-gw")}


def test_ca_issued_certificate_is_fine(tmp_path: Path) -> None:
    ctx, _ = analyse(tls_server(tmp_path / "ca.pcap", self_signed=False))
    assert found(ctx, ID) == {}
    ctx, _ = analyse(tls_server(tmp_path / "self.pcap", self_signed=True))
    assert set(found(ctx, ID)) == {"mac:02:00:00:00:00:14"}
