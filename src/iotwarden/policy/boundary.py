"""Boundary monitoring: an analyzer (hook ``on_flow``) that raises ``detect.policy.boundary_violation``
for flows that cross zones against the configured policy (what the policy would drop), with the zone
and rule evidence. Option ``policy``: a policy file (YAML); empty: the analyzer stays idle.
ATT&CK: T1021 (remote services reached across a boundary: lateral movement), ICS T0886 (remote
services into an OT zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from iotwarden import inputfile
from iotwarden.detect.base import Detector, Options, initiator
from iotwarden.errors import ConfigError, PolicyError, describe
from iotwarden.hooks import Context
from iotwarden.model import Flow
from iotwarden.policy.match import Membership, resolve, verdict
from iotwarden.policy.model import MAX_POLICY_BYTES, Policy, load_text

BOUNDARY = "detect.policy.boundary_violation"
RESOLVE_EVERY_DEVICES = 1  # re-resolve zone members when the inventory grew by this many devices


@dataclass(frozen=True)
class BoundaryOptions(Options):
    policy: str = ""  # path of the policy file; "" disables the analyzer
    alert_on_log: bool = False  # also alert on flows a ``log`` rule or default lets through


class BoundaryMonitor(Detector):
    """Checks each closed flow against the policy's zones and rules (the same decision the rendered
    nftables ruleset makes) and alerts on crossings the policy denies."""

    name: ClassVar[str] = "detect.policy"
    ids: ClassVar[tuple[str, ...]] = (BOUNDARY,)
    defaults: ClassVar[Options] = BoundaryOptions()

    def __init__(self, options: dict[str, object] | None = None, *, policy: Policy | None = None) -> None:
        super().__init__(options)
        self.policy = policy
        self._members: Membership | None = None
        self._known = -1

    def load(self, ctx: Context) -> None:
        if self.policy is not None or not self.options.policy:
            return
        path = Path(self.options.policy)
        try:
            self.policy = load_text(inputfile.read_text(path, MAX_POLICY_BYTES))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{self.name}.policy: cannot read {path}: {describe(exc)}") from exc
        except PolicyError as exc:
            raise ConfigError(f"{self.name}.policy: {path}: {exc}") from exc

    def _membership(self, ctx: Context, policy: Policy) -> Membership:
        if self._members is None or len(ctx.devices) - self._known >= RESOLVE_EVERY_DEVICES:
            self._members, self._known = resolve(policy, ctx.devices.values()), len(ctx.devices)
        return self._members

    def flow(self, ctx: Context, flow: Flow) -> None:
        policy = self.policy
        if policy is None:
            return
        v = verdict(policy, self._membership(ctx, policy), flow)
        if not (v.blocked or (self.options.alert_on_log and v.action == "log")) or v.src_zone == v.dst_zone:
            return
        src, dst = v.src_zone or "unzoned", v.dst_zone or "unzoned"
        self.raise_alert(
            ctx, BOUNDARY, title=f"{flow.a_ip} ({src}) reached {flow.b_ip}:{flow.b_port} ({dst}) against policy "
            f"{policy.name}", severity="high" if v.blocked else "medium",
            subject=initiator(ctx, flow), ts=flow.first_seen, key=f"{flow.b_ip}:{flow.b_port}",
            mitre=("T1021",) if v.dst_zone not in (None, "internet") else (), src_ip=flow.a_ip, dst_ip=flow.b_ip,
            evidence={"policy": policy.name, "src_zone": src, "dst_zone": dst, "rule": v.rule, "action": v.action,
                      "proto": flow.ip_proto, "port": flow.b_port}, flows=[flow])
