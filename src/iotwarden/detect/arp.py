"""ARP spoofing: an IPv4 address claimed by a second MAC while its owner is still active, and storms of
gratuitous ARP (RFC 826, RFC 5227 §3).

Ids: ``detect.arp.spoof`` (ATT&CK T1557.002 Adversary-in-the-Middle: ARP Cache Poisoning; for OT
T0830) and ``detect.arp.storm`` (gratuitous replies or announcements from one MAC above
``storm_count`` per ``storm_window_s``; T1557.002). A binding moves quietly when the old MAC has
been silent for ``owner_idle_s`` (a DHCP lease handed on, a replaced device).

An ARP binding holds on one link (RFC 826: ARP does not cross a router): bindings and storms are kept per
broadcast domain (Observation.domain: the 802.1Q VLAN, the VXLAN/Geneve VNIs), so a trunk mirror's guest
and camera VLANs both using 192.168.1.10 are two hosts, and a router-on-a-stick announcing its address on
each of its VLANs is one announcement per link. A MAC's activity (the owner's idleness) is global: MACs are.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import COUNT, DURATION, ENTRIES, SECONDS, Detector, Options, Range, subject_key
from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.observation import scoped

SPOOF, STORM = "detect.arp.spoof", "detect.arp.storm"
UNSPECIFIED = "0.0.0.0"  # noqa: S104 - the sender address of an RFC 5227 probe, not a bind


@dataclass(frozen=True)
class ArpOptions(Options):
    owner_idle_s: float = 600.0  # an owner silent this long may hand its address on
    storm_window_s: float = 60.0
    storm_count: int = 30  # gratuitous ARPs from one MAC within the window: a storm
    max_bindings: int = 200_000  # (domain, IPv4) -> MAC bindings kept (LRU); also MACs and (domain, MAC) storms
    bounds: ClassVar[dict[str, Range]] = {"owner_idle_s": DURATION, "storm_window_s": SECONDS, "storm_count": COUNT,
                                          "max_bindings": ENTRIES}


class ArpSpoofDetector(Detector):
    observes = frozenset({"arp"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.arp"
    ids: ClassVar[tuple[str, ...]] = (SPOOF, STORM)
    defaults: ClassVar[Options] = ArpOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        # ip%domain (model/observation.scoped) -> (mac, last claim)
        self._bindings: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._mac_seen: OrderedDict[str, float] = OrderedDict()
        self._gratuitous: OrderedDict[str, deque[float]] = OrderedDict()  # mac%domain -> gratuitous ARP times

    def _touch(self, table: OrderedDict[str, float], mac: str, ts: float) -> None:
        table[mac] = max(ts, table.get(mac, ts))
        table.move_to_end(mac)
        if len(table) > self.options.max_bindings:
            table.popitem(last=False)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto != "arp":
            return
        f, o = obs.fields, self.options
        mac, ip = f.get("sender_mac"), f.get("sender_ip")
        if not isinstance(mac, str) or not isinstance(ip, str) or ip == UNSPECIFIED or f.get("probe"):
            return
        self._touch(self._mac_seen, mac, obs.ts)
        domain = obs.domain
        if f.get("gratuitous"):
            on_link = scoped(mac, domain)
            times = self._gratuitous.setdefault(on_link, deque(maxlen=o.storm_count))
            self._gratuitous.move_to_end(on_link)
            if len(self._gratuitous) > o.max_bindings:
                self._gratuitous.popitem(last=False)
            times.append(obs.ts)
            if len(times) == o.storm_count and times[-1] - times[0] <= o.storm_window_s:
                times.clear()
                self.raise_alert(ctx, STORM, title=f"Gratuitous ARP storm from {mac} ({ip})", severity="medium",
                                 subject=subject_key(ctx, mac, ip, domain, obs.ts), ts=obs.ts, mitre=("T1557.002",),
                                 src_ip=ip,
                                 evidence={"count": o.storm_count, "window_s": o.storm_window_s,
                                           **({"domain": domain} if domain else {})}, observations=[obs])
        at = scoped(ip, domain)
        bound = self._bindings.get(at)
        self._bindings[at] = (mac, obs.ts)
        self._bindings.move_to_end(at)
        if len(self._bindings) > o.max_bindings:
            self._bindings.popitem(last=False)
        if bound is None or bound[0] == mac:
            return
        owner_last = self._mac_seen.get(bound[0], bound[1])
        if obs.ts - owner_last > o.owner_idle_s:
            return
        self._bindings[at] = bound  # the owner keeps its address; the claimant is the suspect
        link = f" on {domain}" if domain else ""
        self.raise_alert(ctx, SPOOF, title=f"{mac} claims {ip}, owned by {bound[0]}{link}", severity="high",
                         subject=subject_key(ctx, mac, None), ts=obs.ts, key=at,
                         mitre=("T1557.002", "T0830"), src_ip=ip,
                         evidence={"ip": ip, "owner_mac": bound[0], "claimant_mac": mac,
                                   **({"domain": domain} if domain else {})},
                         observations=[obs])

