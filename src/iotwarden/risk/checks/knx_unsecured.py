"""risk.knx.unsecured: a KNXnet/IP interface or router that carries tunnelling, device-management or routing traffic in
cleartext (cEMI frames outside a KNX IP Secure SECURE_WRAPPER, AN159), or that does not advertise the security service
family in its SEARCH/DESCRIPTION responses (KNX 03.08.02 §7.5.4.3): any host on the LAN can then switch the building's
lights, blinds and HVAC through it, or reprogram its bus devices.

The finding is about the KNX IP device that accepts such frames, never about whoever sent them. A tunnel's device is
its end on port 3671 (03.08.04: the server). A routed frame is sent to a multicast group that every KNXnet/IP router
and KNX IP device of the group receives and forwards to its bus (03.08.05 §2.5), so any host can send one; the
devices that accept it are those that announced the routing family for that group in their SEARCH/DESCRIPTION answers
(inventory/knx.py ``routing_members``), and cleartext routing is a finding on each of them, its evidence naming the
senders (``routed_by``), the router's own forwarded telegrams included. The sender of routed frames is no subject of
its own: an intruder's tool or ETS sends the same. Routed frames to a group nobody announced are counted unresolved.
Routing multicast stays in its broadcast domain (a VLAN or VNI; inventory/knx.py): a group's routed frames fall on
the routers that announced it in the frames' domain, each endpoint within it (risk/subjects.endpoint), so on a trunk
one VLAN's routed frames never land on another VLAN's router of the same group or address.
"""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.inventory.knx import KnxDevices
from iotwarden.model import Observation
from iotwarden.model.finding import Finding, Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check, Hit
from iotwarden.risk.subjects import Endpoint, SubjectIndex, endpoint, endpoint_of

PORT = 3671  # KNXnet/IP servers' port (dissect/knxip.py)
AN159 = "KNX AN159 KNXnet/IP Secure (KNX IP Secure: secure tunnelling and secure routing, ISO 22510)"
# cleartext services whose cEMI frames switch and program the bus, and the KNXnet/IP family each belongs to
CLEARTEXT = {"tunnelling_request": "tunnelling", "device_configuration_request": "device_management",
             "routing_indication": "routing", "routing_system_broadcast": "routing"}
ANSWERS = frozenset({"search_response", "search_response_ext", "description_response"})
MAX_ROUTING_SENDERS = 1024  # (group, sender) pairs of cleartext routed frames remembered until the findings


class KnxUnsecured(Check):
    """The KNX/IP device seen carrying cleartext KNXnet/IP traffic (high: the bus is open to the LAN now), or
    answering a search or description without the security family (medium: it cannot protect the bus). The device
    of a tunnel is the end on port 3671; of routing, each device announcing the routing family for the group."""

    id: ClassVar[str] = "risk.knx.unsecured"
    title: ClassVar[str] = "KNX/IP interface or router without KNX IP Secure"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = (
        "Enable KNX IP Secure on the interface or router (secure tunnelling with per-tunnel passwords, secure "
        "routing with a backbone key, set in ETS) and KNX Data Secure on the bus devices, replace KNX IP devices "
        "that cannot, and keep KNXnet/IP (udp/tcp 3671, multicast 224.0.23.12) on a separate building-automation "
        "network that only the visualisation and the engineering station (ETS) reach.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_DATA_PROTECTION, ref.NIST_LOGICAL_ACCESS,
                                             ref.ETSI_BEST_PRACTICE_CRYPTO, ref.ETSI_AUTHENTICATED_ACCESS,
                                             ref.ETSI_AUTHENTICATED_CONFIG, ref.CWE_CLEARTEXT, ref.CWE_MISSING_AUTH,
                                             AN159)
    protos: ClassVar[frozenset[str]] = frozenset({"knxip"})

    def __init__(self) -> None:
        super().__init__()
        self._knx = KnxDevices()
        # (domain, group, sender) -> the sender's cleartext frames routed to the group in that broadcast domain
        self._routed: dict[tuple[str, str | None, Endpoint], Hit] = {}

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        f = obs.fields
        if obs.kind in ANSWERS:
            self._knx.see(obs)
            if f.get("secure") is False:
                self.hit_subject(obs, "medium", advertised="no security service family",
                                 service_families=[str(s) for s in f.get("service_families", [])],
                                 name=str(f.get("friendly_name", "")))
            return
        family = CLEARTEXT.get(obs.kind)
        if family is None:
            return
        if family == "routing":
            self._routing(obs)
            return
        server_side = "src" if obs.src_port == PORT and obs.dst_port != PORT else "dst"
        peer = obs.dst_ip if server_side == "src" else obs.src_ip
        self.hit(endpoint_of(obs, server_side), obs.ts, cleartext=family, peers=peer or "")

    def _routing(self, obs: Observation) -> None:
        sender = endpoint_of(obs, "src")
        key = (obs.domain, obs.dst_ip, sender)
        found = self._routed.get(key)
        if found is None:
            if len(self._routed) >= MAX_ROUTING_SENDERS:
                self.dropped += 1
                return
            found = self._routed[key] = Hit(obs.ts, obs.ts, self.severity)
        found.add(obs.ts, self.severity, {"cleartext": "routing", "routed_by": sender[1] or sender[0] or ""})

    def findings(self, ctx: Context, subjects: SubjectIndex) -> list[Finding]:
        """The hits, and each group's cleartext routed frames placed on the devices routing that group (on copies:
        the monitor asks again as the run goes on)."""
        placed = {device: _copy(found) for device, found in self.hits.items()}
        for (domain, group, _sender), routed in self._routed.items():
            members = self._knx.routing_members(group, domain)
            if not members:
                subjects.unresolved += 1
            for ip, mac in members:
                member = endpoint(mac, ip, domain)
                if member in placed:
                    placed[member].merge(routed)
                else:
                    placed[member] = _copy(routed)
        merged = self.by_device(placed, subjects)
        return [self.finding(key, found) for key, found in sorted(merged.items())]


def _copy(found: Hit) -> Hit:
    out = Hit(found.first_seen, found.last_seen, found.severity)
    out.merge(found)
    return out
