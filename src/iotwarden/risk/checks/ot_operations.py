"""What an OT request does, in four classes (write, program, stop, firmware), and the shared logic of
the risk.ot.* checks: such requests are expected only from engineering stations (and, for writes,
HMIs); from any other host they are findings about the controller that received them.

Engineering stations, simple and documented: a source device is authorised when (1) the classifier
typed it as one of the check's ``authorised_types`` on identity evidence, (2) its key, MAC or IP is listed
in the check's ``engineering_stations`` option (site configuration), or (3) it sent this class of operation
within the first ``learning_window_s`` seconds after the check saw the first one (off by default: learning
trusts whatever happens first, so enable it only on captures known to be clean).

A request must not authorise itself: rules that type a client from what it asked a controller for (a PLC
stop, a download, the S7 PG/OP connection resource) are marked ``behaviour`` in the knowledge base
(kb/schema.py BEHAVIOURS), since an intruder's tool sends the same. A type whose every supporting rule is so
marked authorises nothing; the finding names such sources under ``untrusted_types``. Identity evidence (what
the host says it is: a product's own name, like the S7comm-plus TSAP 'SIMATIC-ROOT-ES' TIA Portal sends)
vouches for the type, as does a type set without rule evidence (an analyst's). Identity evidence can be
imitated too: a site that knows its engineering stations lists them and may set ``authorised_types`` to none.

A KNX operation is about the IP device inventory/knx.py names for its cEMI destination (the table detect/ot.py's
alerts use): a frame routed to the multicast group 224.0.23.12 lands on the KNX IP device holding the address or the
router coupling its line, announced in the frame's broadcast domain; with none known it is counted unresolved, never
a finding on the group.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.hooks import Context
from iotwarden.inventory.addresses import unzoned
from iotwarden.inventory.knx import KnxDevices
from iotwarden.model import Conclusion, Observation
from iotwarden.model.finding import Finding
from iotwarden.model.otops import MARKING_PROTOCOLS, RISK_CLASS, device_sent, operation_of, requester
from iotwarden.risk.base import Check, Hit, Option
from iotwarden.risk.subjects import Endpoint, SubjectIndex, endpoint, endpoint_of

MAX_SOURCES_PER_TARGET = 64  # distinct requesting endpoints remembered per controller

# Modbus: MAP V1.1b3 §6 (write functions 5, 6, 15, 16, 22, 23), §6.8 diagnostics sub-functions
# 1 (restart communications) and 4 (force listen only mode); Schneider UMAS (function 90) names
MODBUS_UMAS = {
    "write_variables": "write", "write_coils_registers": "write", "write_io_object": "write",
    "initialize_download": "program", "download_block": "program", "end_strategy_download": "program",
    "stop_plc": "stop", "start_plc": "stop",
}
MODBUS_DIAGNOSTIC_STOP = frozenset({1, 4})
# S7comm job functions (Wireshark s7comm dissector names)
S7_FUNCTIONS = {
    "write_var": "write", "request_download": "program", "download_block": "program",
    "download_ended": "program", "plc_stop": "stop",
}
S7_PI_PROGRAM = frozenset({"_INSE", "_DELE", "_MODU", "_GARB"})  # PI services that change the program
# jobs the controller sends: told by 'request download', the PLC fetches each block from the PG itself
# (Wireshark s7comm dissector; Snap7 documentation, 'block oriented functions'), so the PG asked for them
S7_CONTROLLER_JOBS = frozenset({"download_block", "download_ended"})
# DNP3 application functions (IEEE 1815-2012 §4.2.2.5 table 4-2)
DNP3_FUNCTIONS = {
    "write": "write", "select": "write", "operate": "write", "direct_operate": "write",
    "direct_operate_nr": "write", "cold_restart": "stop", "warm_restart": "stop", "stop_application": "stop",
    "initialize_application": "stop", "activate_config": "program", "delete_file": "program",
}
# CIP services (ODVA CIP Vol 1 appendix A) and the Non-Volatile Storage object 0xA1 used for firmware
CIP_SERVICES = {
    "set_attribute_single": "write", "set_attributes_all": "write", "set_attribute_list": "write",
    "write_tag": "write", "write_tag_fragmented": "write", "read_modify_write_tag": "write",
    "set_member": "write", "reset": "stop", "stop": "stop",
}
CIP_NON_VOLATILE_STORAGE = 0xA1
CIP_READ_SERVICES = frozenset({"get_attributes_all", "get_attribute_single", "get_attribute_list"})
# BACnet services (ANSI/ASHRAE 135-2020 §15-16)
BACNET_KINDS = {
    "write_property": "write", "reinitialize_device": "stop", "device_communication_control": "stop",
    "atomic_write_file": "program",
}
BACNET_SERVICES = {"write_property_multiple": "write", "write_group": "write"}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Last:
    """The observation :func:`operation` read last, with its answer: every risk.ot.* check (one per
    operation class) asks about each OT observation in turn, and only the first needs to read it."""

    entry: ClassVar[tuple[Observation, tuple[str, str] | None] | None] = None


def operation(obs: Observation) -> tuple[str, str] | None:
    """(class, operation name) of an OT request, or None when it reads or is no request."""
    last = _Last.entry  # one read: another thread may replace it meanwhile
    if last is not None and last[0] is obs:  # held here, so no other object can have its id
        return last[1]
    found = _operation(obs)
    _Last.entry = (obs, found)
    return found


def _operation(obs: Observation) -> tuple[str, str] | None:
    f = obs.fields
    marked = operation_of(f)
    if marked is not None:  # a protocol whose dissector describes its requests (model/otops.py)
        return RISK_CLASS[marked[0]], marked[1]
    if obs.proto == "modbus" and obs.kind == "request":
        umas = _text(f.get("umas_function"))
        if umas in MODBUS_UMAS:
            return MODBUS_UMAS[umas], f"umas.{umas}"
        sub = _number(f.get("sub_function"))
        if _number(f.get("function_code")) == 8 and sub in MODBUS_DIAGNOSTIC_STOP:
            return "stop", f"diagnostics.{sub}"
        if f.get("is_write") is True:
            return "write", _text(f.get("function")) or "write"
    elif obs.proto == "s7comm" and obs.kind == "job":
        name, pi_service = _text(f.get("function")), _text(f.get("pi_service"))
        if name == "plc_control" and pi_service in S7_PI_PROGRAM:
            return "program", f"plc_control.{pi_service}"
        if name in S7_FUNCTIONS:
            return S7_FUNCTIONS[name], name
    elif obs.proto == "dnp3" and obs.kind == "request":
        name = _text(f.get("function"))
        if name in DNP3_FUNCTIONS:
            return DNP3_FUNCTIONS[name], name
    elif obs.proto == "enip" and obs.kind == "cip_request":
        service = _text(f.get("service_name"))
        if _number(f.get("class")) == CIP_NON_VOLATILE_STORAGE and service not in CIP_READ_SERVICES:
            return "firmware", f"non_volatile_storage.{service}"
        if service in CIP_SERVICES:
            return CIP_SERVICES[service], service
    elif obs.proto == "bacnet":
        if obs.kind in BACNET_KINDS:
            return BACNET_KINDS[obs.kind], obs.kind
        service = _text(f.get("service"))
        if obs.kind == "confirmed_request" and service in BACNET_SERVICES:
            return BACNET_SERVICES[service], service
    return None


def behaviour_only(conclusion: Conclusion, types: frozenset[str]) -> list[str] | None:
    """What a type conclusion naming one of ``types`` rests on ('rule: value' items) when every rule that
    supports it is behaviour (kb/schema.py BEHAVIOURS), or None when it is vouched for: some supporting rule
    is identity evidence, or no rule evidence was recorded (a type set by an analyst)."""
    if not conclusion.evidence:
        return None
    support = [e for e in conclusion.evidence if e.get("agrees") and e.get("concludes") in types]
    if any(not e.get("behaviour") for e in support):
        return None
    return sorted({f"{e.get('rule_id')}: {e.get('value')}" for e in support})


def _controller_job(obs: Observation) -> bool:
    """An S7 job the controller sent to the station that asked for a download (S7_CONTROLLER_JOBS)."""
    return obs.proto == "s7comm" and obs.kind == "job" and obs.fields.get("function") in S7_CONTROLLER_JOBS


def ot_options(authorised_types: tuple[str, ...]) -> tuple[Option, ...]:
    """The options every risk.ot.* check takes; ``authorised_types`` is the check's default."""
    return (
        Option("engineering_stations", tuple, (), "Device keys, MACs or IPs allowed to send these requests."),
        Option("authorised_types", tuple, authorised_types,
               "Device types (taxonomy ids) allowed to send these requests."),
        Option("learning_window_s", float, 0.0,
               "Seconds after the first such request during which requesters are learned as authorised."),
    )


