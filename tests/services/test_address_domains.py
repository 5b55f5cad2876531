"""The store's address history is per broadcast domain: a MAC's 10.0.0.5 on VLAN 10, stored by one run, is not
who VLAN 20's routed 10.0.0.5 is in the next run into the same store (inventory/priors.py, device_ips.domain);
VLAN 10's routed 10.0.0.5 still is that MAC. Captures are built with scapy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet
from scapy.utils import wrpcap
from sqlalchemy import select

from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from iotwarden.store.schema import DeviceIpRow, DeviceRow

HOST, ROUTER, LOCAL = "00:11:22:33:44:01", "00:11:22:33:44:a0", "00:11:22:33:44:c0"
BCAST = "ff:ff:ff:ff:ff:ff"
T0 = 1_700_000_000.0


def _write(path: Path, frames: Sequence[Packet], vlan: int, t0: float) -> Path:
    tagged = [Ether(src=f.src, dst=f.dst) / Dot1Q(vlan=vlan) / f.payload for f in frames]
    for i, f in enumerate(tagged):
        f.time = t0 + i * 0.5
    wrpcap(str(path), tagged)
    return path


def _owner(path: Path, vlan: int) -> Path:
    """HOST announces 10.0.0.5 by ARP (it owns it on the VLAN) and talks to the local host."""
    frames = [Ether(src=HOST, dst=BCAST) / ARP(op=2, hwsrc=HOST, psrc="10.0.0.5", hwdst=BCAST, pdst="10.0.0.5")]
    frames += [Ether(src=HOST, dst=LOCAL) / IP(src="10.0.0.5", dst="10.0.0.20") / UDP(sport=5000, dport=5001) / b"x"
               for _ in range(3)]
    return _write(path, frames, vlan, T0)


def _routed(path: Path, vlan: int) -> Path:
    """An hour later, a router (its own 10.0.0.1 announced) carries 10.0.0.5-8 to a local host: only the router's
    MAC is seen with 10.0.0.5, nothing in the run proves who holds it."""
    frames = [Ether(src=ROUTER, dst=BCAST) / ARP(op=2, hwsrc=ROUTER, psrc="10.0.0.1", hwdst=BCAST, pdst="10.0.0.1"),
              Ether(src=LOCAL, dst=BCAST) / ARP(op=2, hwsrc=LOCAL, psrc="192.168.1.20", hwdst=BCAST,
                                                pdst="192.168.1.20")]
    for host in range(5, 9):
        frames += [Ether(src=ROUTER, dst=LOCAL) / IP(src=f"10.0.0.{host}", dst="192.168.1.20")
                   / UDP(sport=5000 + host, dport=5001) / b"x",
                   Ether(src=LOCAL, dst=ROUTER) / IP(src="192.168.1.20", dst=f"10.0.0.{host}")
                   / UDP(sport=5001, dport=5000 + host) / b"y"]
    return _write(path, frames, vlan, T0 + 3600)


def _keys(store: Store) -> set[str]:
    with store.session() as session:
        return set(session.scalars(select(DeviceRow.key)))


def test_an_address_history_on_one_vlan_does_not_place_another_vlans_host(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'two_vlans.db'}") as store:
        analyze([_owner(tmp_path / "owner10.pcap", 10)], store)
        with store.session() as session:
            rows = [(r.device_key, r.ip, r.domain) for r in session.scalars(select(DeviceIpRow))]
        assert (f"mac:{HOST}", "10.0.0.5", "vlan10") in rows
        analyze([_routed(tmp_path / "routed20.pcap", 20)], store)
        assert "ip:10.0.0.5%vlan20" in _keys(store)  # VLAN 20's host: not HOST by VLAN 10's history
        with store.session() as session:
            held = {(r.device_key, r.domain) for r in session.scalars(select(DeviceIpRow)
                                                                       .where(DeviceIpRow.ip == "10.0.0.5"))}
        assert held == {(f"mac:{HOST}", "vlan10"), ("ip:10.0.0.5%vlan20", "vlan20")}
    with Store(f"sqlite:///{tmp_path / 'one_vlan.db'}") as store:
        analyze([_owner(tmp_path / "owner10.pcap", 10)], store)
        analyze([_routed(tmp_path / "routed10.pcap", 10)], store)
        keys = _keys(store)
        assert "ip:10.0.0.5%vlan10" not in keys and "ip:10.0.0.6%vlan10" in keys  # its own VLAN's history places it
