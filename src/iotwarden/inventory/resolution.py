"""Endpoint resolution: which device each (MAC, IP) endpoint belongs to. A device is keyed ``mac:<mac>``
(local segment) or ``ip:<addr>`` (a site address seen only through a router); addresses outside the site
(cloud servers) are remote endpoints (``peers``), not devices. Gateways, address owners and linked
interfaces decide the key; when they change, endpoints move and the devices they touch are rebuilt.
An address nothing in the run proves the owner of goes to the MAC the store's history says held it then
(inventory/priors.py), when the services hand that history over (:meth:`EndpointResolver.use_prior_owners`).

A site address names a host within its broadcast domain only (a trunk mirror's VLANs, a cloud mirror's VNIs
may reuse one plan): the tables keyed by address (endpoints, owners, routed ``ip:`` devices) take it zoned,
``ip%domain`` (addresses.zoned), so two VLANs' routed 10.0.0.5 are two ``ip:10.0.0.5%vlan10``-like devices
and neither is placed on the other's MAC. A MAC is global: one seen on several VLANs is one device, and
once the run shows tagged traffic its device records the domains it was seen in (``link.domain``,
:meth:`EndpointResolver.seen_in`), so a detector naming the holder of an address within a domain never names a
MAC device of another (Device.in_domain).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from iotwarden.hooks import Context
from iotwarden.inventory.addresses import local_ip, private_v4, unzoned
from iotwarden.inventory.endpoint import Endpoint, EvidenceKey, seen_at
from iotwarden.inventory.gateways import GATEWAY_MIN_IPS, carries_many
from iotwarden.inventory.holders import MAX_OWNER_MOVES, Run, moves, prove
from iotwarden.inventory.linking import InterfaceLinker
from iotwarden.model import Device
from iotwarden.model.device import DOMAINS_ATTRIBUTE, UNTAGGED

if TYPE_CHECKING:
    from iotwarden.inventory.priors import PriorOwners

MAX_ENDPOINTS = 500_000  # (mac, ip) pairs tracked per run; further ones are dropped and counted
MAX_IPS_PER_MAC = 64  # endpoints per MAC; a MAC past it is a gateway long before
MAX_VALUES_PER_ATTRIBUTE = 32  # values kept per "<proto>.<field>" attribute of one endpoint or device
MAX_DOMAINS_PER_MAC = 64  # broadcast domains remembered per MAC (a router-on-a-stick's VLANs); later ones not
INTERFACES_ATTRIBUTE = "link.mac"  # every MAC of a device that has more than one (inventory/linking.py)

# the router's test (inventory/gateways.py) and the endpoint record (inventory/endpoint.py), split from this module,
# stay importable from here
__all__ = ["GATEWAY_MIN_IPS", "INTERFACES_ATTRIBUTE", "MAX_DOMAINS_PER_MAC", "MAX_ENDPOINTS", "MAX_IPS_PER_MAC",
           "MAX_OWNER_MOVES", "MAX_VALUES_PER_ATTRIBUTE", "Endpoint", "EndpointResolver", "EvidenceKey", "carries_many"]


class EndpointResolver:
    """The endpoint tables and the function from an endpoint to its device key (:meth:`key_for`).

    A MAC carrying many addresses, or a global address on a private segment, is a gateway: addresses
    seen only through it become ``ip:`` devices, while one a local MAC owns (ARP, DHCP, or seen using
    it; else the MAC the store's history says held it then, :meth:`use_prior_owners`) stays that MAC's
    device. The inventory builder feeds it facts; this class only places them.
    """

    def __init__(self, site_networks: tuple[str, ...] = ()) -> None:
        """``site_networks``: CIDR blocks besides RFC 1918/6598/4193 and link-local whose hosts are
        devices of the site (a public range the organisation owns); ValueError names a bad one."""
        for net in site_networks:
            ipaddress.ip_network(net, strict=False)
        self.site_networks = tuple(site_networks)
        self.peers: dict[str, Device] = {}  # remote endpoints (``ip:`` keys outside the site), by key
        self.endpoints: dict[tuple[str | None, str | None], Endpoint] = {}
        self.by_key: dict[str, set[tuple[str | None, str | None]]] = {}
        self.by_mac: dict[str, set[tuple[str | None, str | None]]] = {}
        self.by_ip: dict[str, set[tuple[str | None, str | None]]] = {}  # by the address, whatever its domain
        self.owner: dict[str, str] = {}  # zoned ip -> mac that ARP/DHCP proved owns it on this segment (latest proof)
        self.proofs: dict[str, list[Run]] = {}  # zoned ip -> its holders' proofs in time order (inventory/holders.py)
        self.seen_with: dict[str, str] = {}  # zoned ip -> first non-gateway mac seen using it (weaker than owner)
        self.priors: PriorOwners | None = None  # the store's address history (inventory/priors.py)
        self.recalled: dict[str, str | None] = {}  # site ip -> the mac history gave it at its first sighting, or None
        self.gateways: set[str] = set()
        self.linker = InterfaceLinker()  # MACs that are interfaces of one device (randomised, multi-homed)
        self.private_segment = False  # an owned private IPv4 address was seen: the LAN is private
        self.dropped = 0  # endpoints not tracked because MAX_ENDPOINTS or MAX_IPS_PER_MAC was reached
        # once the run shows tagged traffic, per MAC the broadcast domains it was seen in ("" untagged), in order
        # of first sight (seen_in); MAX_ENDPOINTS MACs, MAX_DOMAINS_PER_MAC each
        self.mac_domains: dict[str, dict[str, None]] = {}

    # --- results for the store ---------------------------------------------------------------------

    def is_device_key(self, key: str) -> bool:
        """True for keys of the inventory: a MAC, or a site address (not a remote endpoint)."""
        return not key.startswith("ip:") or local_ip(key[3:], self.site_networks)

    def ip_history(self) -> dict[str, dict[str, tuple[float, float]]]:
        """Per device key, each address with its first and last time seen; a site address within its
        broadcast domain (zoned, ``10.0.0.5%vlan10``: the store keeps its domain, store/writer.merge_device_ips)."""
        out: dict[str, dict[str, tuple[float, float]]] = {}
        for ep in self.endpoints.values():
            if ep.ip is None or not self.is_device_key(ep.key):
                continue
            at = ep.at if ep.at is not None else ep.ip
            ips = out.setdefault(ep.key, {})
            first, last = ips.get(at, (ep.first_seen, ep.last_seen))
            ips[at] = (min(first, ep.first_seen), max(last, ep.last_seen))
        return out

    def use_prior_owners(self, priors: PriorOwners) -> None:
        """Addresses the run cannot place go to the MAC ``priors`` says held them at their first sighting
        (weaker than anything the run shows: ARP/DHCP proof, a non-gateway MAC using the address).
        Call before the first record: what was placed already is not moved."""
        self.priors = priors if len(priors) else None  # an empty history: nothing to ask per address

    # --- resolution --------------------------------------------------------------------------------

    def key_for(self, mac: str | None, ip: str | None) -> str:
        """The device key of an endpoint under what is known now (``ip`` zoned, addresses.zoned).

        A MAC that is not a gateway is the device. Through a gateway (or with no MAC), an address
        belongs to the MAC that owns it on the segment (ARP/DHCP proof first, else the first
        non-gateway MAC seen using it: a routed conversation of a local host, else the MAC that held it
        by the store's history); else it is a remote ``ip:`` device.
        """
        if mac is not None and mac not in self.gateways:
            return f"mac:{self.linker.canonical(mac)}"
        if ip is None:
            return f"mac:{mac}"
        owner = self.owner.get(ip)
        if owner is None:
            weak = self.seen_with.get(ip)
            owner = weak if weak is not None and weak not in self.gateways else None
            if owner is None and mac is not None and self.mac_domains:
                owner = self._across(mac, ip)
            if owner is None and self.recalled:
                owner = self.recalled.get(ip)
        return f"mac:{self.linker.canonical(owner)}" if owner is not None else f"ip:{ip}"

    def _across(self, mac: str, ip: str) -> str | None:
        """The MAC that owns (else uses) ``ip``'s address in another broadcast domain the router ``mac`` is
        also seen in: the router joins the two links, so the host it carries is that one. Two tenants'
        routers (two VPCs, two VRFs with their own MACs) join nothing, and their hosts stay apart. The router's
        own address in another domain is the router (a MAC is global): a mirror that tags one direction of a
        link only (VLAN 100 towards the host, untagged from it) shows its DHCP server's 192.168.1.1 both ways."""
        plain = unzoned(ip)
        for table in (self.owner, self.seen_with):
            for domain in self.mac_domains.get(mac, ()):
                other = f"{plain}%{domain}" if domain else plain
                if (other != ip and (found := table.get(other)) is not None
                        and (found not in self.gateways or found == mac)):
                    return found
        return None

    def _endpoint(self, ctx: Context, mac: str | None, ip: str | None, ts: float) -> Endpoint | None:
        """The endpoint of ``mac`` and ``ip`` (zoned: addresses.zoned), made when new."""
        if mac is None and ip is None:
            return None
        ek = (mac, ip)
        ep = self.endpoints.get(ek)
        if ep is not None:  # a known endpoint (every flow of a device): min() and max() without calls
            seen_at(ep, ts)
            dev = self._device(ctx, ep)
            if ts < dev.first_seen:  # noqa: PLR1730 - see above
                dev.first_seen = ts
            if ts > dev.last_seen:  # noqa: PLR1730 - see above
                dev.last_seen = ts
            return ep
        if len(self.endpoints) >= MAX_ENDPOINTS:
            self.dropped += 1
            return self.endpoints.get((mac, None)) if mac is not None else None
        if mac is not None and ip is not None and len(self.by_mac.get(mac, ())) >= MAX_IPS_PER_MAC:
            self.dropped += 1  # the address is not tracked; the facts still reach the MAC's device
            return self._endpoint(ctx, mac, None, ts)
        if ip is not None and self.priors is not None and ip not in self.recalled:
            self._recall(ip, ts)
        plain = unzoned(ip) if ip is not None and "%" in ip else ip
        ep = Endpoint(mac=mac, ip=plain, key=self.key_for(mac, ip), first_seen=ts, last_seen=ts, at=ip)
        self.endpoints[ek] = ep
        self.by_key.setdefault(ep.key, set()).add(ek)
        if mac is not None:
            self.by_mac.setdefault(mac, set()).add(ek)
        if plain is not None:
            self.by_ip.setdefault(plain, set()).add(ek)
        dev = self._device(ctx, ep)
        dev.first_seen = min(dev.first_seen, ts)
        dev.last_seen = max(dev.last_seen, ts)
        self._interface(dev, ep)
        if ip is not None and "%" in ip and dev.mac is not None:  # an address sighting within a domain
            _record_domain(dev, ip.partition("%")[2])
        if plain is not None:
            dev.ips.add(plain)
            if mac is not None and not self.private_segment and private_v4(plain):
                self._private_segment_seen(ctx)
        if mac is not None and ip is not None and mac not in self.gateways:
            if self._looks_like_gateway(mac):
                self._make_gateway(ctx, mac, ts)
            else:
                self._claim(ctx, ip, mac)
        return ep

    def seen_in(self, ctx: Context, mac: str, domain: str) -> None:
        """``mac`` was seen in broadcast ``domain`` (Observation.domain, "" untagged). Called for every
        sighting once the run has shown tagged traffic (an untagged run keeps no table): at the first, every
        MAC seen so far was seen untagged. A domain new to the MAC joins its device's ``link.domain``."""
        if not self.mac_domains:
            if not domain:
                return
            for known in self.by_mac:
                self.mac_domains[known] = {"": None}
                self._domain_seen(ctx, known, "")
        domains = self.mac_domains.get(mac)
        if domains is None:
            if len(self.mac_domains) >= MAX_ENDPOINTS:
                self.dropped += 1
                return
            domains = self.mac_domains[mac] = {}
        if domain not in domains and len(domains) < MAX_DOMAINS_PER_MAC:
            domains[domain] = None
            self._domain_seen(ctx, mac, domain)

    def _domain_seen(self, ctx: Context, mac: str, domain: str) -> None:
        """The device of ``mac``'s own frames (the router itself for a gateway) was seen in ``domain``."""
        dev = ctx.devices.get(self.key_for(mac, None))
        if dev is not None:
            _record_domain(dev, domain)

    def _domains_of(self, dev: Device) -> None:
        """A MAC device made (or rebuilt) now: the domains its interfaces were seen in (:meth:`seen_in`)."""
        assert dev.mac is not None  # guarded by the caller
        macs = self.linker.interfaces(dev.mac) if dev.mac in self.linker.groups else (dev.mac,)
        for mac in macs:
            for domain in self.mac_domains.get(mac, ()):
                _record_domain(dev, domain)

    def _recall(self, ip: str, ts: float) -> None:
        """First sighting of ``ip`` in this run: who held it then by the store's history (a site address
        only). Called for a new endpoint only, so the table is bounded by :data:`MAX_ENDPOINTS`."""
        assert self.priors is not None  # guarded by the caller
        if local_ip(ip, self.site_networks):  # a cloud server is nobody's device, whoever carried it
            self.recalled[ip] = self.priors.owner(ip, ts)  # zoned: the history of its own domain

    def _claim(self, ctx: Context, ip: str, mac: str) -> None:
        """A non-gateway MAC uses ``ip``: routed sightings of ``ip`` are that device, unless proved otherwise."""
        current = self.seen_with.get(ip)
        if current is not None and current not in self.gateways:
            return
        if current is None and len(self.seen_with) >= MAX_ENDPOINTS:
            self.dropped += 1
            return
        self.seen_with[ip] = mac
        self._rekey(ctx, self._with_ip(ip))

    def _with_ip(self, ip: str) -> list[Endpoint]:
        """The endpoints of ``ip``'s address in every domain: a proof in one may place a routed sighting in
        another (:meth:`_across`); :meth:`key_for` decides each."""
        return [self.endpoints[k] for k in self.by_ip.get(unzoned(ip), ())]

    def _looks_like_gateway(self, mac: str) -> bool:
        """Many foreign addresses behind one MAC, or a global one on a private segment (routed traffic);
        an address the MAC owns (proved, or by the store's history) is its own, not foreign."""
        recalled = self.recalled
        foreign = (unzoned(ip) for _, ip in self.by_mac.get(mac, ())
                   if ip is not None and self.owner.get(ip) != mac and (not recalled or recalled.get(ip) != mac))
        return carries_many(foreign, private_segment=self.private_segment)

    def _private_segment_seen(self, ctx: Context) -> None:
        """First private address on the segment: global addresses behind a MAC are now routed ones."""
        self.private_segment = True
        for mac in list(self.by_mac):
            if mac not in self.gateways and self._looks_like_gateway(mac):
                self._make_gateway(ctx, mac, ctx.now)

    def _bind(self, ctx: Context, ip: str, mac: str, ts: float | None = None) -> None:
        """ARP/DHCP proved ``mac`` owns ``ip`` (zoned) on this segment, at ``ts`` (the record's time; ``ctx.now``
        when not given). Proofs may be read out of time order: the owner is the latest proof's holder, and a
        move between holders is remembered with its time (inventory/holders.py, ``ctx.owner_moves``)."""
        runs = self.proofs.get(ip)
        if runs is None:
            if len(self.proofs) >= MAX_ENDPOINTS:
                self.dropped += 1
                return
            runs = self.proofs[ip] = []
        if not prove(runs, ctx.now if ts is None else ts, mac):
            return  # the holder proved again: who held the address when stands
        if len(runs) > 1:
            self._publish_moves(ctx, ip, runs)
        mac = runs[-1].mac
        if self.owner.get(ip) == mac:
            return
        self.owner[ip] = mac
        ctx.owners[ip] = f"mac:{self.linker.canonical(mac)}"
        if not self.private_segment and private_v4(unzoned(ip)):
            self._private_segment_seen(ctx)
        self._rekey(ctx, self._with_ip(ip))
        if mac not in self.gateways and self._looks_like_gateway(mac):
            self._make_gateway(ctx, mac, ctx.now)

    def _publish_moves(self, ctx: Context, ip: str, runs: list[Run]) -> None:
        """``ctx.owner_moves`` of ``ip`` from its holders' proofs, each holder named by its device now."""
        held = moves(runs, lambda m: f"mac:{self.linker.canonical(m)}")
        if len(held) > 1:
            ctx.owner_moves[ip] = held
        else:
            ctx.owner_moves.pop(ip, None)

    def _relink(self, ctx: Context, root: str) -> None:
        """MACs were folded into ``root`` (InterfaceLinker): their endpoints move to its device, and every address
        one of them was proved to hold names that device in ``ctx.owners`` and ``ctx.owner_moves`` (a proof read
        before the fold, as a DHCP request binds its address before its client identifier links its MAC, named
        the merged-away ``mac:`` key, which no device has). An address proved is an endpoint of its MAC, bar
        one past :data:`MAX_IPS_PER_MAC` (counted in ``dropped``)."""
        members = [self.endpoints[k] for m in self.linker.interfaces(root) for k in self.by_mac.get(m, ())]
        self._rekey(ctx, members)
        for ip in {ep.at for ep in members if ep.at is not None and ep.at in self.proofs}:
            owner = self.owner.get(ip)
            if owner is not None:
                ctx.owners[ip] = f"mac:{self.linker.canonical(owner)}"
            runs = self.proofs[ip]
            if len(runs) > 1:
                self._publish_moves(ctx, ip, runs)

    def _make_gateway(self, ctx: Context, mac: str, ts: float) -> None:
        """``mac`` routes: the addresses it carries (not its own) become ``ip:`` devices; it stays one."""
        self.gateways.add(mac)
        members = [self.endpoints[k] for k in self.by_mac.get(mac, ())]
        first = min((ep.first_seen for ep in members), default=ts)
        if (mac, None) not in self.endpoints:  # the router itself, even when none of its addresses is known
            own = Endpoint(mac=mac, ip=None, key=f"mac:{mac}", first_seen=first, last_seen=first, at=None)
            self.endpoints[(mac, None)] = own
            self.by_key.setdefault(own.key, set()).add((mac, None))
            self.by_mac[mac].add((mac, None))
        affected = list(members)
        for ep in members:  # addresses first seen through the gateway: another local MAC may use them
            if ep.at is not None and ep.ip is not None and self.seen_with.get(ep.at) == mac:
                users = sorted(m for m, at in self.by_ip.get(ep.ip, ())
                               if m is not None and m not in self.gateways and at == ep.at)
                if users:
                    self.seen_with[ep.at] = users[0]
                else:
                    del self.seen_with[ep.at]
                affected.extend(self._with_ip(ep.at))
        self._rekey(ctx, affected)

    def _rekey(self, ctx: Context, endpoints: list[Endpoint]) -> None:
        """Move endpoints whose key changed and rebuild the devices they left and joined."""
        touched: set[str] = set()
        for ep in endpoints:
            new = self.key_for(ep.mac, ep.at)
            if new == ep.key:
                continue
            ek = (ep.mac, ep.at)
            self.by_key[ep.key].discard(ek)
            touched.update((ep.key, new))
            ep.key = new
            self.by_key.setdefault(new, set()).add(ek)
        for key in touched:
            members = [self.endpoints[k] for k in self.by_key.get(key, ())]
            ctx.devices.pop(key, None)
            self.peers.pop(key, None)
            if not members:
                self.by_key.pop(key, None)
                continue
            for ep in members:
                self._merge(self._device(ctx, ep), ep)
            dev = ctx.devices.get(key)
            if dev is not None and key.startswith("mac:") and len(self.linker.interfaces(key[4:])) > 1:
                dev.attributes.setdefault(INTERFACES_ATTRIBUTE, set()).update(self.linker.interfaces(key[4:]))

    def _device(self, ctx: Context, ep: Endpoint) -> Device:
        """The device (or, for a remote address, the peer record) an endpoint belongs to now."""
        key = ep.key  # is_device_key without its call: this runs a few times per observation and flow
        home = ctx.devices if not key.startswith("ip:") or local_ip(key[3:], self.site_networks) else self.peers
        dev = home.get(key)
        if dev is None:
            mac = key[4:] if key.startswith("mac:") else None
            dev = Device(key=key, first_seen=ep.first_seen, last_seen=ep.last_seen, mac=mac)
            home[key] = dev
            if mac is not None and self.mac_domains:
                self._domains_of(dev)
        return dev

    def _interface(self, dev: Device, ep: Endpoint) -> None:
        """Record the endpoint's MAC as an interface when the device has several.

        Only a MAC the linker folded into the device is one of its interfaces: a routed sighting
        (the gateway's MAC with the device's address) belongs to the device, its MAC does not.
        """
        if (ep.mac is not None and dev.mac is not None and ep.mac != dev.mac and ep.mac not in self.gateways
                and self.linker.canonical(ep.mac) == dev.mac):
            dev.attributes.setdefault(INTERFACES_ATTRIBUTE, set()).update((dev.mac, ep.mac))

    def _merge(self, dev: Device, ep: Endpoint) -> None:
        self._interface(dev, ep)
        if ep.at is not None and dev.mac is not None and "%" in ep.at:  # its address sighting within a domain
            _record_domain(dev, ep.at.partition("%")[2])
        dev.first_seen = min(dev.first_seen, ep.first_seen)
        dev.last_seen = max(dev.last_seen, ep.last_seen)
        if ep.ip is not None:
            dev.ips.add(ep.ip)
        dev.hostnames |= ep.hostnames
        dev.protocols |= ep.protocols
        for name, values in ep.attributes.items():
            kept = dev.attributes.setdefault(name, set())
            kept.update(sorted(values)[: max(0, MAX_VALUES_PER_ATTRIBUTE - len(kept))])
        dev.packets += ep.packets
        dev.bytes += ep.bytes

    def _span(self, mac: str) -> tuple[float, float] | None:
        eps = [self.endpoints[k] for k in self.by_mac.get(mac, ())]
        if not eps:
            return None
        return min(e.first_seen for e in eps), max(e.last_seen for e in eps)


def _record_domain(dev: Device, domain: str) -> None:
    """Record that ``dev`` was seen in broadcast ``domain`` ("" untagged: :data:`UNTAGGED`), up to
    :data:`MAX_DOMAINS_PER_MAC` domains per device; a device past it keeps its first ones."""
    seen = dev.attributes.get(DOMAINS_ATTRIBUTE)
    if seen is None:
        seen = dev.attributes[DOMAINS_ATTRIBUTE] = set()
    if len(seen) < MAX_DOMAINS_PER_MAC:
        seen.add(domain or UNTAGGED)

