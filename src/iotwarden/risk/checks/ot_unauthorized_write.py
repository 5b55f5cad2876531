"""risk.ot.unauthorized_write: a controller receiving write requests (Modbus writes, S7 write_var, DNP3
write/operate, CIP set/write services, BACnet WriteProperty) from a host that is neither an engineering
station, an HMI nor a SCADA/EMS master (a control centre's server operating breakers and setpoints through
DNP3, IEC 104 or ICCP is doing its job: IEEE 1815-2012 §1.3 names the master station the one that issues
controls; taxonomy ``scada_server``) (see :mod:`iotwarden.risk.checks.ot_operations` for how those are
known: a type resting only on requests any host can send, such as the S7 PG/OP connection resource,
authorises no write)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Option
from iotwarden.risk.checks.ot_operations import OtOperationCheck, ot_options


class OtUnauthorizedWrite(OtOperationCheck):
    """The controller written to; evidence names the unauthorised sources and the operations."""

    id: ClassVar[str] = "risk.ot.unauthorized_write"
    title: ClassVar[str] = "OT writes from a host that is not an engineering station, HMI or SCADA master"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = ("Confirm who sent the writes; allow the OT protocol only from the engineering "
                                  "stations, HMIs and SCADA masters (zone/conduit firewall rules), and enable the "
                                  "controller's write protection or access lists where it has them.")
    references: ClassVar[tuple[str, ...]] = (ref.IEC_62443_SR_2_1, ref.IEC_62443_SR_5_1, ref.NIST_LOGICAL_ACCESS,
                                             ref.ETSI_AUTHENTICATED_CONFIG, ref.CWE_MISSING_AUTH)
    operation_class: ClassVar[str] = "write"
    options: ClassVar[tuple[Option, ...]] = ot_options(("engineering_workstation", "hmi", "scada_server"))
