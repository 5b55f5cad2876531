"""The hooks an analyzer may implement, as documented dataclasses (mitmproxy ``hooks.py``).

An analyzer is a small class whose method names are hook names. The pipeline calls
``analyzer.<hook>(ctx, ...)`` for each analyzer that defines it; a crash is caught, counted under
the analyzer's name in ``ctx.stats.analyzer_errors`` and never stops the pipeline. An analyzer may
also declare ``observes`` (:data:`OBSERVES_ATTRIBUTE`): the observation protocols it wants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotwarden.model import CaptureStats, Device


@dataclass
class Context:
    """What analyzers share: the run's devices, statistics and outputs. No module globals."""

    stats: CaptureStats = field(default_factory=CaptureStats)
    devices: dict[str, Device] = field(default_factory=dict)
    findings: list[Any] = field(default_factory=list)
    alerts: list[Any] = field(default_factory=list)
    now: float = 0.0  # timestamp of the newest packet or record seen (capture time, not wall time)
    # address (ip%domain when tagged) -> (key of the device holding it there or "", devices then):
    # detect.base.subject_key's memory
    ip_holders: dict[str, tuple[str, int]] = field(default_factory=dict)
    # address (ip%domain when tagged) -> key of the device whose ARP or DHCP proof is the latest in time (a lease moved
    # is its new holder's): kept by the inventory (inventory/resolution._bind, at most its MAX_ENDPOINTS addresses),
    # read by detect.base.subject_key for a record naming no MAC (a Zeek conn.log)
    owners: dict[str, str] = field(default_factory=dict)
    # address -> its holders in time order, (proved from, device key), the first from -inf: only for an address whose
    # holder changed (a lease moved), so a record is named by the holder at its own time, not at its batch's end
    # (inventory/holders.py via resolution._bind, MAX_OWNER_MOVES each; detect.base._holder reads it)
    owner_moves: dict[str, list[tuple[float, str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Hook:
    name: str
    doc: str


HOOKS: tuple[Hook, ...] = (
    Hook("load", "Called once before any input; read options, build lookup tables."),
    Hook("on_observation", "on_observation(ctx, obs): a dissector or log reader produced an Observation."),
    Hook("on_observations", "on_observations(ctx, observations): one source batch of Observations, in order. "
         "Defined, it replaces on_observation for that analyzer: analyzers before it in the registry have seen "
         "the whole batch, those after it see the batch after it. A crash counts once and loses the batch "
         "for that analyzer only."),
    Hook("on_flow", "on_flow(ctx, flow): a flow closed (timeout, FIN/RST or end of input)."),
    Hook("on_flows", "on_flows(ctx, flows): the flows closed in one source batch; replaces on_flow the same way "
         "on_observations replaces on_observation."),
    Hook("on_tick", "on_tick(ctx, ts): capture time advanced to ts (once per engine batch)."),
    Hook("done", "done(ctx): end of input; every flow has been delivered."),
)
HOOK_NAMES = frozenset(h.name for h in HOOKS)
BATCH_HOOKS = {"on_observation": "on_observations", "on_flow": "on_flows"}  # per-item hook -> its batch form

# An analyzer's optional class attribute: a frozenset of Observation.proto values. on_observation
# (not the batch form) is then called only for observations of those protocols; absent or None, for
# every observation. It saves the call where the analyzer would return at once (most detectors).
OBSERVES_ATTRIBUTE = "observes"
