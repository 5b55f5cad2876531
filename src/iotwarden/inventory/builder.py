"""InventoryBuilder: observations and flows -> ``ctx.devices``, from the identity facts each observation
states (inventory/identity.py) gathered per (MAC, IP) endpoint; which device an endpoint belongs to is
:mod:`iotwarden.inventory.resolution`'s answer, and which device a reported record names (an IHE PCD
device row) :mod:`iotwarden.inventory.reported`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.inventory import resolution
from iotwarden.inventory.addresses import is_group_mac, usable_ip, usable_mac, zoned
from iotwarden.inventory.endpoint import seen_at
from iotwarden.inventory.fieldvalues import MAX_VALUE_LEN, ORDERED_FIELDS, attribute_name, dig, field_values, first_item
from iotwarden.inventory.identity import RULES, IdentityRule, ReportRule, attribute_plan, named_values
from iotwarden.inventory.linking import LINK_FACTS
from iotwarden.inventory.reported import MAX_OVERHEARD, PendingFacts, reported
from iotwarden.inventory.resolution import INTERFACES_ATTRIBUTE, Endpoint, EndpointResolver, EvidenceKey
from iotwarden.model import Device, Flow, Observation
from iotwarden.model.observation import link_domain

__all__ = ["CLIENT_ATTRIBUTE", "INTERFACES_ATTRIBUTE", "SERVER_ATTRIBUTE", "InventoryBuilder"]

MAX_HOSTNAMES = 32  # names kept per endpoint
MAX_EVIDENCE_PER_ENDPOINT = 256  # distinct (proto, kind, field, value) facts per endpoint
SERVER_ATTRIBUTE = "service.server"  # application protocols a device answered as the responder of a flow
CLIENT_ATTRIBUTE = "service.client"  # industrial and building protocols a device spoke as a flow's initiator
# Protocols whose client role says where a device belongs (a SCADA master, HMI, engineering station or
# BMS workstation polls the controllers); the common ones (DNS, TLS, HTTP...) say nothing and are not kept.
CLIENT_ROLE_APPS = frozenset({"modbus", "dnp3", "s7comm", "enip", "mms", "bacnet", "fox", "iec104", "c37118",
                              "ads", "fins", "melsec", "melsoft", "pnio_cm"})


class InventoryBuilder(EndpointResolver):
    """Keeps ``ctx.devices`` up to date from every observation and closed flow (analyzer "inventory").

    Each fact is kept on its (MAC, IP) endpoint and on the device the endpoint maps to now
    (:meth:`~iotwarden.inventory.resolution.EndpointResolver.key_for`); ``site_networks`` are CIDR
    blocks besides RFC 1918/6598/4193 and link-local whose hosts are devices of the site.
    """

    name: ClassVar[str] = "inventory"

    def __init__(self, site_networks: tuple[str, ...] = ()) -> None:
        super().__init__(site_networks)
        self.pending = PendingFacts()  # reported facts about MACs not seen yet (inventory/reported.py)
        # overheard facts (802.11 probe requests) of MACs the run has not shown otherwise (reported.py)
        self.overheard = PendingFacts(limit=MAX_OVERHEARD, evict_oldest=True)

    # --- hooks -------------------------------------------------------------------------------------

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        speaker = None
        subject_mac, subject_ip = obs.subject_mac, obs.subject_ip  # properties: read once
        rule = RULES.get(obs.proto)
        if rule is not None and rule.overheard and self._overheard(rule, obs, subject_mac):
            return
        domain = obs.domain
        if not is_group_mac(subject_mac):
            umac = usable_mac(subject_mac)
            if umac is not None and (domain or self.mac_domains):
                self.seen_in(ctx, umac, domain)
            speaker = self._endpoint(ctx, umac, self._at(subject_ip, domain), obs.ts)
        if speaker is not None:
            self._protocol(ctx, speaker, obs.proto, obs.ts)
        if rule is None:
            return
        if speaker is not None and speaker.mac and speaker.at and obs.kind in rule.local_speaker_kinds:
            self._bind(ctx, speaker.at, speaker.mac, obs.ts)
        target = speaker
        if rule.mac_field is not None:
            named = usable_mac(first_item(dig(obs.fields, rule.mac_field)))
            if named is not None and (speaker is None or named != speaker.mac):
                ip = subject_ip if named == usable_mac(subject_mac) else None
                target = self._endpoint(ctx, named, self._at(ip, domain), obs.ts)
                if target is not None:
                    self._protocol(ctx, target, obs.proto, obs.ts)
        if rule.peer:
            self._peer_facts(ctx, rule, obs)
        if target is None:
            return
        if rule.ip_fields and target.mac is not None:
            self._addresses(ctx, rule, obs, target)
        if rule.kinds is None or obs.kind in rule.kinds:
            self._identity(ctx, rule, obs, target)
            if rule.reports is not None:
                self._reports(ctx, rule.reports, obs, target)

    def on_flow(self, ctx: Context, flow: Flow) -> None:
        packets, size, last_seen = flow.packets, flow.bytes, flow.last_seen  # once, for both ends
        silent = not flow.pkts_ba and not flow.app
        vni = flow.extra.get("vni") if flow.extra else None  # engine/flowtable: a list, outermost first
        vnis = tuple(vni) if isinstance(vni, list) and vni else None
        domain = link_domain(flow.vlan, vnis) if flow.vlan or vnis else ""
        for mac, ip in ((flow.a_mac, flow.a_ip), (flow.b_mac, flow.b_ip)):
            if silent and ip == flow.b_ip and mac == flow.b_mac:
                # a responder that never answered and was sent nothing we recognise is not shown to
                # exist: a scan's millions of silent targets must not become devices (shadow IoT) or
                # fill the endpoint tables; one sent a protocol request (a PLC stop) is still its target
                # (tested before the MAC's group bit: for a scan's probe it is the cheaper answer)
                continue
            if is_group_mac(mac):  # sent to a broadcast/multicast group: the address is no host's
                continue
            umac, uip = usable_mac(mac), usable_ip(ip)
            if domain:
                uip = zoned(uip, domain, self.site_networks)
            if umac is not None and (domain or self.mac_domains):
                self.seen_in(ctx, umac, domain)
            ep = self.endpoints.get((umac, uip))
            if ep is None or (umac is not None and ((self.pending.by_mac and umac in self.pending.by_mac)
                                                    or (self.overheard.by_mac and umac in self.overheard.by_mac))):
                ep = self._endpoint(ctx, umac, uip, flow.first_seen)
                if ep is None:
                    continue
                seen_at(ep, last_seen)
                dev = self._device(ctx, ep)
            else:
                # a known endpoint (every flow of a device): what _endpoint and seen_at do for it, with
                # one _device call for both (comparisons in place of min() and max(), as there)
                dev = self._device(ctx, ep)
                first = flow.first_seen
                if first < ep.first_seen:  # noqa: PLR1730 - see above
                    ep.first_seen = first
                if first > ep.last_seen:  # noqa: PLR1730 - see above
                    ep.last_seen = first
                if last_seen < ep.first_seen:  # noqa: PLR1730 - see above (a negative duration)
                    ep.first_seen = last_seen
                if last_seen > ep.last_seen:  # noqa: PLR1730 - see above
                    ep.last_seen = last_seen
                if first < dev.first_seen:  # noqa: PLR1730 - see above
                    dev.first_seen = first
                if first > dev.last_seen:  # noqa: PLR1730 - see above
                    dev.last_seen = first
            ep.packets += packets
            ep.bytes += size
            dev.packets += packets
            dev.bytes += size
            if last_seen > dev.last_seen:  # noqa: PLR1730 - max() without a call, per flow
                dev.last_seen = last_seen
            if flow.app:
                self._protocol(ctx, ep, flow.app, flow.last_seen)
                if ip == flow.b_ip and flow.payload_ba:  # the responder answered with data: it serves this
                    # protocol (a SYN-ACK or RST from a port the engine names by number serves nothing yet)
                    self._server(ctx, ep, flow.app)
                elif ip == flow.a_ip and flow.payload_ab and flow.app in CLIENT_ROLE_APPS:  # it sent requests
                    self._role(ctx, ep, CLIENT_ATTRIBUTE, flow.app)

    def done(self, ctx: Context) -> None:
        """End of input: randomised MACs that shared a name and never overlapped become one device."""
        for root in self.linker.settle(self._span):
            self._relink(ctx, root)
        self.pending.settle()  # reported MACs never seen get no device (inventory/reported.py)
        self.overheard.settle()  # nor do stations only overheard (passers-by probing)

    # --- results for the store ---------------------------------------------------------------------

    def evidence(self) -> dict[str, dict[EvidenceKey, list[float]]]:
        """Per device key, each identity fact with [first seen, last seen, count]."""
        out: dict[str, dict[EvidenceKey, list[float]]] = {}
        for ep in self.endpoints.values():
            if not self.is_device_key(ep.key):
                continue
            facts = out.setdefault(ep.key, {})
            for ek, (first, last, count) in ep.evidence.items():
                if ek in facts:
                    f = facts[ek]
                    facts[ek] = [min(f[0], first), max(f[1], last), f[2] + count]
                else:
                    facts[ek] = [first, last, count]
        return out

    # --- facts -------------------------------------------------------------------------------------

    def _protocol(self, ctx: Context, ep: Endpoint, proto: str, ts: float) -> None:
        ep.protocols.add(proto)
        dev = self._device(ctx, ep)
        dev.protocols.add(proto)
        if ts < dev.first_seen:  # noqa: PLR1730 - min() and max() without calls: once per observation
            dev.first_seen = ts
        if ts > dev.last_seen:  # noqa: PLR1730 - as above
            dev.last_seen = ts

    def _server(self, ctx: Context, ep: Endpoint, app: str) -> None:
        self._role(ctx, ep, SERVER_ATTRIBUTE, app)

    def _role(self, ctx: Context, ep: Endpoint, attribute: str, app: str) -> None:
        dev = self._device(ctx, ep)
        for holder in (ep.attributes, dev.attributes):
            values = holder.setdefault(attribute, set())
            if len(values) < resolution.MAX_VALUES_PER_ATTRIBUTE:
                values.add(app)

    def _addresses(self, ctx: Context, rule: IdentityRule, obs: Observation, target: Endpoint) -> None:
        assert target.mac is not None  # guarded by the caller
        for path in rule.ip_fields:
            for text in field_values(dig(obs.fields, path), False):
                ip = self._at(text, obs.domain)
                if ip is None:
                    continue
                if rule.binds:
                    self._bind(ctx, ip, target.mac, obs.ts)
                ep = self._endpoint(ctx, target.mac, ip, obs.ts)
                if ep is not None:
                    self._protocol(ctx, ep, obs.proto, obs.ts)

    @staticmethod
    def _found(rule: IdentityRule, obs: Observation) -> list[tuple[str, object]]:
        """The (attribute name, raw value) pairs ``rule`` reads from ``obs``, in the inventory's order; none from a
        message its sender relays from another network (IdentityRule.relayed)."""
        fields = obs.fields
        if rule.relayed and _relayed(rule, obs):
            return []
        leading, trailing = attribute_plan(obs.proto, obs.kind)
        # absent fields are skipped here: they give no value (field_values(None) is empty)
        found: list[tuple[str, object]] = [(name, raw) for name, path, top in leading
                                           if (raw := fields.get(path) if top else dig(fields, path)) is not None]
        if rule.pairs or rule.spread:
            proto = rule.vocabulary or obs.proto
            found += [(f"{proto}.{name}", value) for name, value in named_values(rule, fields)]
        found += [(name, raw) for name, path, top in trailing
                  if (raw := fields.get(path) if top else dig(fields, path)) is not None]
        return found

    def _overheard(self, rule: IdentityRule, obs: Observation, subject_mac: str | None) -> bool:
        """An overheard message (IdentityRule.overheard) from a MAC the run has not shown otherwise: its
        facts are held for that MAC (inventory/reported.py) and it makes no endpoint; True when handled so.
        False for a MAC already shown: the message is then read as any other."""
        mac = usable_mac(subject_mac) if not is_group_mac(subject_mac) else None
        if mac is not None and mac in self.by_mac:
            return False
        if mac is not None and (rule.kinds is None or obs.kind in rule.kinds):
            for name, raw in self._found(rule, obs):
                for value in field_values(raw, name.split(".", 1)[1] in ORDERED_FIELDS):
                    self.overheard.hold(mac, name, value, obs)
        return True

    def _identity(self, ctx: Context, rule: IdentityRule, obs: Observation, ep: Endpoint) -> None:
        dev = self._device(ctx, ep)
        found = self._found(rule, obs)
        self._attributes(ep, dev, obs, found)
        for path in rule.hostnames:
            for value in field_values(dig(obs.fields, path), False):
                name = value.strip().rstrip(".")
                if not name:
                    continue
                for names in (ep.hostnames, dev.hostnames):
                    if len(names) < MAX_HOSTNAMES:
                        names.add(name)
        if ep.mac is not None and ep.mac not in self.gateways:
            for name, raw in found:
                if name in LINK_FACTS:
                    for value in field_values(raw, False):
                        self._link(ctx, name, value, ep.mac)

    def _reports(self, ctx: Context, rule: ReportRule, obs: Observation, sender: Endpoint) -> None:
        """Facts about the devices a message reports, each placed as inventory/reported.py says."""
        for record in reported(rule, obs.fields, sender.mac):
            named = [(f"{obs.proto}.{suffix}", value) for suffix, value in record.facts]
            target: Endpoint | None = sender
            if not record.own:  # the sender speaks for another device: it is that device's gateway
                gateway = self._device(ctx, sender)
                for _, value in named:
                    self._attribute(sender, gateway, obs, f"{obs.proto}.{rule.relayed}", value)
                keys = self.by_mac.get(record.mac) if record.mac is not None else None
                target = self.endpoints[min(keys, key=str)] if keys else None  # any endpoint: one device
            if target is None:  # a MAC not seen yet waits for it; no MAC: only the gateway's fact
                if record.mac is not None:
                    for name, value in named:
                        self.pending.hold(record.mac, name, value, obs)
                continue
            dev = self._device(ctx, target)
            for name, value in named:
                self._attribute(target, dev, obs, name, value)

    def _endpoint(self, ctx: Context, mac: str | None, ip: str | None, ts: float) -> Endpoint | None:
        ep = super()._endpoint(ctx, mac, ip, ts)
        if ep is not None and mac is not None and self.pending.by_mac and mac in self.pending.by_mac:
            dev = self._device(ctx, ep)  # a MAC a report named earlier: its facts join it now
            for name, value, obs in self.pending.take(mac):
                self._attribute(ep, dev, obs, name, value)
        if ep is not None and mac is not None and self.overheard.by_mac and mac in self.overheard.by_mac:
            for name, value, obs in self.overheard.take(mac):  # the station is on the network: what it
                self._protocol(ctx, ep, obs.proto, obs.ts)  # said before it showed counts now
                self._attribute(ep, self._device(ctx, ep), obs, name, value)
        return ep

    def _at(self, ip: object, domain: str) -> str | None:
        """A usable address as the endpoint tables key it: zoned in its broadcast domain (addresses.zoned)."""
        uip = usable_ip(ip)
        return zoned(uip, domain, self.site_networks) if domain else uip

    def _peer_facts(self, ctx: Context, rule: IdentityRule, obs: Observation) -> None:
        """Facts a message states about the end that is not its subject (IdentityRule.peer)."""
        wanted = [path for kind, path in rule.peer if kind == obs.kind]
        if not wanted:
            return
        mac, ip = (obs.src_mac, obs.src_ip) if obs.subject == "dst" else (obs.dst_mac, obs.dst_ip)
        if is_group_mac(mac):
            return
        ep = self._endpoint(ctx, usable_mac(mac), self._at(ip, obs.domain), obs.ts)
        if ep is None:
            return
        dev = self._device(ctx, ep)
        for path in wanted:
            self._attribute(ep, dev, obs, attribute_name(obs.proto, path), dig(obs.fields, path))

    def _attribute(self, ep: Endpoint, dev: Device, obs: Observation, name: str, raw: object) -> None:
        """Keep the values of attribute ``name`` ("<proto>.<field>"): :meth:`_attributes` for one."""
        self._attributes(ep, dev, obs, ((name, raw),))

    def _attributes(self, ep: Endpoint, dev: Device, obs: Observation, found: Iterable[tuple[str, object]]) -> None:
        """Keep the values of each attribute ``name`` ("<proto>.<field>") of ``found`` on the endpoint and
        its device.

        Runs for most observations, for all their attributes at once: a text value skips field_values. Each
        value is also an evidence fact of the endpoint, (proto, kind, field, value) with its first and last
        time and count, kept up to ``MAX_EVIDENCE_PER_ENDPOINT`` facts."""
        evidence, ts, proto, kind = ep.evidence, obs.ts, obs.proto, obs.kind
        on_eps, on_devs = ep.attributes, dev.attributes
        limit, max_evidence = resolution.MAX_VALUES_PER_ATTRIBUTE, MAX_EVIDENCE_PER_ENDPOINT
        for name, raw in found:
            field_name = name.split(".", 1)[1]
            if raw.__class__ is str:
                values = [raw[:MAX_VALUE_LEN]] if raw else []  # field_values of a text, without the call
            else:
                values = field_values(raw, field_name in ORDERED_FIELDS)
            if not values:
                continue
            # get before setdefault: an attribute is nearly always there already, and setdefault would
            # build an empty set for every call
            on_ep = on_eps.get(name)
            if on_ep is None:
                on_ep = on_eps[name] = set()
            on_dev = on_devs.get(name)
            if on_dev is None:
                on_dev = on_devs[name] = set()
            for value in values:
                ek = (proto, kind, field_name, value)
                fact = evidence.get(ek)
                if fact is not None:
                    if ts < fact[0]:  # noqa: PLR1730 - min() and max() without calls: per attribute value
                        fact[0] = ts
                    if ts > fact[1]:  # noqa: PLR1730 - as above
                        fact[1] = ts
                    fact[2] += 1
                elif len(evidence) < max_evidence:
                    evidence[ek] = [ts, ts, 1]
                if len(on_ep) < limit:
                    on_ep.add(value)
                if len(on_dev) < limit:
                    on_dev.add(value)

    def _link(self, ctx: Context, name: str, value: str, mac: str) -> None:
        """``mac`` holds an identifying fact: when another MAC held it first, both are one device."""
        root = self.linker.offer(name, value, mac, self._span)
        if root is not None:
            self._relink(ctx, root)


def _relayed(rule: IdentityRule, obs: Observation) -> bool:
    """Whether ``obs`` is a message its sender relays from another device (IdentityRule.relayed): a relayed field
    present and, where it names the original source's address ('ip:port'), another address than the sender's (a BBMD
    forwards its own broadcasts to its peers too, naming itself, ASHRAE 135 Annex J.4.5)."""
    for name in rule.relayed:
        value = obs.fields.get(name)
        if value is None or (isinstance(value, str) and obs.src_ip and value.rpartition(":")[0] == obs.src_ip):
            continue
        return True
    return False
