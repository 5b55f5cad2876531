"""Process writes to an OT device from a host that never wrote to it while learning.

Ids: ``detect.ot.modbus_write_new_host`` (Modbus write functions 5, 6, 15, 16, 22, 23, MAP §6),
``detect.ot.dnp3_write_new_host`` (DNP3 write, select, operate, direct operate: functions 2-6,
IEEE 1815 §4.4), ``detect.ot.s7_write_new_host`` (S7 write_var jobs) — ATT&CK for ICS T0836 Modify
Parameter and T0855 Unauthorized Command Message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import Detector, Options, number, subject_key, text
from iotwarden.detect.baseline import LEARN_S, Novelty
from iotwarden.hooks import Context
from iotwarden.model import Observation

MODBUS, DNP3, S7 = "detect.ot.modbus_write_new_host", "detect.ot.dnp3_write_new_host", "detect.ot.s7_write_new_host"
DNP3_WRITES = frozenset({2, 3, 4, 5, 6})  # write, select, operate, direct operate (+ no ack)


@dataclass(frozen=True)
class OtWriteOptions(Options):
    learn_s: float = LEARN_S  # per-device learning of the hosts that write to it (0: every writer is new)


class OtWriteDetector(Detector):
    observes = frozenset({"modbus", "dnp3", "s7comm"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.ot_write"
    ids: ClassVar[tuple[str, ...]] = (MODBUS, DNP3, S7)
    defaults: ClassVar[Options] = OtWriteOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self.writers = Novelty(learn_s=self.options.learn_s)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        f = obs.fields
        if obs.proto == "modbus" and obs.kind == "request" and f.get("is_write"):
            detector_id, what = MODBUS, f"Modbus {f.get('function')}"
        elif obs.proto == "dnp3" and obs.kind == "request" and number(f.get("function_code")) in DNP3_WRITES:
            detector_id, what = DNP3, f"DNP3 {f.get('function')}"
        elif obs.proto == "s7comm" and obs.kind == "job" and text(f.get("function")) == "write_var":
            detector_id, what = S7, "S7 write_var"
        else:
            return
        if not obs.dst_ip or not self.writers.check(obs.dst_ip, obs.src_ip, obs.ts):
            return
        device = subject_key(ctx, obs.dst_mac, obs.dst_ip)
        self.raise_alert(ctx, detector_id, title=f"{what} to {obs.dst_ip} from a new host {obs.src_ip}",
                         severity="high", subject=device, ts=obs.ts, key=obs.src_ip or "", mitre=("T0836", "T0855"),
                         src_ip=obs.src_ip, dst_ip=obs.dst_ip, evidence={"operation": what}, observations=[obs])
