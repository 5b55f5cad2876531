"""risk.ot.cpu_stop: a controller told to stop, start or restart (S7 plc_stop, UMAS stop/start, DNP3
cold/warm restart and stop_application, CIP reset/stop, BACnet ReinitializeDevice and
DeviceCommunicationControl, Modbus force-listen-only) by a host that is not an engineering station: a host
typed one only by the stop it sent (or other requests any host can send) is none (ot_operations)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.checks.ot_operations import OtOperationCheck


class OtCpuStop(OtOperationCheck):
    """The controller stopped or restarted; critical: it halts the physical process."""

    id: ClassVar[str] = "risk.ot.cpu_stop"
    title: ClassVar[str] = "Controller stopped or restarted from a host that is not an engineering station"
    severity: ClassVar[Severity] = "critical"
    remediation: ClassVar[str] = ("Check the process state and the controller's diagnostic buffer; allow "
                                  "run-mode changes only from engineering stations and protect the CPU "
                                  "(password protection level, key switch, access lists).")
    references: ClassVar[tuple[str, ...]] = (ref.IEC_62443_SR_2_1, ref.IEC_62443_SR_1_1, ref.NIST_LOGICAL_ACCESS,
                                             ref.CWE_MISSING_AUTH, ref.CWE_EXPOSED_METHOD)
    operation_class: ClassVar[str] = "stop"
