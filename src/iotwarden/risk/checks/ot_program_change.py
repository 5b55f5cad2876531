"""risk.ot.program_change: a controller whose program or configuration was changed (S7 download and
block PI services, UMAS download, DNP3 activate_config/delete_file, BACnet AtomicWriteFile) by a host
that is not an engineering station: a host typed one only by the download it sent (or other requests any host
can send) is none (ot_operations)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.checks.ot_operations import OtOperationCheck


class OtProgramChange(OtOperationCheck):
    """The controller whose logic changed; critical: a program download rewrites the process."""

    id: ClassVar[str] = "risk.ot.program_change"
    title: ClassVar[str] = "Controller program changed from a host that is not an engineering station"
    severity: ClassVar[Severity] = "critical"
    remediation: ClassVar[str] = ("Verify the controller's program against the approved version now; restrict "
                                  "programming to the engineering stations, set the CPU's protection level or "
                                  "key switch to RUN, and investigate the source host.")
    references: ClassVar[tuple[str, ...]] = (ref.IEC_62443_SR_3_4, ref.IEC_62443_SR_2_1, ref.NIST_CONFIGURATION,
                                             ref.ETSI_AUTHENTICATED_CONFIG, ref.CWE_MISSING_AUTH)
    operation_class: ClassVar[str] = "program"
