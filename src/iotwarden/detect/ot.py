"""Dangerous OT operations, from the OT dissectors' observations (requests only, as the master sent them).

Ids and ATT&CK for ICS techniques:
``detect.ot.s7_cpu_stop`` (S7comm PLC STOP job, T0881 Service Stop / T0858 Change Operating Mode),
``detect.ot.cip_stop`` (CIP Stop service 0x07, CIP Vol 1 §A-4, T0858), ``detect.ot.umas_stop``
(Modbus UMAS STOP_PLC 0x41, T0858), ``detect.ot.program_download`` (S7 request/download block,
CIP Create/Apply_Attributes on vendor-specific Logix classes 0x64-0xC7, UMAS download 0x30-0x32,
T0843 Program Download), ``detect.ot.dnp3_cold_restart`` (DNP3 function 13, IEEE 1815 §4.4.13,
T0816 Device Restart/Shutdown), ``detect.ot.dnp3_warm_restart`` (function 14, T0816),
``detect.ot.firmware_update`` (CIP services on the Non-Volatile Storage object, class 0xA1, used by
ControlFLASH; T0839 Module Firmware). MMS (ISO 9506-2 ConfirmedServiceRequest tags, program invocation
and domain management): ``detect.ot.mms_stop`` (stop [41], kill [44]; T0881 Service Stop, T0875
Change Program State), ``detect.ot.mms_start`` (start [40], resume [42]; T0875),
``detect.ot.mms_reset`` (reset [43]; T0816 Device Restart/Shutdown, T0875), ``detect.ot.mms_delete``
(deleteDomain [36], deleteProgramInvocation [39]; T0809 Data Destruction) and
``detect.ot.program_download`` (initiateDownloadSequence [26], downloadSegment [27],
terminateDownloadSequence [28], requestDomainDownload [32], loadDomainContent [34]; T0843).

Protocols without a branch of their own here (IEC 104, PROFINET DCP, ADS, FINS and the others whose
dissector declares ``ot_operations``) describe their requests with model/otops.py's neutral fields, read
generically: class ``stop`` is ``detect.ot.cpu_stop`` (T0858 Change Operating Mode, T0881), ``restart``
``detect.ot.device_restart`` (T0816), ``program`` ``detect.ot.program_download`` (T0843), ``firmware``
``detect.ot.firmware_update`` (T0839) and ``config`` ``detect.ot.config_change`` (the device's address,
station name, routes or reporting parameters changed: T0836 Modify Parameter, T0855 Unauthorized Command
Message); ``write`` is detect/ot_write.py's.

S7 needs care: in a download the PLC itself sends the "download block" and "download ended" jobs
to the engineering station (it pulls the blocks), and the answer (ack_data) proves an operation as
well as the job does. So an S7 operation's PLC is the endpoint on ISO-TSAP port 102 (RFC 1006),
whichever way the PDU went, and one download is one alert on the PLC. An answer counts only when
its job was not seen (a capture that lost the request direction), so one stop is one sighting.
MMS is read the same way: a confirmed request's receiver is the device, except downloadSegment and
terminateDownloadSequence, which the device (the VMD) requests of the client while it loads a domain;
a response counts only when its request was not seen.

Option ``engineering_stations`` (site configuration, empty by default): the IP or MAC addresses of the hosts
that program and configure the site's controllers (ETS for KNX, TIA Portal, ...); their operations are expected
and raise nothing, every other host's still do. KNXnet/IP programming (dissect/knxip.py: memory and property
writes, address and key writes, A_Restart, M_PropWrite/M_Reset) reaches this detector through the generic classes;
KNX group value writes are the bus's normal operation and are never marked. A KNX operation is about the KNX device
its cEMI frame is addressed to (its individual address, in the title and evidence ``knx_destination``), reported on
the IP device inventory/knx.py finds for it (the table the risk.ot.* checks read too): the KNX IP device holding
that address, the interface or router the frame was tunnelled to, or for a frame routed to the multicast group
224.0.23.12 the router coupling the destination's line; never the multicast group. When none is known, or the
address is announced by several KNX IP devices (two unprogrammed ones at the factory default 15.15.255: the target
is ``ambiguous``, evidence ``knx_announcers``), the alert falls on the sender (key ``knx:<address>``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import Detector, Options, number, subject_key, text
from iotwarden.hooks import Context
from iotwarden.inventory.knx import KnxDevices
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.model.otops import MARKING_PROTOCOLS, device_sent, operation_of, requester

S7_STOP, CIP_STOP, UMAS_STOP = "detect.ot.s7_cpu_stop", "detect.ot.cip_stop", "detect.ot.umas_stop"
DOWNLOAD, FIRMWARE = "detect.ot.program_download", "detect.ot.firmware_update"
COLD, WARM = "detect.ot.dnp3_cold_restart", "detect.ot.dnp3_warm_restart"
S7_DOWNLOAD = frozenset({"request_download", "download_block", "download_ended"})
CIP_VENDOR_CLASSES = range(0x64, 0xC8)  # CIP Vol 1 §5-1: vendor-specific object class ids
CIP_PROGRAM_SERVICES = frozenset({"create", "apply_attributes"})
CIP_NVS_CLASS = 0xA1  # Non-Volatile Storage object (firmware images)
UMAS_DOWNLOAD = frozenset({0x30, 0x31, 0x32})  # initialize / download block / end download
UMAS_STOP_PLC = 0x41
MMS_STOP, MMS_START, MMS_RESET = "detect.ot.mms_stop", "detect.ot.mms_start", "detect.ot.mms_reset"
MMS_DELETE = "detect.ot.mms_delete"
CPU_STOP, RESTART, CONFIG = "detect.ot.cpu_stop", "detect.ot.device_restart", "detect.ot.config_change"
GENERIC: dict[str, tuple[str, str, Severity, tuple[str, ...]]] = {  # otops class -> id, what, severity, ATT&CK
    "stop": (CPU_STOP, "operating mode change", "critical", ("T0858", "T0881")),
    "restart": (RESTART, "device restart", "critical", ("T0816",)),
    "program": (DOWNLOAD, "program change", "critical", ("T0843",)),
    "firmware": (FIRMWARE, "firmware operation", "critical", ("T0839",)),
    "config": (CONFIG, "configuration change", "high", ("T0836", "T0855")),
}
_MMS_DOWNLOAD: tuple[str, Severity, tuple[str, ...]] = (DOWNLOAD, "critical", ("T0843",))
MMS_OPERATIONS: dict[str, tuple[str, Severity, tuple[str, ...]]] = {  # MMS service -> id, severity, ATT&CK
    "stop": (MMS_STOP, "critical", ("T0881", "T0875")),
    "kill": (MMS_STOP, "critical", ("T0881", "T0875")),
    "start": (MMS_START, "high", ("T0875",)),
    "resume": (MMS_START, "high", ("T0875",)),
    "reset": (MMS_RESET, "critical", ("T0816", "T0875")),
    "delete_domain": (MMS_DELETE, "critical", ("T0809",)),
    "delete_program_invocation": (MMS_DELETE, "critical", ("T0809",)),
    "initiate_download_sequence": _MMS_DOWNLOAD,
    "download_segment": _MMS_DOWNLOAD,
    "terminate_download_sequence": _MMS_DOWNLOAD,
    "request_domain_download": _MMS_DOWNLOAD,
    "load_domain_content": _MMS_DOWNLOAD,
}
MMS_VMD_REQUESTS = frozenset({"download_segment", "terminate_download_sequence"})  # the device asks the client
ISO_TSAP_PORT = 102  # RFC 1006: the S7 PLC's side of the connection
MAX_JOBS_SEEN = 50_000  # (device, station, S7 function / MMS service) whose request was seen, for their answers (LRU)
ANSWERS = {"s7comm": "ack_data", "mms": "response"}  # the kind that answers a request, per protocol


@dataclass(frozen=True)
class OtOptions(Options):
    # comma-separated IP or MAC addresses of the site's engineering stations, whose operations are expected
    engineering_stations: str = ""


def stations(option: str) -> frozenset[str]:
    """The addresses an ``engineering_stations`` option lists (MACs in lower case)."""
    return frozenset(part.strip().lower() for part in option.split(",") if part.strip())


def _classify(obs: Observation) -> tuple[str, str, Severity, tuple[str, ...]] | None:
    """(id, what happened, severity, ATT&CK ids) of one OT request, or None when harmless."""
    f = obs.fields
    marked = operation_of(f)
    if marked is not None:
        generic = GENERIC.get(marked[0])
        if generic is None:
            return None
        detector_id, what, severity, mitre = generic
        return detector_id, f"{obs.proto.upper()} {marked[1]} ({what})", severity, mitre
    if obs.proto == "s7comm" and obs.kind in ("job", "ack_data"):
        fn = text(f.get("function"))
        if fn == "plc_stop":
            return S7_STOP, "S7 PLC STOP", "critical", ("T0881", "T0858")
        if fn in S7_DOWNLOAD:
            return DOWNLOAD, f"S7 {fn}", "critical", ("T0843",)
    elif obs.proto == "enip" and obs.kind == "cip_request":
        service, cls = text(f.get("service_name")), number(f.get("class"))
        if cls == CIP_NVS_CLASS:
            return FIRMWARE, "CIP Non-Volatile Storage (firmware) operation", "critical", ("T0839",)
        if service == "stop":
            return CIP_STOP, "CIP Stop", "critical", ("T0858", "T0881")
        if service in CIP_PROGRAM_SERVICES and cls is not None and cls in CIP_VENDOR_CLASSES:
            return DOWNLOAD, f"CIP {service} on class 0x{cls:02X}", "high", ("T0843",)
    elif obs.proto == "modbus" and obs.kind == "request" and number(f.get("function_code")) == 90:
        code = number(f.get("umas_code"))
        if code == UMAS_STOP_PLC:
            return UMAS_STOP, "UMAS STOP_PLC", "critical", ("T0858", "T0881")
        if code in UMAS_DOWNLOAD:
            return DOWNLOAD, "UMAS program download", "critical", ("T0843",)
    elif obs.proto == "mms" and obs.kind in ("request", "response"):
        service = text(f.get("service"))
        found = MMS_OPERATIONS.get(service or "")
        if found is not None:
            return found[0], f"MMS {service}", found[1], found[2]
    elif obs.proto == "dnp3" and obs.kind == "request":
        code = number(f.get("function_code"))
        if code == 13:
            return COLD, "DNP3 cold restart", "critical", ("T0816",)
        if code == 14:
            return WARM, "DNP3 warm restart", "high", ("T0816",)
    return None


def _device_sent(obs: Observation) -> bool:
    """True when the device (PLC, IED) sent ``obs``, else it is the receiver (module docstring)."""
    if device_sent(obs.fields):
        return True
    if obs.proto == "s7comm":
        return obs.src_port == ISO_TSAP_PORT and obs.dst_port != ISO_TSAP_PORT
    if obs.proto == "mms":
        service = obs.fields.get("service")
        return (obs.kind == "response") != (isinstance(service, str) and service in MMS_VMD_REQUESTS)
    return False


class OtOperationDetector(Detector):
    """Every dangerous operation is reported; the pipeline folds repeats (one per PLC and master)."""
    # on_observation only for these (hooks.py)
    observes = frozenset({"s7comm", "mms", "enip", "modbus", "dnp3"}) | MARKING_PROTOCOLS

    name: ClassVar[str] = "detect.ot"
    ids: ClassVar[tuple[str, ...]] = (S7_STOP, CIP_STOP, UMAS_STOP, DOWNLOAD, FIRMWARE, COLD, WARM, MMS_STOP,
                                      MMS_START, MMS_RESET, MMS_DELETE, CPU_STOP, RESTART, CONFIG)
    defaults: ClassVar[Options] = OtOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._jobs: OrderedDict[tuple[str | None, str | None, object], None] = OrderedDict()
        self._stations = stations(self.options.engineering_stations)
        self._knx = KnxDevices()

    def _answer_of_a_seen_job(self, obs: Observation, plc: str | None, operator: str | None) -> bool:
        """Remember an S7 job or MMS request; True for an answer whose request was seen (already reported)."""
        triple = (plc, operator, obs.fields.get("function" if obs.proto == "s7comm" else "service"))
        if obs.kind == ANSWERS[obs.proto]:
            return triple in self._jobs
        self._jobs[triple] = None
        self._jobs.move_to_end(triple)
        if len(self._jobs) > MAX_JOBS_SEEN:
            self._jobs.popitem(last=False)
        return False

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto not in self.observes:
            return
        if obs.proto == "knxip":
            self._knx.see(obs)
        found = _classify(obs)
        if found is None:
            return
        detector_id, what, severity, mitre = found
        plc, plc_mac, operator, operator_mac = obs.dst_ip, obs.dst_mac, obs.src_ip, obs.src_mac
        if _device_sent(obs):
            asker_ip, asker_mac = requester(obs.fields)  # a broadcast answer's requester, paired by its dissector
            plc, plc_mac = obs.src_ip, obs.src_mac
            operator, operator_mac = (asker_ip, asker_mac) if asker_ip or asker_mac else (obs.dst_ip, obs.dst_mac)
        if obs.proto in ANSWERS and self._answer_of_a_seen_job(obs, plc, operator):
            return
        if self._stations and (operator in self._stations or (operator_mac or "").lower() in self._stations):
            return  # a configured engineering station: its operations are expected
        who = operator or operator_mac  # a layer-2 request (PROFINET DCP) has MACs only
        evidence: dict[str, object] = {"operation": what, "proto": obs.proto}
        target, key = plc or plc_mac, who or ""
        if obs.proto == "knxip" and not _device_sent(obs):
            knx = self._knx.target(obs)
            plc, plc_mac, target = knx.ip, knx.mac, knx.describe()
            evidence.update(knx_destination=knx.destination, knx_target=knx.found)
            if knx.announcers:  # several KNX IP devices hold the address: none is blamed (inventory/knx.py)
                evidence["knx_announcers"] = knx.names()
            if plc is None and plc_mac is None:  # no IP device known for it: the sender's alert, per KNX address
                key = f"knx:{knx.destination or 'bus'}"
        domain = obs.domain
        subject = (subject_key(ctx, plc_mac, plc, domain, obs.ts) if plc or plc_mac
                   else subject_key(ctx, operator_mac, operator, domain, obs.ts))
        self.raise_alert(ctx, detector_id, title=f"{what} sent to {target} by {who}", severity=severity,
                         subject=subject, ts=obs.ts, key=key, mitre=mitre, src_ip=operator, dst_ip=plc,
                         evidence=evidence, observations=[obs])
