"""ARP spoofing: an IPv4 address claimed by a second MAC while its owner is still active, and storms of
gratuitous ARP (RFC 826, RFC 5227 §3).

Ids: ``detect.arp.spoof`` (ATT&CK T1557.002 Adversary-in-the-Middle: ARP Cache Poisoning; for OT
T0830) and ``detect.arp.storm`` (gratuitous replies or announcements from one MAC above
``storm_count`` per ``storm_window_s``; T1557.002). A binding moves quietly when the old MAC has
been silent for ``owner_idle_s`` (a DHCP lease handed on, a replaced device).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import COUNT, DURATION, ENTRIES, SECONDS, Detector, Options, Range, subject_key
from iotwarden.hooks import Context
from iotwarden.model import Observation

SPOOF, STORM = "detect.arp.spoof", "detect.arp.storm"
UNSPECIFIED = "0.0.0.0"  # noqa: S104 - the sender address of an RFC 5227 probe, not a bind


@dataclass(frozen=True)
class ArpOptions(Options):
    owner_idle_s: float = 600.0  # an owner silent this long may hand its address on
    storm_window_s: float = 60.0
    storm_count: int = 30  # gratuitous ARPs from one MAC within the window: a storm
    max_bindings: int = 200_000  # IPv4 -> MAC bindings kept (LRU)
    bounds: ClassVar[dict[str, Range]] = {"owner_idle_s": DURATION, "storm_window_s": SECONDS, "storm_count": COUNT,
                                          "max_bindings": ENTRIES}


class ArpSpoofDetector(Detector):
    observes = frozenset({"arp"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.arp"
    ids: ClassVar[tuple[str, ...]] = (SPOOF, STORM)
    defaults: ClassVar[Options] = ArpOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._bindings: OrderedDict[str, tuple[str, float]] = OrderedDict()  # ip -> (mac, last claim)
        self._mac_seen: OrderedDict[str, float] = OrderedDict()
        self._gratuitous: OrderedDict[str, deque[float]] = OrderedDict()

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
        if f.get("gratuitous"):
            times = self._gratuitous.setdefault(mac, deque(maxlen=o.storm_count))
            self._gratuitous.move_to_end(mac)
            if len(self._gratuitous) > o.max_bindings:
                self._gratuitous.popitem(last=False)
            times.append(obs.ts)
            if len(times) == o.storm_count and times[-1] - times[0] <= o.storm_window_s:
                times.clear()
                self.raise_alert(ctx, STORM, title=f"Gratuitous ARP storm from {mac} ({ip})", severity="medium",
                                 subject=subject_key(ctx, mac, ip), ts=obs.ts, mitre=("T1557.002",), src_ip=ip,
                                 evidence={"count": o.storm_count, "window_s": o.storm_window_s}, observations=[obs])
        bound = self._bindings.get(ip)
        self._bindings[ip] = (mac, obs.ts)
        self._bindings.move_to_end(ip)
        if len(self._bindings) > o.max_bindings:
            self._bindings.popitem(last=False)
        if bound is None or bound[0] == mac:
            return
        owner_last = self._mac_seen.get(bound[0], bound[1])
        if obs.ts - owner_last > o.owner_idle_s:
            return
        self._bindings[ip] = bound  # the owner keeps its address; the claimant is the suspect
        self.raise_alert(ctx, SPOOF, title=f"{mac} claims {ip}, owned by {bound[0]}", severity="high",
                         subject=subject_key(ctx, mac, None), ts=obs.ts, key=ip, mitre=("T1557.002", "T0830"),
                         src_ip=ip, evidence={"ip": ip, "owner_mac": bound[0], "claimant_mac": mac}, observations=[obs])
