"""The edge that gathers what policies are judged on: devices and flows from the store, or from
captures run through the engine with the inventory and classifier (plus any extra analyzers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from iotwarden.addons import AddonManager
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import DeviceClassifier
from iotwarden.model import Conclusion, Device, Flow
from iotwarden.policy.names import DnsNames, NameMap
from iotwarden.store import Store
from iotwarden.store.schema import DeviceRow, FlowRow

MAX_FLOWS = 5_000_000  # flows held for one replay (a policy test reads every flow of the inputs)
CLASSIFIED = ("vendor", "device_type", "category")


@dataclass(slots=True)
class Observed:
    """Devices and flows of a site, and the analysis context when they came from captures."""

    devices: list[Device] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    dropped: int = 0  # flows past MAX_FLOWS, not replayed
    ctx: Context | None = None
    # address -> DNS names, for domain rules: from the captures' DNS answers. The store keeps no DNS
    # answers (evidence holds only the names a device asked, flows no server name), so from the store
    # it stays empty and domain destinations match nothing there.
    names: NameMap = field(default_factory=NameMap)


# what zone membership is resolved from: identity and the stored classification (no attributes)
DEVICE_COLUMNS = (DeviceRow.key, DeviceRow.mac, DeviceRow.first_seen, DeviceRow.last_seen, DeviceRow.ips,
                  DeviceRow.hostnames, *(DeviceRow.__table__.c[n] for n in CLASSIFIED),
                  *(DeviceRow.__table__.c[f"{n}_confidence"] for n in CLASSIFIED))


def device_of(row: Any) -> Device:
    """The Device a row of :data:`DEVICE_COLUMNS` (or a whole DeviceRow) describes."""
    dev = Device(key=row.key, first_seen=row.first_seen, last_seen=row.last_seen, mac=row.mac,
                 ips=set(row.ips or []), hostnames=set(row.hostnames or []))
    for name in CLASSIFIED:
        value = getattr(row, name)
        if value:
            dev.classification[name] = Conclusion(value, getattr(row, f"{name}_confidence") or 0.0)
    return dev


def stored_devices(store: Store) -> list[Device]:
    """Every stored device with its stored classification (what zone membership is resolved from)."""
    with store.session() as session:
        return [device_of(row) for row in session.execute(select(*DEVICE_COLUMNS))]


def from_store(store: Store) -> Observed:
    """Every stored device (with its stored classification) and every stored flow."""
    out = Observed(devices=stored_devices(store))
    with store.session() as session:
        for frow in session.scalars(select(FlowRow).order_by(FlowRow.first_seen)):
            if len(out.flows) >= MAX_FLOWS:
                out.dropped += 1
                continue
            out.flows.append(Flow(
                vlan=frow.vlan, ip_proto=frow.ip_proto, a_ip=frow.a_ip, a_port=frow.a_port, b_ip=frow.b_ip,
                b_port=frow.b_port, first_seen=frow.first_seen, last_seen=frow.last_seen, a_mac=frow.a_mac,
                b_mac=frow.b_mac, pkts_ab=frow.pkts_ab, pkts_ba=frow.pkts_ba, bytes_ab=frow.bytes_ab,
                bytes_ba=frow.bytes_ba, payload_ab=frow.payload_ab, payload_ba=frow.payload_ba,
                tcp_flags_ab=frow.tcp_flags_ab, tcp_flags_ba=frow.tcp_flags_ba, app=frow.app,
                end_reason=frow.end_reason, extra=dict(frow.extra or {})))
    return out


class _Collect:
    """Keeps every closed flow for the replay (bounded by MAX_FLOWS)."""

    name = "policy.collect"

    def __init__(self, out: Observed) -> None:
        self.out = out

    def on_flow(self, ctx: Context, flow: Flow) -> None:
        if len(self.out.flows) < MAX_FLOWS:
            self.out.flows.append(flow)
        else:
            self.out.dropped += 1


def from_captures(paths: Sequence[Path], extra_analyzers: Sequence[Any] = ()) -> Observed:
    """Run captures through the engine with the inventory and classifier (and ``extra_analyzers``,
    called after them), keeping devices, flows and the DNS answers' names; nothing is stored."""
    from iotwarden.engine.core import Engine  # noqa: PLC0415 - loads every dissector: only for packets
    from iotwarden.sources.capfile import read_capture  # noqa: PLC0415

    out = Observed()
    ctx = Context()
    addons = AddonManager(ctx, [InventoryBuilder(), DeviceClassifier(), _Collect(out), DnsNames(out.names),
                                   *extra_analyzers])
    addons.load()
    for path in paths:
        engine = Engine(dissectors=None)
        for batch in read_capture(Path(path)):
            res = engine.process(batch)
            addons.observations(res.observations)
            addons.flows(res.flows)
            if len(batch):
                addons.tick(float(batch.ts[-1]))
        res = engine.flush()
        addons.observations(res.observations)
        addons.flows(res.flows)
        ctx.stats.merge(engine.stats)
    addons.done()
    out.devices = list(ctx.devices.values())
    out.flows.sort(key=lambda f: f.first_seen)
    out.ctx = ctx
    return out
