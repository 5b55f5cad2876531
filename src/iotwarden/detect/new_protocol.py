"""A device speaking a protocol or service port it never used while learning.

Id ``detect.new_protocol`` (ATT&CK T1571 Non-Standard Port, T1205; for OT devices T0869 Standard
Application Layer Protocol). Items are (transport, server port, recognised application) of the
established flows a device initiates, and (transport, port) of those it serves; ephemeral ports
(from 32768: Linux's default ``net.ipv4.ip_local_port_range`` is 32768-60999, and it contains the IANA
dynamic range 49152-65535 of RFC 6335 §6 that Windows uses) are folded into one item so passive FTP,
RTP or P2P media does not look new each time. Each new item is reported once, then learned.

Drift without floods: past ``max_per_device_day`` new items in a day, a device's further new items are
learned and folded into one "many new services" alert whose count grows (one per device and day).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import (
    COUNT,
    DURATION,
    Detector,
    Options,
    Range,
    established,
    flow_domain,
    is_internal,
    site_host,
    subject_key,
)
from iotwarden.detect.baseline import LEARN_S, Novelty
from iotwarden.hooks import Context
from iotwarden.model import Flow

NEW_PROTOCOL = "detect.new_protocol"
EPHEMERAL_FROM = 32768  # Linux ip_local_port_range default 32768-60999 (contains RFC 6335 §6's 49152-65535)
DAY = 86_400.0
MAX_BUDGETS = 100_000  # devices whose daily count of new items is tracked; past it the counts restart
TRANSPORTS = {6: "tcp", 17: "udp"}


@dataclass(frozen=True)
class NewProtocolOptions(Options):
    learn_s: float = LEARN_S
    ephemeral_from: int = EPHEMERAL_FROM  # server ports at or above this are one item "ephemeral"
    max_per_device_day: int = 8  # new items reported one by one per device and day; the rest fold into one
    ignore_ports: str = "53,67,68,123,137,138,1900,5353,5355"  # infrastructure services every device uses
    bounds: ClassVar[dict[str, Range]] = {"learn_s": DURATION, "ephemeral_from": (1, 65535),
                                          "max_per_device_day": COUNT}


class NewProtocolDetector(Detector):
    name: ClassVar[str] = "detect.new_protocol"
    ids: ClassVar[tuple[str, ...]] = (NEW_PROTOCOL,)
    defaults: ClassVar[Options] = NewProtocolOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self.items = Novelty(learn_s=self.options.learn_s)
        self._ignore = frozenset(int(p) for p in str(self.options.ignore_ports).split(",") if p.strip())
        self._budget: dict[str, tuple[float, int]] = {}  # ip -> (start of its day, new items reported in it)

    def _over_budget(self, ip: str, ts: float) -> bool:
        """Count one new item of ``ip``; True when its day already had ``max_per_device_day``."""
        start, count = self._budget.get(ip, (ts, 0))
        if ts - start >= DAY:
            start, count = ts, 0
        if ip not in self._budget and len(self._budget) >= MAX_BUDGETS:
            self._budget.clear()
        self._budget[ip] = (start, count + 1)
        limit: int = self.options.max_per_device_day
        return count >= limit

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # flow() takes established flows only (base.established: TCP with payload, others answered), so
        # a scan's empty probes are passed over here
        for flow in flows:
            if (flow.payload_ab or flow.payload_ba) if flow.ip_proto == 6 else flow.pkts_ba:
                self.flow(ctx, flow)

    def flow(self, ctx: Context, flow: Flow) -> None:
        transport = TRANSPORTS.get(flow.ip_proto)
        if transport is None or flow.b_port in self._ignore or not established(flow):
            return  # only what a device really used starts (and feeds) its baseline: not a scan's targets
        port = "ephemeral" if flow.b_port >= self.options.ephemeral_from else flow.b_port
        app = flow.app or "-"
        domain = flow_domain(flow) if flow.vlan or "vni" in flow.extra else ""
        for role, ip, mac in (("client", flow.a_ip, flow.a_mac), ("server", flow.b_ip, flow.b_mac)):
            if not is_internal(ip):
                continue  # baselines are of the site's own devices
            at = site_host(ip, domain)  # a device's baseline within its broadcast domain (two VLANs' 10.0.0.5)
            self.items.touch(at, flow.first_seen)
            item = (role, transport, port, app)
            if not self.items.check(at, item, flow.first_seen):
                continue
            what = f"{flow.app} " if flow.app else ""
            verb = "uses" if role == "client" else "serves"
            title, key = f"{ip} {verb} {what}{transport}/{port} for the first time", f"{role}:{transport}/{port}/{app}"
            if self._over_budget(at, flow.first_seen):  # the pipeline folds these into one alert (count)
                title, key = f"{ip} uses or serves many new services", "many"
            self.raise_alert(ctx, NEW_PROTOCOL, title=title, severity="low",
                             subject=subject_key(ctx, mac, ip, domain, flow.first_seen), ts=flow.first_seen, key=key,
                             mitre=("T1571",), src_ip=flow.a_ip, dst_ip=flow.b_ip,
                             evidence={"role": role, "transport": transport, "port": port, "app": flow.app},
                             flows=[flow])
