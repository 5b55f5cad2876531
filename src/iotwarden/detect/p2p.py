"""Peer-to-peer botnet channel: a device taking part in BitTorrent's DHT (dissect/dht.py) with many
outside peers.

Id ``detect.c2.p2p_dht`` (ATT&CK T1071 Application Layer Protocol, the C&C channel; T1008 Fallback Channels:
a P2P botnet needs no server to take down). Mozi (Netlab 360, 2019: "Mozi, Another Botnet Using DHT") and
Hajime (Rapidity Networks, 2016) join the public Mainline DHT (BEP 5) to find their peers and their signed
configuration; an infected camera or router then exchanges DHT messages with dozens of outside nodes a
minute. ``min_peers`` distinct outside peers within ``window_s`` raise it: high for an IoT, OT, building or
medical device or one the classifier has not placed (the bots' Raspberry Pis and routers), medium for an IT
host that is no workstation, laptop, server or NAS (a torrent client there is policy, not necessarily
compromise) and nothing for those. One alert per device per ``realert_s``.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import (
    COUNT,
    DURATION,
    ENTRIES,
    IOT_CATEGORIES,
    SECONDS,
    Detector,
    Options,
    Range,
    category,
    external,
    site_host,
    subject_key,
)
from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity

P2P_DHT = "detect.c2.p2p_dht"
# device types a BitTorrent client legitimately runs on (taxonomy ids)
CLIENT_TYPES = frozenset({"workstation", "laptop", "server", "nas", "mobile_phone", "tablet"})


@dataclass(frozen=True)
class P2pOptions(Options):
    window_s: float = 600.0  # outside peers counted within this long
    min_peers: int = 10  # distinct outside DHT peers of one device: a P2P network member
    realert_s: float = 86400.0  # one alert per device within this long
    max_devices: int = 10_000  # devices tracked (LRU)
    max_peers: int = 256  # peers remembered per device
    bounds: ClassVar[dict[str, Range]] = {"window_s": SECONDS, "min_peers": COUNT, "realert_s": DURATION,
                                          "max_devices": ENTRIES, "max_peers": ENTRIES}


class P2pDetector(Detector):
    observes = frozenset({"dht"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.p2p"
    ids: ClassVar[tuple[str, ...]] = (P2P_DHT,)
    defaults: ClassVar[Options] = P2pOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._peers: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()  # device ip -> peer -> last seen
        self._evidence: dict[str, deque[Observation]] = {}
        self._raised: dict[str, float] = {}

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto != "dht" or not obs.src_ip or not obs.dst_ip:
            return
        if external(obs.dst_ip) and not external(obs.src_ip):
            device, mac, peer = obs.src_ip, obs.src_mac, obs.dst_ip
        elif external(obs.src_ip) and not external(obs.dst_ip):
            device, mac, peer = obs.dst_ip, obs.dst_mac, obs.src_ip
        else:
            return  # both inside (a LAN peer) or both outside: not a device of the site among outside nodes
        o: P2pOptions = self.options
        domain = obs.domain
        at = site_host(device, domain)  # within its broadcast domain: two VLANs' 10.0.0.5 are two devices
        peers = self._peers.get(at)
        if peers is None:
            peers = self._peers[at] = OrderedDict()
            self._evidence[at] = deque(maxlen=8)
            if len(self._peers) > o.max_devices:
                old, _ = self._peers.popitem(last=False)
                self._evidence.pop(old, None)
        self._peers.move_to_end(at)
        peers[peer] = obs.ts
        peers.move_to_end(peer)
        while peers and (obs.ts - next(iter(peers.values())) > o.window_s or len(peers) > o.max_peers):
            peers.popitem(last=False)
        self._evidence[at].append(obs)
        last = self._raised.get(at)
        if len(peers) < o.min_peers or (last is not None and obs.ts - last < o.realert_s):
            return
        subject = subject_key(ctx, mac, device, domain, obs.ts)
        found = category(ctx, subject)
        dev = ctx.devices.get(subject)
        if dev is not None and dev.device_type in CLIENT_TYPES:
            return  # a computer's torrent client
        self._raised[at] = obs.ts
        severity: Severity = "high" if found is None or found in IOT_CATEGORIES else "medium"
        self.raise_alert(
            ctx, P2P_DHT, title=f"{device} takes part in the BitTorrent DHT with {len(peers)} outside peers",
            severity=severity, subject=subject, ts=obs.ts, key="dht", mitre=("T1071", "T1008"), src_ip=device,
            evidence={"peers": len(peers), "examples": list(peers)[-10:], "category": found,
                      "clients": sorted({str(e.fields.get("client")) for e in self._evidence[at]
                                         if e.fields.get("client")})},
            observations=list(self._evidence[at]))
