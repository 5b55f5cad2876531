"""What every detector shares: options with defaults (STYLE 3), raising an Alert, and the few flow and
address facts detectors reason with (failed connection attempt, internal address, device category).
"""

from __future__ import annotations

import bisect
import ipaddress
import math
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any, ClassVar

from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation
from iotwarden.model.alert import Alert
from iotwarden.model.finding import Severity
from iotwarden.model.ipv4 import LIMITED_BROADCAST4, MULTICAST4, UNSPECIFIED4, in_table, ipv4_int, octet_table, ranges4

SYN, RST, ACK = 0x02, 0x04, 0x10  # TCP flags, RFC 9293 §3.1
# Zeek conn_state values of a TCP attempt that never carried data (Zeek base/protocols/conn/main.zeek)
# RSTO with no bytes: a SYN answered SYN-ACK and reset by the prober (history ShR: a raw-socket SYN scan, Mirai's
# scanner.c or nmap -sS, meeting an open port; from packets the same flow is a failed attempt too)
FAILED_STATES = frozenset({"S0", "REJ", "RSTO", "RSTOS0", "RSTR", "RSTRH", "SH", "SHR", "OTH"})
ESTABLISHED_STATES = frozenset({"SF", "S1", "S2", "S3", "RSTO", "RSTR"})
MAX_EVIDENCE_FLOWS = 8  # flows a detector attaches to one detection
MAX_IP_HOLDERS = 100_000  # addresses whose holding device subject_key remembers (ctx.ip_holders)
MAX_PENDING_FLOWS = 100_000  # closed flows held until the next tick to be handled in time order
# Server ports device clouds and everyday services use (IANA service names): web 80/443/8080/8443, MQTT
# 1883/8883 (OASIS MQTT 5.0 §4.2), mail 25/465/587/993/995, DNS 53/853, NTP 123, XMPP and push
# 5222/5223/5228, STUN/TURN 3478/5349 and Google's 19302. A C&C server on any other port is T1571
# Non-Standard Port; Telnet 23/2323, SSH 22 and IRC 6660-6669/6697 are not here on purpose: a device
# calling out on them is what IoT bots do (Mirai's C&C listens on 23, IRC bots such as Muhstik and
# Kaiten use IRC).
SERVICE_PORTS = frozenset({25, 53, 80, 123, 443, 465, 587, 853, 993, 995, 1883, 3478, 5222, 5223, 5228, 5349,
                           8080, 8443, 8883, 19302})
IT_CATEGORIES = frozenset({"it", "network"})  # classifier categories that are not IoT/OT
IOT_CATEGORIES = frozenset({"iot", "ot", "building", "medical"})
_FIRST_SEEN = attrgetter("first_seen")
_SINCE = itemgetter(0)

# The ranges (lowest, highest; both allowed) a detector declares for its numeric options next to their
# defaults (``Options.bounds``), checked once at configure time. What each kind of tunable may be:
Range = tuple[float, float]
YEARS_10_S = 3650 * 86400.0
SECONDS: Range = (0.001, YEARS_10_S)  # a window, period or timeout: longer than nothing, at most ten years
DURATION: Range = (0.0, YEARS_10_S)  # a learning phase, wait or re-alert delay, where 0 means none
COUNT: Range = (1, 1_000_000_000)  # how many of something make a detection
ENTRIES: Range = (1, 100_000_000)  # what a bounded table keeps (each entry costs memory)
BYTES: Range = (0, 2**63 - 1)  # a byte count (the store's 64-bit integers)
SHARE: Range = (0.0, 1.0)  # a fraction or a score between 0 and 1


