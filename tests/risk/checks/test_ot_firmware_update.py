"""risk.ot.firmware_update: CIP Non-Volatile Storage (class 0xA1) requests from non-engineering hosts."""

from __future__ import annotations

from tests.conftest import shared
from tests.risk.harness import analyse, found

ID = "risk.ot.firmware_update"


def test_openics_firmware_change_capture() -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "openics", "EIP-FirmwareChange.pcap"))
    (finding,) = found(ctx, ID).values()
    assert finding.severity == "critical"
    assert all(op.startswith("enip.non_volatile_storage.") for op in finding.evidence["operations"])


def test_other_cip_traffic_is_no_firmware_update() -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "openics", "EIP-ChangeTimeAttempt.pcap"))
    assert found(ctx, ID) == {}
