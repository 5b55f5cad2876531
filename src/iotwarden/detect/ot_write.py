"""Process writes to an OT device from a host that never wrote to it while learning.

Ids: ``detect.ot.modbus_write_new_host`` (Modbus write functions 5, 6, 15, 16, 22, 23, MAP §6),
``detect.ot.dnp3_write_new_host`` (DNP3 write, select, operate, direct operate: functions 2-6,
IEEE 1815 §4.4), ``detect.ot.s7_write_new_host`` (S7 write_var jobs, and the programmer's "modify
variable" and "force" test functions, userdata group 1 subfunctions 0x08 and 0x09 as Wireshark's
packet-s7comm.c names them), ``detect.ot.mms_write_new_host`` (MMS Write, ISO 9506-2
ConfirmedServiceRequest [5]: IEC 61850 settings and controls, ICCP transfer sets) — ATT&CK for ICS
T0836 Modify Parameter and T0855 Unauthorized Command Message. The device's answer proves the write
as well as the request does (a Modbus response echoes the write function, an S7 ack_data names
write_var, an MMS Write response is tagged write): a capture that lost the request direction (a gap,
an asymmetric SPAN port) still shows who wrote. ``detect.ot.write_new_host`` is the same for every
protocol whose dissector marks its writes with model/otops.py's neutral fields (class ``write``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import DURATION, Detector, Options, Range, number, site_host, subject_key, text
from iotwarden.detect.baseline import LEARN_S, Novelty
from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.otops import MARKING_PROTOCOLS, device_sent, operation_of, requester

MODBUS, DNP3, S7 = "detect.ot.modbus_write_new_host", "detect.ot.dnp3_write_new_host", "detect.ot.s7_write_new_host"
MMS = "detect.ot.mms_write_new_host"
GENERIC = "detect.ot.write_new_host"
DNP3_WRITES = frozenset({2, 3, 4, 5, 6})  # write, select, operate, direct operate (+ no ack)
S7_TIS_WRITES = {0x08: "modify variable", 0x09: "force"}  # programmer commands (TIS) that set values


def _write(obs: Observation) -> tuple[str, str, bool] | None:
    """(detector id, what, whether ``obs`` is the device's answer) of a write, or None."""
    f = obs.fields
    marked = operation_of(f)
    if marked is not None:
        return (GENERIC, f"{obs.proto.upper()} {marked[1]}", device_sent(f)) if marked[0] == "write" else None
    if obs.proto == "modbus" and obs.kind in ("request", "response") and f.get("is_write") is True:
        return MODBUS, f"Modbus {f.get('function')}", obs.kind == "response"
    if obs.proto == "dnp3" and obs.kind == "request" and number(f.get("function_code")) in DNP3_WRITES:
        return DNP3, f"DNP3 {f.get('function')}", False
    if obs.proto == "s7comm" and obs.kind in ("job", "ack_data") and text(f.get("function")) == "write_var":
        return S7, "S7 write_var", obs.kind == "ack_data"
    if obs.proto == "mms" and obs.kind in ("request", "response") and text(f.get("service")) == "write":
        return MMS, "MMS write", obs.kind == "response"
    if obs.proto == "s7comm" and obs.kind == "userdata" and f.get("function_group") == "programmer_commands":
        what, ud_type = S7_TIS_WRITES.get(number(f.get("subfunction")) or 0), f.get("ud_type")
        if what is not None and ud_type in ("request", "response"):
            return S7, f"S7 {what}", ud_type == "response"
    return None


def _evidence(obs: Observation, what: str, answer: bool) -> dict[str, object]:
    evidence: dict[str, object] = {"operation": what, "seen_in": "answer" if answer else "request"}
    if obs.proto == "mms" and isinstance(obs.fields.get("variables"), list):  # the MMS names written
        evidence["variables"] = obs.fields["variables"]
    return evidence


@dataclass(frozen=True)
class OtWriteOptions(Options):
    learn_s: float = LEARN_S  # per-device learning of the hosts that write to it (0: every writer is new)
    bounds: ClassVar[dict[str, Range]] = {"learn_s": DURATION}


class OtWriteDetector(Detector):
    # the manager calls on_observation only for these (hooks.py)
    observes = frozenset({"modbus", "dnp3", "s7comm", "mms"}) | MARKING_PROTOCOLS
    name: ClassVar[str] = "detect.ot_write"
    ids: ClassVar[tuple[str, ...]] = (MODBUS, DNP3, S7, MMS, GENERIC)
    defaults: ClassVar[Options] = OtWriteOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self.writers = Novelty(learn_s=self.options.learn_s)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        found = _write(obs)
        if found is None:
            return
        detector_id, what, answer = found
        device, device_mac, writer = (obs.src_ip, obs.src_mac, requester(obs.fields)[0] or obs.dst_ip) if answer \
            else (obs.dst_ip, obs.dst_mac, obs.src_ip)
        if not device or not self.writers.check(site_host(device, obs.domain), writer, obs.ts):
            return
        self.raise_alert(ctx, detector_id, title=f"{what} to {device} from a new host {writer}",
                         severity="high", subject=subject_key(ctx, device_mac, device, obs.domain, obs.ts), ts=obs.ts,
                         key=writer or "",
                         mitre=("T0836", "T0855"), src_ip=writer, dst_ip=device,
                         evidence=_evidence(obs, what, answer),
                         observations=[obs])
