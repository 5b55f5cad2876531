"""Addresses a MAC was proved to hold follow it when it is folded into another MAC's device (inventory/resolution.py
``_relink``): a randomised-MAC phone that reconnects with a new MAC and its DHCP client identifier."""

from __future__ import annotations

from typing import Any

from iotwarden.detect.base import device_with_ip
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.model import Observation

ROUTER = "00:0d:b9:4a:10:01"
LAPTOP = "3c:2a:f4:00:00:01"
PHONE_1, PHONE_2 = "da:a1:19:00:00:01", "6e:02:77:10:20:30"  # locally administered: one phone re-randomising
CLIENT_ID = "ff:00:00:00:01:00:04:00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f"  # RFC 4361 IAID + DUID
T0 = 1_700_000_000.0


def _dhcp(kind: str, ts: float, mac: str, fields: dict[str, Any]) -> Observation:
    """A DHCP message about client ``mac``: its own request (from 0.0.0.0) or the router's ack."""
    client = kind == "request"
    return Observation(ts=ts, proto="dhcp", kind=kind, src_mac=mac if client else ROUTER,
                       dst_mac="ff:ff:ff:ff:ff:ff" if client else mac, src_ip="0.0.0.0" if client else "10.0.0.1",  # noqa: S104
                       dst_ip="255.255.255.255" if client else None, subject="src" if client else "dst",
                       fields={"client_mac": mac, **fields})


def _lease(ts: float, mac: str, ip: str, **extra: str) -> list[Observation]:
    """REQUEST of ``ip`` (option 50) from ``mac`` and the router's ACK (yiaddr)."""
    return [_dhcp("request", ts, mac, {"requested_ip": ip, **extra}), _dhcp("ack", ts + 0.01, mac, {"yiaddr": ip})]


def _inventory(*observations: Observation) -> tuple[Context, InventoryBuilder]:
    ctx, inv = Context(), InventoryBuilder()
    for item in observations:
        ctx.now = max(ctx.now, item.ts)
        inv.on_observation(ctx, item)
    return ctx, inv


def test_a_phone_reconnecting_with_a_new_mac_is_the_holder_of_its_new_lease() -> None:
    """The laptop held 10.0.0.50 until its lease ended; the phone, known by its client identifier on its first MAC
    (10.0.0.60), reconnects an hour later with a new MAC and gets 10.0.0.50. The request binds the address to the new
    MAC before its client identifier folds that MAC into the phone's device: the address's holder is the phone, not
    the laptop that still lists it (before: ``ctx.owners`` and ``ctx.owner_moves`` kept the merged-away
    ``mac:<new MAC>``, which no device has, so a lookup fell back to the first device listing the address)."""
    ctx, inv = _inventory(*_lease(T0, LAPTOP, "10.0.0.50"),
                          *_lease(T0 + 60, PHONE_1, "10.0.0.60", client_id=CLIENT_ID),
                          *_lease(T0 + 3600, PHONE_2, "10.0.0.50", client_id=CLIENT_ID))
    phone = f"mac:{PHONE_1}"
    assert inv.linker.canonical(PHONE_2) == PHONE_1 and f"mac:{PHONE_2}" not in ctx.devices
    assert ctx.owners["10.0.0.50"] == phone
    assert ctx.owner_moves["10.0.0.50"] == [(float("-inf"), f"mac:{LAPTOP}"), (T0 + 3600, phone)]
    assert device_with_ip(ctx, "10.0.0.50", ts=T0 + 3700) == phone
    assert device_with_ip(ctx, "10.0.0.50") == phone
    assert device_with_ip(ctx, "10.0.0.50", ts=T0 + 10) == f"mac:{LAPTOP}"  # the laptop's, before the move


def test_a_new_mac_renewing_its_first_macs_lease_is_no_move() -> None:
    """The phone's new MAC asks for the address its first MAC held: one device held it throughout, so no move is
    kept, and the owner is the phone's device."""
    ctx, _ = _inventory(*_lease(T0, PHONE_1, "10.0.0.60", client_id=CLIENT_ID),
                        *_lease(T0 + 3600, PHONE_2, "10.0.0.60", client_id=CLIENT_ID))
    assert ctx.owners["10.0.0.60"] == f"mac:{PHONE_1}"
    assert "10.0.0.60" not in ctx.owner_moves


def test_macs_linked_at_the_end_by_their_host_name_name_the_device_they_joined() -> None:
    """Randomised MACs sharing only a host name are folded at the end of input (InterfaceLinker.settle): the
    addresses the later MAC was proved to hold name the device it joined then."""
    ctx, inv = _inventory(*_lease(T0, LAPTOP, "10.0.0.51"),
                          *_lease(T0 + 60, PHONE_1, "10.0.0.50", hostname="Annas-iPhone"),
                          *_lease(T0 + 3600, PHONE_2, "10.0.0.51", hostname="Annas-iPhone"))
    assert ctx.owners["10.0.0.51"] == f"mac:{PHONE_2}"  # two devices until the run ends
    inv.done(ctx)
    assert f"mac:{PHONE_2}" not in ctx.devices
    assert ctx.owners["10.0.0.51"] == f"mac:{PHONE_1}"
    assert device_with_ip(ctx, "10.0.0.51", ts=T0 + 3700) == f"mac:{PHONE_1}"