class OtOperationCheck(Check):
    """Base of the risk.ot.* checks: ``operation_class`` selects which requests count."""

    operation_class: ClassVar[str] = ""
    protos: ClassVar[frozenset[str]] = frozenset({"modbus", "s7comm", "dnp3", "enip", "bacnet"}) | \
        MARKING_PROTOCOLS
    options: ClassVar[tuple[Option, ...]] = ot_options(("engineering_workstation",))

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[Endpoint, dict[Endpoint, Hit]] = {}  # target -> source -> what it sent
        self.first_ts: float | None = None
        self.learned: set[Endpoint] = set()
        self._knx = KnxDevices()  # which IP device a KNX operation is about (inventory/knx.py)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto == "knxip":
            self._knx.see(obs)
        found = operation(obs)
        if found is None or found[0] != self.operation_class:
            return
        source, target = endpoint_of(obs, "src"), endpoint_of(obs, "dst")
        if device_sent(obs.fields) or _controller_job(obs):  # the controller sent it (model/otops.py)
            asker_ip, asker_mac = requester(obs.fields)
            source, target = (endpoint(asker_mac, asker_ip, obs.domain) if asker_ip or asker_mac else target), source
        elif obs.proto == "knxip":  # the KNX device's IP device, never the routing multicast group
            knx = self._knx.target(obs)
            if knx.ip or knx.mac:  # the frame's receiver, or an announcer of the frame's domain (inventory/knx.py)
                target = endpoint(knx.mac, knx.ip, obs.domain)
        self.first_ts = obs.ts if self.first_ts is None else self.first_ts
        if obs.ts - self.first_ts <= self.config["learning_window_s"] and self.config["learning_window_s"] > 0:
            self.learned.add(source)
        by_source = self.requests.setdefault(target, {})
        hit = by_source.get(source)
        if hit is None:
            if len(by_source) >= MAX_SOURCES_PER_TARGET:
                self.dropped += 1
                return
            hit = by_source[source] = Hit(obs.ts, obs.ts, self.severity)
        hit.add(obs.ts, self.severity, {"operations": f"{obs.proto}.{found[1]}", "ports": str(obs.dst_port or "")})

    def _authorised(self, source: Endpoint, subjects: SubjectIndex) -> tuple[bool, str | None]:
        """Whether ``source`` may send these requests; when it may not though typed one of the authorised
        types, why (the type rests on behaviour alone)."""
        if source in self.learned:
            return True, None
        listed = set(self.config["engineering_stations"])
        key = subjects.resolve(*source)
        if listed & {source[0], source[1], unzoned(source[1]) if source[1] else None, key}:
            return True, None
        device = subjects.devices.get(key) if key else None
        types = frozenset(self.config["authorised_types"])
        if device is None or device.device_type not in types:
            return False, None
        shown = behaviour_only(device.classification["device_type"], types)
        if shown is None:
            return True, None
        return False, (f"{key}: typed {device.device_type} only from requests any host can send "
                       f"({'; '.join(shown)}); list it in engineering_stations if it is one")

    def findings(self, ctx: Context, subjects: SubjectIndex) -> list[Finding]:
        merged: dict[str, tuple[Hit, set[str], set[str]]] = {}
        for target, by_source in self.requests.items():
            key = subjects.resolve(*target)
            if key is None:
                subjects.unresolved += 1
                continue
            for source, hit in by_source.items():
                authorised, why = self._authorised(source, subjects)
                if authorised:
                    continue
                entry = merged.setdefault(key, (Hit(hit.first_seen, hit.last_seen, hit.severity), set(), set()))
                entry[0].merge(hit)
                entry[1].add(subjects.resolve(*source) or str(source[1] or source[0]))
                if why:
                    entry[2].add(why)
        return [self.finding(key, hit, **self._extra(sources, untrusted))
                for key, (hit, sources, untrusted) in sorted(merged.items())]

    @staticmethod
    def _extra(sources: set[str], untrusted: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"unauthorised_sources": sorted(sources)}
        if untrusted:  # typed an engineering station (or HMI) by what it sent alone
            out["untrusted_types"] = sorted(untrusted)
        return out