@dataclass(frozen=True)
class Options:
    """Base of each detector's options: a frozen dataclass whose fields are the tunables, and ``bounds``,
    the range of each numeric one (every int and float field has one: ``tests/detect/test_base.py``)."""

    bounds: ClassVar[dict[str, Range]] = {}

    def updated(self, values: dict[str, Any] | None, where: str = "") -> Options:
        """A copy with ``values`` applied; an unknown name, a wrong type or a value outside the option's
        declared range is a ConfigError naming ``where.option`` (``where``: the detector's name)."""
        if not values:
            return self
        where = where or type(self).__qualname__
        known = {f.name: f for f in fields(self)}
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ConfigError(f"{where}: unknown option {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool) != isinstance(value, bool) or not isinstance(value, type(current) | int):
                raise ConfigError(f"{where}.{name}: expected {type(current).__name__}, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):  # YAML's .nan/.inf: no threshold or window
                raise ConfigError(f"{where}.{name}: expected a finite number, got {value!r}")
            if name in self.bounds and not self.bounds[name][0] <= value <= self.bounds[name][1]:
                low, high = self.bounds[name]
                raise ConfigError(f"{where}.{name}: expected {_number(low)} to {_number(high)}, got {value!r}")
            out[name] = type(current)(value)
        return replace(self, **out)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"


class Detector:
    """Base of detectors: ``ids`` lists the stable ids it raises, ``options`` its tunables."""

    name: ClassVar[str] = ""
    ids: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[Options] = Options()

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options: Any = self.defaults.updated(options, self.name)
        self._pending: list[Flow] = []
        self._whole: list[Flow] | None = None  # a batch held as it was handed over (nothing else held)

    # The engine closes flows in batches, in no particular order; baselines need time order. Flows
    # are held until the tick that ends their batch and handed to ``flow`` sorted by start time.
    def on_flow(self, ctx: Context, flow: Flow) -> None:
        self._unshare()
        self._pending.append(flow)
        if len(self._pending) >= MAX_PENDING_FLOWS:
            self.drain_flows(ctx)

    def on_flows(self, ctx: Context, flows: list[Flow]) -> None:
        """A batch of closed flows at once (the add-on manager prefers this hook): held like
        :meth:`on_flow`'s, without a call per flow; a subclass that overrides ``on_flow`` gets each.
        A batch that is all a detector holds is kept as handed over (the manager hands every
        detector the same list, and its callers leave a batch as it is once handed over), so its
        time order is found once for all of them."""
        if type(self).on_flow is not Detector.on_flow:
            for flow in flows:
                self.on_flow(ctx, flow)
            return
        if type(self).flows is Detector.flows and type(self).flow is Detector.flow:
            return  # a detector of observations only: held flows would each meet the empty flow()
        if self._whole is None and not self._pending:
            self._whole = flows
            if len(flows) >= MAX_PENDING_FLOWS:
                self.drain_flows(ctx)
            return
        self._unshare()
        self._pending.extend(flows)
        if len(self._pending) >= MAX_PENDING_FLOWS:
            self.drain_flows(ctx)

    def _unshare(self) -> None:
        """More flows join a batch held whole: it becomes held flows of this detector's own."""
        if self._whole is not None:
            self._pending, self._whole = list(self._whole), None

    def on_tick(self, ctx: Context, ts: float) -> None:
        self.drain_flows(ctx)

    def done(self, ctx: Context) -> None:
        self.drain_flows(ctx)

    def drain_flows(self, ctx: Context) -> None:
        if self._whole is not None:
            whole, self._whole = self._whole, None
            self.flows(ctx, time_ordered(whole))
            return
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        pending.sort(key=_FIRST_SEEN)
        self.flows(ctx, pending)

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        """Closed flows of one batch in time order; detectors override :meth:`flow` or this. The list
        may be shared with other detectors: read it, never change it."""
        handle = self.flow  # one bound method for the batch, not one per flow
        for flow in flows:
            handle(ctx, flow)

    def flow(self, ctx: Context, flow: Flow) -> None:
        """One closed flow, in start-time order within its batch."""

    def raise_alert(self, ctx: Context, detector_id: str, *, title: str, severity: Severity, subject: str,
                    ts: float, key: str = "", mitre: tuple[str, ...] = (), src_ip: str | None = None,
                    dst_ip: str | None = None, evidence: dict[str, Any] | None = None,
                    flows: list[Flow] | tuple[Flow, ...] = (),
                    observations: list[Observation] | tuple[Observation, ...] = ()) -> Alert:
        """Hand one detection to the alert pipeline (through ``ctx.alerts``)."""
        if detector_id not in self.ids:
            raise ValueError(f"{type(self).__name__} does not declare {detector_id!r}")
        alert = Alert(id=detector_id, title=title, severity=severity, subject=subject, key=key, src_ip=src_ip,
                      dst_ip=dst_ip, mitre=list(mitre), evidence=dict(evidence or {}),
                      flows=[f.to_dict() for f in list(flows)[:MAX_EVIDENCE_FLOWS]],
                      observations=[o.to_dict() for o in list(observations)[:MAX_EVIDENCE_FLOWS]],
                      first_seen=ts, last_seen=ts)
        ctx.alerts.append(alert)
        return alert


class _LastOrder:
    """The last batch :func:`time_ordered` sorted, with its length and its time order."""

    last: ClassVar[tuple[list[Flow], int, list[Flow]] | None] = None


def time_ordered(batch: list[Flow]) -> list[Flow]:
    """``batch`` sorted by start time (stable: ties keep their order), as a new list that callers
    share and never change: sorted once while the same unchanged batch is asked for again (every
    detector is handed the add-on manager's one list of each batch)."""
    last = _LastOrder.last  # one read: another thread may replace it meanwhile
    if last is not None and last[0] is batch and last[1] == len(batch):
        return last[2]
    ordered = sorted(batch, key=_FIRST_SEEN)
    _LastOrder.last = (batch, len(batch), ordered)
    return ordered


def number(value: Any) -> int | None:
    """``value`` when it is an int (not a bool), else None: observation fields are untrusted."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(value: Any) -> str | None:
    """``value`` when it is a str, else None."""
    return value if isinstance(value, str) else None


def subject_key(ctx: Context, mac: str | None, ip: str | None, domain: str = "", ts: float | None = None) -> str:
    """The device key of an endpoint as the inventory names it (``mac:..`` when the MAC is the
    device's own, else ``ip:..``). A known device's MAC with an internal address it does not hold is a
    router's carrying another subnet's host (an answer to a routed client has the router's MAC as its
    destination): the device holding that address is named, not its gateway. ``domain`` is the broadcast
    domain the endpoint was seen in (Observation.domain, :func:`flow_domain`): a site address is named
    within it as the inventory keys it (``ip:10.0.0.5%vlan10``, inventory/addresses.zoned), so two VLANs'
    routed 10.0.0.5 are two subjects; a MAC is one device on every VLAN, and untagged ("") is as before. A record
    naming no MAC (a Zeek conn.log) whose internal address has no ``ip:`` device is the device holding it
    (:func:`_holder`: a dhcp.log lease, packets seen earlier; at ``ts``, the record's time, when given: a lease that
    moved is its old holder's before the move), not an ``ip:`` device the inventory does not have."""
    if mac:
        dev = ctx.devices.get(f"mac:{mac}")
        if dev is not None and (ip is None or not dev.ips or ip in dev.ips):
            return dev.key
    at = _within(ctx, ip, domain) if domain and ip else ip
    if at and f"ip:{at}" in ctx.devices:
        return f"ip:{at}"
    if mac and (ip is None or is_internal(ip)):
        if ip is not None and f"mac:{mac}" in ctx.devices:  # a router's MAC with another subnet's address
            holder = _holder(ctx, ip, domain, ts)
            if holder is not None:
                return holder
        return f"mac:{mac}"
    if not mac and ip and is_internal(ip):  # outside the site: a peer, never a device's lease (no scan per address)
        return _holder(ctx, ip, domain, ts) or f"ip:{at}"
    return f"ip:{at}"


def initiator(ctx: Context, flow: Flow) -> str:
    """The device key of a flow's initiator within the flow's broadcast domain (:func:`subject_key`)."""
    return subject_key(ctx, flow.a_mac, flow.a_ip, flow_domain(flow), flow.first_seen)


def responder(ctx: Context, flow: Flow) -> str:
    """The device key of a flow's responder within the flow's broadcast domain (:func:`subject_key`)."""
    return subject_key(ctx, flow.b_mac, flow.b_ip, flow_domain(flow), flow.first_seen)


def _within(ctx: Context, ip: str, domain: str) -> str:
    """``ip`` within ``domain`` as the inventory keys its ``ip:`` device: zoned when the inventory has that
    device (a site network of its own, beyond :data:`INTERNAL_NETWORKS`) or the address is internal."""
    at = f"{ip}%{domain}"
    return at if f"ip:{at}" in ctx.devices else site_host(ip, domain)


def _holder(ctx: Context, ip: str, domain: str = "", ts: float | None = None) -> str | None:
    """The device holding ``ip`` in broadcast ``domain``, remembered in ``ctx.ip_holders`` by the address
    within it (checked on each use; a miss is looked for again once the inventory has more devices). An
    ``ip:`` device of another domain (its key's zone) holds its own domain's address only, and a MAC device
    holds a site address of a tagged domain only when it was seen in that domain (Device.in_domain: the
    inventory's ``link.domain``, its frames' tags; any when none is recorded). An address outside the site,
    or an untagged one, is held by any device holding it, as before. The device ARP or DHCP last proved holds the
    address (``ctx.owners``, the inventory's) comes first: a lease moved to another device is that device's from
    then on, while the one that held it before still lists the address. At ``ts`` (a record's time) the holder then
    (``ctx.owner_moves``): the inventory has read a whole batch's proofs before its records are judged, so one batch
    may hold a lease's move and records from before and after it."""
    at = site_host(ip, domain) if domain else ip
    owner = _owner(ctx, at, ts)
    if owner is not None:
        return owner
    zoned = at != ip  # a site address within a tagged domain (site_host)
    known = ctx.ip_holders.get(at)
    if known is not None:
        key, devices = known
        dev = ctx.devices.get(key) if key else None
        if dev is not None and ip in dev.ips and (not zoned or key.startswith("ip:") or dev.in_domain(domain)):
            return key
        if not key and devices == len(ctx.devices):
            return None
    if len(ctx.ip_holders) >= MAX_IP_HOLDERS:
        ctx.ip_holders.clear()
    own = f"ip:{at}"
    found = next((k for k, d in ctx.devices.items() if ip in d.ips
                  and (k == own or (not k.startswith("ip:") and (not zoned or d.in_domain(domain))))), None)
    ctx.ip_holders[at] = (found or "", len(ctx.devices))
    return found


HANDOVER_S = 300.0  # default handover_s of the detectors keeping series per address (same_holder)


def same_holder(ctx: Context, before: str, now: str, idle_s: float = math.inf, handover_s: float = 0.0) -> bool:
    """Whether a series of records an address began as device ``before`` goes on as ``now`` (the address's
    :func:`subject_key` at a later record): the same device, or ``before`` gone from the inventory (rekeyed into
    ``now``: its MAC learnt, two keys merged), or the series active ``idle_s`` before, less than ``handover_s``: a
    device that takes an address over so soon continues its series (a guesser changing its MAC every few tries;
    inherited again at each change, chained), where a lease moving between two real devices leaves a gap (a DHCP
    server offers a client the address it held before, RFC 2131 §4.3.1, and another one a freed address later).
    ``before`` still a device of its own after a longer gap is another holder (a lease that moved,
    ``ctx.owner_moves``): its series is not the new holder's."""
    return before == now or before not in ctx.devices or idle_s < handover_s


def _owner(ctx: Context, at: str, ts: float | None) -> str | None:
    """The device ARP or DHCP proved holds ``at`` (an address as :func:`site_host` keys it): at ``ts`` where the
    address moved (``ctx.owner_moves``), else the last proof's (``ctx.owners``); None when none, or it is gone."""
    owner = ctx.owners.get(at) if ts is None or at not in ctx.owner_moves else _owner_at(ctx.owner_moves[at], ts)
    return owner if owner is not None and owner in ctx.devices else None


def _owner_at(moves: list[tuple[float, str]], ts: float) -> str:
    """The holder at ``ts`` of an address whose holders are ``moves`` (Context.owner_moves)."""
    return moves[max(bisect.bisect_right(moves, ts, key=_SINCE) - 1, 0)][1]


def device_with_ip(ctx: Context, ip: str, domain: str = "", ts: float | None = None) -> str | None:
    """The key of a device holding ``ip`` (a scan of the inventory: for rare events only). Within a broadcast
    ``domain`` (a tagged flow that names no MAC: a Zeek record) its own ``ip:`` device there, else a MAC device
    holding the address that was seen in that domain (:func:`_holder`), never a device of another domain. Untagged,
    the device ARP or DHCP proved holds it at ``ts`` (:func:`_owner`), else the first device listing it."""
    if domain:
        own = f"ip:{_within(ctx, ip, domain)}"
        return own if own in ctx.devices else _holder(ctx, ip, domain, ts)
    if f"ip:{ip}" in ctx.devices:
        return f"ip:{ip}"
    # untagged: the lease's holder at ``ts`` first (after a move the old holder still lists the address)
    return _owner(ctx, ip, ts) or next((key for key, dev in ctx.devices.items() if ip in dev.ips), None)


def category(ctx: Context, key: str) -> str | None:
    """The classifier's category of a device in lower case, or None when unknown."""
    dev = ctx.devices.get(key)
    value = dev.category if dev is not None else None
    return value.lower() if value else None


# the site's own address space: RFC 1918, shared CGNAT space (RFC 6598), unique-local (RFC 4193),
# link-local (RFC 3927, RFC 4291) and loopback; documentation ranges (RFC 5737) are NOT internal
INTERNAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8",
    "fc00::/7", "fe80::/10", "::1/128"))
_INTERNAL4 = octet_table(ranges4(INTERNAL_NETWORKS))
_NOT_EXTERNAL4 = octet_table((*ranges4(INTERNAL_NETWORKS), MULTICAST4))


@lru_cache(maxsize=65536)
def is_internal(ip: str) -> bool:
    """Whether ``ip`` lies in :data:`INTERNAL_NETWORKS`."""
    value = ipv4_int(ip)
    if value is not None:
        return in_table(value, _INTERNAL4)
    try:
        addr = ipaddress.ip_address(ip.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return any(addr in net for net in INTERNAL_NETWORKS if net.version == addr.version)


def site_host(ip: str, domain: str) -> str:
    """``ip`` as a table of hosts keys it: an internal address within its broadcast domain (``ip%domain``,
    model/observation.scoped, the zone syntax of RFC 4007 §11), since two VLANs or VPCs may each hold
    10.0.0.5; an address outside the site (:func:`is_internal`) is one host wherever it is reached from,
    and an untagged one is itself (the inventory keys routed hosts the same way, inventory/addresses.zoned)."""
    return f"{ip}%{domain}" if domain and is_internal(ip) else ip


def flow_domain(flow: Flow) -> str:
    """The broadcast domain a flow was seen in (:attr:`Flow.domain`: its 802.1Q VLAN and the VXLAN/Geneve VNIs
    engine/core.py puts in ``Flow.extra["vni"]``, outermost first); "" untagged."""
    return flow.domain


def outside(ip: str) -> bool:
    """A unicast address outside the site (:data:`INTERNAL_NETWORKS`): not multicast or broadcast.
    :func:`external` remembers the answers; this is for an address asked once (a scan's new target),
    which a full cache would only take in and push another out for."""
    value = ipv4_int(ip)
    if value is not None:
        return not (value in (UNSPECIFIED4, LIMITED_BROADCAST4) or in_table(value, _NOT_EXTERNAL4))
    try:
        addr = ipaddress.ip_address(ip.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return not (addr.is_multicast or addr.is_unspecified or ip == "255.255.255.255" or is_internal(ip))


external = lru_cache(maxsize=65536)(outside)  # outside(), remembered: destinations asked again and again


def failed_attempt(flow: Flow) -> bool:
    """A TCP connection attempt that never carried data (unanswered, refused or reset): a probe.
    From Zeek logs the ``conn_state`` says it; from packets, no payload either way and no completed
    handshake from the initiator (SYN then nothing, or RST)."""
    if flow.ip_proto != 6:
        return False
    state = flow.extra.get("conn_state")
    if isinstance(state, str) and state:
        return state in FAILED_STATES and flow.payload_ab == 0 and flow.payload_ba == 0
    if flow.payload_ab or flow.payload_ba:
        return False
    if not flow.tcp_flags_ab & SYN:
        return False  # seen from the middle: not an attempt we can judge
    answered = flow.tcp_flags_ba & SYN
    return not answered or bool(flow.tcp_flags_ab & RST) or bool(flow.tcp_flags_ba & RST) or flow.pkts_ab <= 2


def established(flow: Flow) -> bool:
    """A conversation that carried data (TCP) or got an answer (UDP and others)."""
    state = flow.extra.get("conn_state")
    if flow.ip_proto == 6 and isinstance(state, str) and state:
        return state in ESTABLISHED_STATES and (flow.payload_ab > 0 or flow.payload_ba > 0)
    if flow.ip_proto == 6:
        return bool(flow.tcp_flags_ba & SYN) and (flow.payload_ab > 0 or flow.payload_ba > 0)
    return flow.pkts_ba > 0
