"""risk.upnp.exposed: SSDP responders, worse for Internet Gateway Devices."""

from __future__ import annotations

from typing import Any

from tests.conftest import shared
from tests.risk.harness import analyse, found, key_of

ID = "risk.upnp.exposed"


def test_lab_devices_advertising_upnp_are_low(small_lab: Any) -> None:
    ctx, _, truth = small_lab
    findings = found(ctx, ID)
    assert set(findings) == {key_of(truth, "cam-01")}
    assert findings[key_of(truth, "cam-01")].severity == "low"


def test_real_router_advertising_an_internet_gateway_device_is_high() -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "s7", "S7Comm", "wrapup.pcapng"))
    (finding,) = found(ctx, ID).values()
    assert finding.severity == "high"
    assert finding.evidence["gateway"] == ["yes"]


def test_no_ssdp_no_finding() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "telnet", "telnet-01", "telnet.pcap"))
    assert found(ctx, ID) == {}
