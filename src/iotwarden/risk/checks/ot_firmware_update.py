"""risk.ot.firmware_update: a device receiving a firmware update (CIP Non-Volatile Storage object 0xA1,
the ODVA firmware-update object) from a host that is not an engineering station (one typed so on identity
evidence or listed: see ot_operations)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.checks.ot_operations import OtOperationCheck


class OtFirmwareUpdate(OtOperationCheck):
    """The device being flashed; critical: firmware replaces everything the device trusts."""

    id: ClassVar[str] = "risk.ot.firmware_update"
    title: ClassVar[str] = "Firmware update from a host that is not an engineering station"
    severity: ClassVar[Severity] = "critical"
    remediation: ClassVar[str] = ("Verify the firmware now running against the vendor's signed release; accept "
                                  "updates only from the engineering station during a change window, and enable "
                                  "signed-firmware enforcement where the device supports it.")
    references: ClassVar[tuple[str, ...]] = (ref.IEC_62443_SR_3_4, ref.NIST_SOFTWARE_UPDATE,
                                             ref.ETSI_SOFTWARE_INTEGRITY, ref.CWE_INTEGRITY)
    operation_class: ClassVar[str] = "firmware"
