"""The simulated network at generation time: hosts and addresses, next hops, seeded randomness.

Behaviours ask the world for the :class:`~iotwarden.lab.wire.Host` a device is on the wire, how a
peer looks from a device's subnet (through the router when off-subnet) and a random generator
derived from the seed and their own name, so each stream is deterministic on its own.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.lab.wire import Frame, Host

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec, Scenario

DHCP_POOL_FIRST_HOST = 100  # dynamic leases start at .100 of each subnet (host index)
# Vendor clouds resolve into the documentation ranges (RFC 5737): never a real address.
CLOUD_NETWORKS = (ipaddress.IPv4Network("198.51.100.0/24"), ipaddress.IPv4Network("203.0.113.0/24"))


def stable_int(*labels: object) -> int:
    """A 64-bit integer from labels, identical across runs and platforms (unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, labels)).encode()).digest()[:8], "big")


class World:
    """Addresses and hosts of one scenario run; ``seed`` overrides the scenario's own."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.start = scenario.start
        self.end = scenario.start + scenario.duration
        self.devices: dict[str, DeviceSpec] = {d.id: d for d in scenario.devices}
        self.ips: dict[str, str] = {}
        self.leased: set[str] = set()
        taken = {d.ip for d in scenario.devices if d.ip} | {s.gateway for s in scenario.network.subnets.values()}
        next_host: dict[str, int] = {}
        for dev in scenario.devices:
            if dev.ip is not None:
                self.ips[dev.id] = dev.ip
                continue
            net = scenario.network.subnets[dev.subnet].network
            index = next_host.get(dev.subnet, DHCP_POOL_FIRST_HOST)
            while str(net[index]) in taken:
                index += 1
            if net[index] == net.broadcast_address:
                raise ValueError(f"subnet {dev.subnet} has no free address for {dev.id}")
            self.ips[dev.id] = str(net[index])
            self.leased.add(dev.id)
            taken.add(self.ips[dev.id])
            next_host[dev.subnet] = index + 1
        self.by_ip = {ip: ident for ident, ip in self.ips.items()}

    def addresses(self, device_id: str) -> list[str]:
        """Every address the device holds, its own first: the router (the device with the network's router MAC) is
        also the gateway of each subnet, answering ARP for it, relaying DHCP from it and forwarding off-subnet
        traffic, so it holds each gateway's address too."""
        own = [self.ips[device_id]]
        if self.devices[device_id].mac != self.scenario.network.router_mac:
            return own
        return own + [s.gateway for s in self.scenario.network.subnets.values() if s.gateway not in own]

    def runs_windows(self, device_id: str) -> bool:
        """Whether the device's OS is Windows (its scenario ``os``), for what a host states of itself on the wire."""
        return "windows" in self.devices[device_id].os.lower()

    def rng(self, *labels: object) -> random.Random:
        return random.Random(stable_int(self.seed, *labels))  # noqa: S311 - simulation, not crypto

    def host(self, device_id: str) -> Host:
        """A fresh Host for the device on its own subnet (each stream keeps its own IP-ID counter)."""
        dev = self.devices[device_id]
        return Host(dev.mac, self.ips[device_id], dev.ttl, ip_id=stable_int(self.seed, device_id, "ipid") & 0xFFFF)

    def subnet_of_ip(self, ip: str) -> str | None:
        addr = ipaddress.IPv4Address(ip)
        for name, subnet in self.scenario.network.subnets.items():
            if addr in subnet.network:
                return name
        return None

    def gateway_mac(self) -> str:
        return self.scenario.network.router_mac

    def peer(self, viewer_id: str, ip: str, ttl: int = 64) -> Host:
        """How the host at ``ip`` appears on ``viewer_id``'s subnet: itself, or behind the router."""
        owner = self.by_ip.get(ip)
        if owner is not None and self.subnet_of_ip(ip) == self.devices[viewer_id].subnet:
            return self.host(owner)
        hop_ttl = (self.devices[owner].ttl if owner else ttl) - 1
        return Host(self.gateway_mac(), ip, hop_ttl, ip_id=stable_int(self.seed, ip, "ipid") & 0xFFFF)

    def peer_device(self, viewer_id: str, device_id: str) -> Host:
        return self.peer(viewer_id, self.ips[device_id])

    def gateway_for(self, device_id: str) -> str:
        return self.scenario.network.subnets[self.devices[device_id].subnet].gateway

    def cloud_ip(self, name: str) -> str:
        """The address a vendor cloud name resolves to (stable per name, documentation ranges)."""
        n = stable_int("cloud", name)
        net = CLOUD_NETWORKS[n % len(CLOUD_NETWORKS)]
        return str(net[10 + (n >> 8) % 240])

    def ephemeral_port(self, rng: random.Random, device_id: str) -> int:
        """A client port from the range the device's OS uses (IANA 49152-65535; Linux 32768-60999)."""
        if self.devices[device_id].ttl == 128:
            return rng.randint(49152, 65535)
        return rng.randint(32768, 60999)

    def attack_truth(self, act: Activity, technique: str, *, start: float, end: float,
                     targets: list[str]) -> dict[str, Any]:
        """The ground truth of one attack the scenario switched on: its kind, ATT&CK technique, times,
        attacker (id, MAC, address) and targets, as the truth file lists it."""
        attacker = act.params["attacker"]
        return {"kind": act.kind, "technique": technique, "start": round(start, 6), "end": round(end, 6),
                "attacker": {"id": attacker, "mac": self.devices[attacker].mac, "ip": self.ips[attacker]},
                "targets": targets}


def periodic(world: World, rng: random.Random, every: float, session: Callable[[float], list[Frame]], *,
             first: float | None = None, jitter: float = 0.2, end: float | None = None) -> Iterator[Frame]:
    """Sessions ``every`` seconds (± ``jitter`` of it) until the end; never overlapping, so time-ordered."""
    stop = world.end if end is None else min(end, world.end)
    t = world.start + rng.uniform(0, min(every, world.scenario.duration) * 0.5) if first is None else first
    while t < stop:
        frames = sorted(session(t), key=lambda f: f[0])  # ACKs and replies interleave within a session
        yield from frames
        last = frames[-1][0] if frames else t
        t = max(t + every * (1 + rng.uniform(-jitter, jitter)), last + 0.001)
