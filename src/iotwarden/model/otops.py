"""A protocol-neutral description of what an OT request does, set by the dissectors of industrial protocols.

The detectors (detect/ot.py, detect/ot_write.py) and the risk.ot.* checks name the older protocols one by
one (Modbus, S7comm, DNP3, CIP, MMS, BACnet). A dissector that declares ``ot_operations = True``
(dissect/base.py) instead marks each request that changes a controller with three fields, and every OT
detector and check then reads it without knowing the protocol:

* ``ot_operation``: one of :data:`CLASSES`: ``write`` (process values, set points, commands: ATT&CK for
  ICS T0836/T0855), ``program`` (logic download, upload into the device, deletion: T0843), ``stop``
  (operating mode to STOP/RUN or a program state change: T0858/T0881), ``restart`` (device restart or
  reset: T0816), ``firmware`` (firmware transfer or activation: T0839), ``config`` (the device's own
  settings changed: its network identity or routing, i.e. address, station name, routes, or how it reports
  its process, i.e. an IEC 104 measured value's thresholds and limits: T0836).
* ``ot_operation_name``: the protocol's own name of the request (``c_sc_na_1``, ``write_control``).
* ``ot_device_sent`` (optional, default False): True when the controller itself sent the observation
  (an answer seen without its request); otherwise the request's receiver is the controller.
* ``ot_requester_ip`` / ``ot_requester_mac`` (optional, with ``ot_device_sent``): who asked, when the answer
  does not say it (an answer to the broadcast address, its request paired by the dissector).
"""

from __future__ import annotations

from collections.abc import Mapping

OPERATION, NAME, DEVICE_SENT = "ot_operation", "ot_operation_name", "ot_device_sent"
REQUESTER_IP, REQUESTER_MAC = "ot_requester_ip", "ot_requester_mac"
CLASSES = frozenset({"write", "program", "stop", "restart", "firmware", "config"})
# the protocols whose dissector declares ``ot_operations`` (dissect.ot_operation_protocols(), which
# tests/model/test_otops.py pins equal): named here so the detectors observe them without importing every dissector
MARKING_PROTOCOLS = frozenset({"ads", "fins", "hartip", "iec104", "knxip", "melsec", "melsoft", "opcua",
                               "pn_dcp", "pnio_cm"})
# the risk.ot.* checks have four classes (risk/checks/ot_operations.py): restart is a stop, config a write
RISK_CLASS = {"write": "write", "config": "write", "program": "program", "stop": "stop", "restart": "stop",
              "firmware": "firmware"}


def operation_of(fields: Mapping[str, object]) -> tuple[str, str] | None:
    """(class, name) of a request marked by its dissector, or None when it is unmarked (reads, answers)."""
    cls = fields.get(OPERATION)
    if not isinstance(cls, str) or cls not in CLASSES:
        return None
    name = fields.get(NAME)
    return cls, name if isinstance(name, str) and name else cls


def device_sent(fields: Mapping[str, object]) -> bool:
    """True when the controller sent the marked observation (module docstring)."""
    return fields.get(DEVICE_SENT) is True


def requester(fields: Mapping[str, object]) -> tuple[str | None, str | None]:
    """(ip, mac) of who asked, when the dissector paired a controller's answer with its request."""
    ip, mac = fields.get(REQUESTER_IP), fields.get(REQUESTER_MAC)
    return (ip if isinstance(ip, str) else None), (mac if isinstance(mac, str) else None)
