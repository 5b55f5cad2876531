"""risk.exposure.many_external: a device reaching many distinct internet destinations. IoT devices talk
to a few vendor clouds; hundreds of destinations mean scanning, a botnet or a misused device."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Flow
from iotwarden.model.finding import Finding, Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check, Hit, Option
from iotwarden.risk.subjects import Endpoint, SubjectIndex, flow_endpoint, is_external

MAX_SOURCES = 20_000  # internal endpoints whose destination sets are tracked
MAX_DESTINATIONS_PER_SOURCE = 4_096  # distinct destinations counted per endpoint (past any sane threshold)
MAX_PORTS_PER_SOURCE = 64  # destination ports listed per endpoint


@dataclass(slots=True)
class Reach:
    """What one internal endpoint reached outside: addresses, ports, from its first flow to its last."""

    first: float
    last: float
    destinations: set[str] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)


class ManyExternalDestinations(Check):
    """The initiator of flows to at least ``threshold`` distinct external addresses (medium), or to
    ``high_threshold`` or more (high). Only flows the device opened count (it is the flow's ``a`` side)."""

    id: ClassVar[str] = "risk.exposure.many_external"
    title: ClassVar[str] = "Device reaches many external destinations"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Find out why (scanning malware such as Mirai, peer-to-peer firmware, misuse); "
                                  "restrict the device's egress to the vendor endpoints it needs (MUD, RFC 8520).")
    references: ClassVar[tuple[str, ...]] = (ref.ETSI_MINIMISE_SURFACE, ref.NIST_STATE_AWARENESS,
                                             ref.IEC_62443_SR_5_1, ref.CWE_WRONG_SPHERE, "RFC 8520")
    wants_flows: ClassVar[bool] = True
    options: ClassVar[tuple[Option, ...]] = (
        Option("threshold", int, 50, "Distinct external destination addresses that make a finding."),
        Option("high_threshold", int, 500, "Distinct external destinations that make the finding high."),
    )

    def __init__(self) -> None:
        super().__init__()
        self.reached: dict[Endpoint, Reach] = {}  # one lookup per flow
        # the latest flow's a_mac, a_ip, VLAN and VNIs (its broadcast domain), and its Reach
        self._last: tuple[str | None, str, int, object, Reach] | None = None

    def on_flow(self, ctx: Context, flow: Flow) -> None:
        last = self._last
        vni = flow.extra.get("vni")
        if last is not None and last[0] == flow.a_mac and last[1] == flow.a_ip and last[2] == flow.vlan \
                and last[3] == vni:
            # the same source as the flow before (a scan's probes): known internal, no key to build
            if not is_external(flow.b_ip):
                return
            reach = last[4]
        else:
            if not is_external(flow.b_ip) or is_external(flow.a_ip):
                return
            source = flow_endpoint(flow)  # within the flow's broadcast domain: two VLANs' 10.0.0.5 are two
            found = self.reached.get(source)
            if found is None:
                if len(self.reached) >= MAX_SOURCES:
                    self.dropped += 1
                    return
                found = self.reached[source] = Reach(flow.first_seen, flow.last_seen)
            reach = found
            self._last = (flow.a_mac, flow.a_ip, flow.vlan, vni, reach)
        if len(reach.destinations) < MAX_DESTINATIONS_PER_SOURCE:
            reach.destinations.add(flow.b_ip)
        if len(reach.ports) < MAX_PORTS_PER_SOURCE:
            reach.ports.add(flow.b_port)
        # the earliest start and latest end, compared in place of min()/max() calls (one per flow)
        if flow.first_seen < reach.first:  # noqa: PLR1730 - see above
            reach.first = flow.first_seen
        if flow.last_seen > reach.last:  # noqa: PLR1730 - see above
            reach.last = flow.last_seen

    def findings(self, ctx: Context, subjects: SubjectIndex) -> list[Finding]:
        per_device: dict[str, set[str]] = {}
        ports: dict[str, set[int]] = {}
        times: dict[str, tuple[float, float]] = {}
        for source, reach in self.reached.items():
            key = subjects.resolve(*source)
            if key is None:
                subjects.unresolved += 1
                continue
            per_device.setdefault(key, set()).update(reach.destinations)
            ports.setdefault(key, set()).update(reach.ports)
            first, last = reach.first, reach.last
            old = times.get(key, (first, last))
            times[key] = (min(old[0], first), max(old[1], last))
        out = []
        for key, dests in sorted(per_device.items()):
            if len(dests) < self.config["threshold"]:
                continue
            severity: Severity = "high" if len(dests) >= self.config["high_threshold"] else "medium"
            hit = Hit(times[key][0], times[key][1], severity)
            hit.add(times[key][0], severity, {"sample_destinations": sorted(dests)[:16],
                                              "destination_ports": sorted(str(p) for p in ports[key])})
            hit.count = len(dests)
            out.append(self.finding(key, hit, distinct_destinations=len(dests),
                                    threshold=self.config["threshold"],
                                    destinations_capped=len(dests) >= MAX_DESTINATIONS_PER_SOURCE))
        return out
