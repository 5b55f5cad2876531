"""risk.knx.duplicate_address: one KNX individual address announced by several KNX IP devices of one installation.

An individual address identifies one device of a KNX installation (KNX 03.03.02 network layer; KNX Association, KNX
Basic Course "System overview" §3.1: "an individual address uniquely identifies a device"; ETS assigns them, and KNX
IP interface manuals ask that no other bus device use one, e.g. Siemens A6V11656895, tunnelling addresses). A KNXnet/IP
server announces its own in the DEVICE_INFO DIB of its SEARCH and DESCRIPTION responses, with the project-installation
identifier ETS wrote (KNX 03.08.02 §7.5.4.2; dissect/knxip.py ``individual_address``, ``project_installation_id``):
the installation, the domain in which the address must be unique (two apartments' separate projects may both use
1.1.1). Two devices of one installation answering one address is a misconfiguration: an ETS download, a property or
memory write for it reaches both (inventory/knx.py calls such a target ``ambiguous``), so one device gets the other's
application or parameters.

Two cases, told apart because they need different work:
- the factory default 15.15.255 (0xFFFF, KNX 03.05.02 §2.3) on several devices: uncommissioned devices, no conflict
  in the project yet, but devices nobody commissioned sit on the network (low); medium when one of them announces
  programming mode, in which it takes the next A_IndividualAddress_Write broadcast on the bus, whoever sends it;
- a commissioned address on several devices (a device copied into the project twice, a replacement programmed while
  the old one still runs): a real conflict (medium); high once a program or config write (memory, property, key or
  address write: dissect/cemi.py ``operation``) to that address in that installation is seen, because it
  reached every holder.

A write belongs to the installation of the KNX IP device that carried it onto the bus: the interface or router it
was tunnelled or sent to (its unicast receiver, 03.08.04, 03.08.03), or, for a frame routed to a multicast group
(03.08.05 §2.5), the router that sent it, else the routers that announced the routing family for that group when
they all announce one installation (every router of the group receives it). A tunnel's server may take its frames
at another data endpoint than the control endpoint it answers from: the CONNECT_RESPONSE names it (its HPAI, 03.08.02
§7.8.2, the endpoint TUNNELLING_REQUESTs then go to, 03.08.04 §4.4.6), so a write to that endpoint is the answering
server's. The installation is the one that device last announced in its DEVICE_INFO DIB; a write it carried before it
announced any (a capture that starts after ETS's search) waits for the device's next DESCRIPTION or SEARCH answer
(ETS describes an interface each time it connects, and searches again), which places it: the device is known, only
its installation was not yet (as many writes wait as MAX_WRITTEN, LRU). A write whose installation cannot be told that
way (its carrier never announces itself, or the group's routers belong to several installations) is remembered for
none: 1.1.5 of one ETS project says nothing of another project's 1.1.5 (two apartments, one LAN), so raising any
installation's duplicate on it would blame a finding on a write that may have been for another; it stays medium. For
that reason neither the individual address a CONNECT_RESPONSE's CRD assigns the tunnel (03.08.04 §4.4.4) nor a
telegram's KNX source address places a write: they name a device of a line, which any installation may number alike.

The finding is on each announcer (one per device, its address and installation in the evidence, the other holders
named in ``shared_with``), not on the line's router: the fix is reprogramming one of the devices, which only the
engineer can choose, and the line's coupler is often not announced at all (15.15.255 has no line). A device that
announces another address (ETS re-addressed it) leaves its old one and the finding clears.

Everything is kept per broadcast domain (Observation.domain: a VLAN or VNI; inventory/knx.py), as the inventory keys
hosts: a tagged frame's carriers and announcers by their zoned address (``192.168.1.21%vlan20``, addresses.zoned;
a MAC-only host ``<mac>%vlan20``), its individual addresses as ``1.1.10%vlan20`` within their installation, so on a
trunk two VLANs' copies of one ETS project (the same installation identifier, IP and individual addresses) are two
installations: neither's devices are the other's duplicates, nor is a write on one VLAN the other's. Untagged
frames keep plain keys, as before.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.inventory.addresses import unzoned, zoned
from iotwarden.inventory.knx import ANNOUNCING, DEFAULT_ADDRESS, MAX_ANNOUNCERS, KnxDevices, unicast
from iotwarden.model import Observation
from iotwarden.model.finding import Finding, Severity
from iotwarden.model.otops import OPERATION
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check, Hit
from iotwarden.risk.subjects import Endpoint, SubjectIndex, endpoint_of

MAX_ADDRESSES = 4096  # (installation, address) pairs whose announcers are remembered (LRU), and as many devices
MAX_WRITTEN = 4096  # (installation, address) places a program or config write was seen for (LRU)
WRITES = frozenset({"program", "config"})  # cemi.operation classes that change what a device does
KNX_BASICS = "KNX Association, KNX Basic Course: System overview §3.1 (individual addresses are unique)"
Place = tuple[int | None, str]  # (project-installation identifier, individual address; zoned when tagged, _within)


def _within(name: str | None, domain: str) -> str | None:
    """An individual address or a MAC within broadcast ``domain`` (``1.1.10%vlan20``; itself untagged)."""
    return f"{name}%{domain}" if name and domain else name


def _host(ip: str | None, mac: str | None, domain: str) -> str | None:
    """A KNX IP device as the installation table keys it: its IP (zoned: addresses.zoned), else its MAC, within
    ``domain``."""
    return zoned(ip, domain) if ip else _within(mac, domain)


@dataclass(slots=True)
class Announcement:
    """What one device announced of its address: when, under which name, and whether in programming mode."""

    first_seen: float
    last_seen: float
    name: str = ""
    programming: bool = False


class KnxDuplicateAddress(Check):
    """Each KNX IP device announcing an individual address another device of its installation announces too: low
    (medium in programming mode) for the factory default 15.15.255, medium (high once written to) otherwise."""

    id: ClassVar[str] = "risk.knx.duplicate_address"
    title: ClassVar[str] = "KNX individual address announced by several devices"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = (
        "Give every KNX device of the installation its own individual address in ETS: commission the devices still "
        "at 15.15.255 one at a time (programming button), reprogram the duplicate to a free address of its line "
        "(check it with ETS's 'Individual Addresses' scan of the line), and download the devices whose memory was "
        "written while the address was shared again.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_IDENTIFICATION, ref.NIST_CONFIGURATION,
                                             ref.ETSI_AUTHENTICATED_CONFIG, ref.CWE_WRONG_SPHERE, KNX_BASICS)
    protos: ClassVar[frozenset[str]] = frozenset({"knxip"})

    def __init__(self, limit: int = MAX_ADDRESSES, written: int = MAX_WRITTEN) -> None:
        super().__init__()
        self._places: OrderedDict[Place, OrderedDict[Endpoint, Announcement]] = OrderedDict()
        self._place_of: OrderedDict[Endpoint, Place] = OrderedDict()  # each device's last announced place
        self._written: OrderedDict[Place, float] = OrderedDict()  # place -> last program/config write to it
        self._installation_of: OrderedDict[str, int | None] = OrderedDict()  # IP (else MAC) -> its installation
        self._routers = KnxDevices(limit)  # which devices route for which multicast group
        # carrier (IP, else MAC) -> address -> last write to it, while the carrier has not announced its installation
        self._waiting: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()
        self._waiting_count = 0
        self._server_of: OrderedDict[str, str] = OrderedDict()  # a tunnel's data endpoint IP -> its server's (limit)
        self._limit, self._written_limit = limit, written

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        f = obs.fields
        if obs.kind in ANNOUNCING:
            address, project = f.get("individual_address"), f.get("project_installation_id")
            device = endpoint_of(obs, "src")
            if isinstance(address, str) and device != (None, None):
                place = (project if isinstance(project, int) else None, _within(address, obs.domain) or address)
                self._announce(place, device, obs)
            self._routers.see(obs)
        elif obs.kind == "connect_response" and f.get("status") == "E_NO_ERROR":
            self._data_endpoint(obs)
        elif f.get(OPERATION) in WRITES and f.get("destination_type") == "individual":
            address, (known, installation), carrier = f.get("destination"), self._installation(obs), self._carrier(obs)
            address = _within(address, obs.domain) if isinstance(address, str) else None
            if isinstance(address, str) and known:
                self._written_to((installation, address), obs.ts)
            elif isinstance(address, str) and carrier is not None:
                self._wait(carrier, address, obs.ts)

    def _written_to(self, place: Place, ts: float) -> None:
        self._written[place] = max(ts, self._written.get(place, ts))
        self._written.move_to_end(place)
        if len(self._written) > self._written_limit:
            self._written.popitem(last=False)

    def _carrier(self, obs: Observation) -> str | None:
        """The KNX IP device that carried a write onto the bus, by IP (else MAC): its unicast receiver (the server
        whose data endpoint that is, unless the receiver announced itself), else, routed to a multicast group, its
        sender."""
        if unicast(obs.dst_ip):
            receiver = zoned(obs.dst_ip, obs.domain) or ""
            if receiver not in self._installation_of:
                receiver = self._server_of.get(receiver, receiver)
            return receiver or _within(obs.dst_mac, obs.domain)
        return _host(obs.src_ip, obs.src_mac, obs.domain)

    def _installation(self, obs: Observation) -> tuple[bool, int | None]:
        """(known, installation) of the KNX IP device that carried a write onto the bus (module docstring)."""
        if unicast(obs.dst_ip):
            return self._known(self._carrier(obs))
        sender = self._known(_host(obs.src_ip, obs.src_mac, obs.domain))
        if sender[0]:
            return sender
        routers = {self._known(_host(ip, mac, obs.domain))
                   for ip, mac in self._routers.routing_members(obs.dst_ip, obs.domain)}
        return routers.pop() if len(routers) == 1 else (False, None)

    def _data_endpoint(self, obs: Observation) -> None:
        """A CONNECT_RESPONSE's data endpoint (03.08.02 §7.8.2) at another IP than the server answering: the
        server's. An HPAI of 0.0.0.0 (route back, NAT) names no other endpoint."""
        endpoint = str(obs.fields.get("data_endpoint") or "").rpartition(":")[0]
        if not obs.src_ip or not unicast(endpoint) or endpoint == obs.src_ip:
            return
        endpoint, server = zoned(endpoint, obs.domain) or endpoint, zoned(obs.src_ip, obs.domain) or obs.src_ip
        self._server_of[endpoint] = server
        self._server_of.move_to_end(endpoint)
        if len(self._server_of) > self._limit:
            self._server_of.popitem(last=False)

    def _wait(self, carrier: str, address: str, ts: float) -> None:
        """A write whose carrier has not announced its installation yet: placed when it does (module docstring)."""
        writes = self._waiting.setdefault(carrier, OrderedDict())
        self._waiting.move_to_end(carrier)
        self._waiting_count += address not in writes
        writes[address] = ts
        writes.move_to_end(address)
        while self._waiting_count > self._written_limit:
            oldest = next(iter(self._waiting.values()))
            oldest.popitem(last=False)
            self._waiting_count -= 1
            if not oldest:
                self._waiting.popitem(last=False)

    def _known(self, host: str | None) -> tuple[bool, int | None]:
        """(announced, installation) of the device at ``host`` (its IP, else its MAC)."""
        if host is None or host not in self._installation_of:
            return False, None
        return True, self._installation_of[host]

    def _announce(self, place: Place, device: Endpoint, obs: Observation) -> None:
        previous = self._place_of.get(device)
        if previous is not None and previous != place:  # re-addressed (or moved to another project) by ETS
            left = self._places.get(previous)
            if left is not None:
                left.pop(device, None)
                if not left:
                    del self._places[previous]
        self._place_of[device] = place
        self._place_of.move_to_end(device)
        if len(self._place_of) > self._limit:
            self._place_of.popitem(last=False)
        host = _host(obs.src_ip, obs.src_mac, obs.domain)  # as _carrier names the device (device[1] is its zoned IP)
        if host is not None:
            self._installation_of[host] = place[0]
            self._installation_of.move_to_end(host)
            if len(self._installation_of) > self._limit:
                self._installation_of.popitem(last=False)
        for known in {host, _within(device[0], obs.domain)} - {None}:  # writes it carried before: in its installation
            waited = self._waiting.pop(str(known), None)
            for address, ts in (waited or {}).items():
                self._waiting_count -= 1
                self._written_to((place[0], address), ts)
        holders = self._places.setdefault(place, OrderedDict())
        self._places.move_to_end(place)
        if len(self._places) > self._limit:
            self._places.popitem(last=False)
        seen = holders.get(device)
        if seen is None:
            seen = holders[device] = Announcement(obs.ts, obs.ts)
            if len(holders) > MAX_ANNOUNCERS:
                holders.popitem(last=False)
                self.dropped += 1
        holders.move_to_end(device)
        seen.first_seen, seen.last_seen = min(seen.first_seen, obs.ts), max(seen.last_seen, obs.ts)
        seen.name = str(obs.fields.get("friendly_name") or seen.name)
        seen.programming = obs.fields.get("programming_mode") is True  # the last answer tells its mode now

    def findings(self, ctx: Context, subjects: SubjectIndex) -> list[Finding]:
        """A hit on every holder of each (installation, address) announced by more than one device."""
        placed: dict[Endpoint, Hit] = {}
        for (project, address), holders in self._places.items():
            if len(holders) < 2:
                continue
            severity, reasons = self._judge((project, address), holders)
            names = {device: device[1] or device[0] or "" for device in holders}
            for device, seen in holders.items():
                found = placed[device] = Hit(seen.first_seen, seen.last_seen, severity)
                found.add(seen.last_seen, severity, {
                    "address": unzoned(address), "reasons": reasons, "name": seen.name,
                    "installation": f"0x{project:04x}" if project is not None else [],
                    "shared_with": [names[other] for other in holders if other != device]})
        merged = self.by_device(placed, subjects)
        return [self.finding(key, found) for key, found in sorted(merged.items())]

    def _judge(self, place: Place, holders: OrderedDict[Endpoint, Announcement]) -> tuple[Severity, list[str]]:
        """The severity of one shared address of one installation and why (module docstring)."""
        address = unzoned(place[1])
        if address == DEFAULT_ADDRESS:
            reasons = [f"factory default {DEFAULT_ADDRESS}: {len(holders)} devices not commissioned"]
            if any(seen.programming for seen in holders.values()):
                return "medium", [*reasons, "in programming mode: takes the next individual address write"]
            return "low", reasons
        reasons = [f"commissioned address held by {len(holders)} devices"]
        if place in self._written:
            return "high", [*reasons, "a program or config write for it in this installation reached every holder"]
        return "medium", reasons
