"""Lateral movement from IoT/OT devices, from flows between internal hosts.

Ids: ``detect.lateral.admin_protocol`` (SMB, RDP, SSH, WinRM or RPC from a device that is not an IT
machine, from its first use of that service; RDP over TCP or over UDP ([MS-RDPEUDP], a flow named ``rdp``): IoT
devices have no business administering servers;
T1021.002 SMB, T1021.001 RDP, T1021.004 SSH, T1021.006 WinRM, T1021), ``detect.lateral.iot_to_it``
(an IoT/OT device opens a connection to an IT device it never talked to; T1021) and
``detect.lateral.new_peer`` (a device that is not an IT machine talks to an internal peer it never
talked to, after learning; T1021) and ``detect.lateral.admin_share`` (an SMB tree connect to an administrative
share, ADMIN$ or a drive's C$ ([MS-SRVS] §2.2.2.4 STYPE_SPECIAL, dissect/smbshare.py class "admin"), from a
device that is not an IT machine: where PsExec and its kin copy their service binary, and no camera or PLC
mounts a server's system drive; T1021.002. From the packets' TREE_CONNECT or Zeek's smb_mapping.log and
smb_files.log, once per device, server and share). RDP through a Remote Desktop Gateway is RDP too: a request that
opens a gateway tunnel (dissect/tsgu.py: an ``http`` request with ``rdp_gateway``, seen where the HTTP is visible)
from a device that is not an IT machine raises ``detect.lateral.admin_protocol`` (service RDP, T1021.001) once per
device and gateway, and once per internal host the tunnel's CHANNEL_CREATE names (an ``rdp_gateway_channel``
Observation, where the RDG_IN_DATA body is visible; merged into the same alert, its evidence naming the target).

A flow (or tree connect) from a device the classifier has not judged yet waits (``unknown_wait_s`` of capture time, and
past the tick that delivered it, at most ``MAX_WAITING`` flows) for its verdict: a workstation's first SMB or SSH in its
first minute, before the classifier's first pass, is not lateral movement. Still unknown after the wait, or at the
end of input, the device counts as not IT, as before: a host nothing identifies (a conn.log alone, IoT-23's form) is
judged as an IoT device would be, the safer side (docs/detection.md). A device is placed by its category alone: a
Windows workstation, which states Windows (its DHCP vendor class, NTLM version, telemetry's TLS names) and no device
type, is category it by the classifier's own fallback (inventory/classifier.py IT_OS), which steps aside where any
evidence names OT, medical or building automation (a Windows HMI or station computer): no second rule here
overrules it. A record that names no MAC (a Zeek conn.log) is its address's holder's (a DHCP lease, a MAC device
holding it) when the address has no device of its own, as for every detector (detect/base.subject_key). A printer's
SMB connections (:data:`SCAN_TO_FOLDER_TYPES`) are its scans delivered to a network folder, no lateral movement.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import (
    DURATION,
    IOT_CATEGORIES,
    IT_CATEGORIES,
    SYN,
    Detector,
    Options,
    Range,
    category,
    device_with_ip,
    established,
    flow_domain,
    initiator,
    is_internal,
    responder,
    site_host,
    subject_key,
)
from iotwarden.detect.baseline import LEARN_S, Novelty
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation

ADMIN, IOT_TO_IT, NEW_PEER = "detect.lateral.admin_protocol", "detect.lateral.iot_to_it", "detect.lateral.new_peer"
ADMIN_SHARE = "detect.lateral.admin_share"
ADMIN_SHARE_CLASS = "admin"  # dissect/smbshare.py's class of ADMIN$ and C$..Z$
GATEWAY_CHANNEL = "rdp_gateway_channel"  # dissect/tsgu.py ChannelReader's kind: the host reached through a gateway
# remote-administration services (IANA port numbers) and their ATT&CK sub-techniques
ADMIN_PORTS = {445: ("SMB", "T1021.002"), 139: ("SMB", "T1021.002"), 3389: ("RDP", "T1021.001"),
               22: ("SSH", "T1021.004"), 5985: ("WinRM", "T1021.006"), 5986: ("WinRM", "T1021.006"),
               135: ("RPC", "T1021")}
# RDP's UDP transport ([MS-RDPEUDP]): a flow dissect/rdpudp.py named "rdp" (or Zeek's RDPEUDP analyzer, conn.log
# service "rdpeudp"), on udp/3389 or any port, is RDP as the tcp/3389 connection beside it is
RDP_APP = "rdp"
RDP_UDP = ("RDP", "T1021.001")  # the service and technique of RDP over UDP and through a gateway
# infrastructure services every device may reach for the first time at any point
INFRA_PORTS = frozenset({53, 67, 68, 123, 137, 138, 5353, 1900, 5355})
MAX_WAITING = 10_000  # flows of unclassified devices waiting for the classifier; past it the oldest are judged
# admin-share tree connects and gateway requests of unclassified devices waiting; past it the oldest are judged
MAX_WAITING_SHARES = 1_000
# device types (kb taxonomy ids, category iot) whose SMB client connections are their own function: a multifunction
# printer delivers scans to a shared folder over SMB (HP 'Scan to Network Folder', Ricoh 'Scan to Folder', Canon
# 'Store to a shared folder', Xerox 'Scan to SMB', Brother 'Scan to Network'), to file servers and users' PCs alike.
# Only SMB: a printer's SSH, RDP, WinRM or RPC, and its tree connect to ADMIN$ or C$, are still judged
SCAN_TO_FOLDER_TYPES = frozenset({"printer", "mfp"})


def admin_service(flow: Flow) -> tuple[str, str] | None:
    """(service, ATT&CK technique) of a remote-administration flow: by its TCP port, or RDP over UDP by its app."""
    if flow.ip_proto == 6:
        return ADMIN_PORTS.get(flow.b_port)
    return RDP_UDP if flow.ip_proto == 17 and flow.app == RDP_APP else None


def _device_type(ctx: Context, key: str) -> str | None:
    dev = ctx.devices.get(key)
    return dev.device_type if dev is not None else None


def placed(ctx: Context, key: str) -> str | None:
    """The device's category (lower case) as the classifier concluded it, else None (not placed). An operating
    system only IT machines run is the classifier's evidence for it (inventory/classifier.py IT_OS), not read again
    here: where it stepped aside for an OT, medical or building sign, the host is not an IT machine to this detector."""
    return category(ctx, key)


@dataclass(frozen=True)
class LateralOptions(Options):
    learn_s: float = LEARN_S  # per-device learning phase of peers and services
    attempts_count: bool = True  # a refused or unanswered admin connection counts too (an attempt)
    unknown_wait_s: float = 600.0  # capture seconds a flow of an unclassified device waits for its category
    bounds: ClassVar[dict[str, Range]] = {"learn_s": DURATION, "unknown_wait_s": DURATION}


class LateralDetector(Detector):
    # on_observation only for these (hooks.py): admin-share tree connects, RD Gateway requests
    observes = frozenset({"smb", "http"})
    name: ClassVar[str] = "detect.lateral"
    ids: ClassVar[tuple[str, ...]] = (ADMIN, IOT_TO_IT, NEW_PEER, ADMIN_SHARE)
    defaults: ClassVar[Options] = LateralOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self.peers = Novelty(learn_s=self.options.learn_s)
        # no learning for admin services: each (device, port) is reported once, then known
        self.services = Novelty(learn_s=0.0)
        self.waiting: deque[Flow] = deque()  # flows of unclassified devices, in time order
        self.waiting_shares: deque[Observation] = deque()  # their admin-share and gateway Observations, in time order
        # how many of the waiting flows and Observations (from the front) were waiting at the last tick: only
        # these may be judged unplaced at a tick. The classifier's passes run on ticks after the first batch's
        # (inventory/classifier.py) and one batch of a Zeek log spans half an hour or more, so a flow whose wait
        # ended within its own batch is judged once a pass has seen the batch's evidence, not before
        self._held = self._held_shares = 0

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # per batch, with the options in locals: every flow of an internal device comes here
        touch, attempts_count = self.peers.touch, self.options.attempts_count
        for flow in flows:
            if not is_internal(flow.a_ip):
                continue
            # the learning phase runs from the device's first flow; a device is its address within its domain
            touch(site_host(flow.a_ip, flow_domain(flow)), flow.first_seen)
            proto = flow.ip_proto
            if proto not in (6, 17):
                continue
            admin = admin_service(flow)
            # the flow's own facts before the address test: a scan's millions of targets stop here. An
            # attempt is a connect (the initiator's SYN; an RDP-UDP flow was named by its client's SYN datagram);
            # a record joined mid-stream (no SYN seen, Zeek's OTH) proves neither who opened it nor that it was
            # opened now
            if not established(flow) and not (admin and attempts_count and (flow.tcp_flags_ab & SYN or proto == 17)):
                continue
            if not is_internal(flow.b_ip):
                continue
            if self.waiting or placed(ctx, initiator(ctx, flow)) is None:
                self.waiting.append(flow)  # behind the others, so each device's flows keep their order
                if len(self.waiting) > MAX_WAITING:
                    self._judge(ctx, self.waiting.popleft())
                    self._held -= 1
                continue
            self._judge(ctx, flow)

    def flow(self, ctx: Context, flow: Flow) -> None:
        self.flows(ctx, [flow])

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if not ((obs.kind == "tree_connect" and obs.fields.get("share_class") == ADMIN_SHARE_CLASS)
                or (obs.kind == "request" and obs.fields.get("rdp_gateway")) or obs.kind == GATEWAY_CHANNEL):
            return
        if not (obs.src_ip and obs.dst_ip and is_internal(obs.src_ip) and is_internal(obs.dst_ip)):
            return
        if self.waiting_shares or placed(ctx, subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts)) is None:
            self.waiting_shares.append(obs)
            if len(self.waiting_shares) > MAX_WAITING_SHARES:
                self._judge_share(ctx, self.waiting_shares.popleft())
                self._held_shares -= 1
            return
        self._judge_share(ctx, obs)

    def on_tick(self, ctx: Context, ts: float) -> None:
        super().on_tick(ctx, ts)
        self._release(ctx, ts - self.options.unknown_wait_s)
        # what waits now was delivered by this tick's batch or before: its wait may end from the next tick on
        self._held, self._held_shares = len(self.waiting), len(self.waiting_shares)

    def done(self, ctx: Context) -> None:
        super().done(ctx)
        self._held, self._held_shares = len(self.waiting), len(self.waiting_shares)
        self._release(ctx, float("inf"))

    def _release(self, ctx: Context, expired: float) -> None:
        """Judge waiting flows and tree connects in order while their device is placed or their wait is over (one
        that was waiting at the last tick: ``_held``)."""
        while self.waiting_shares:
            obs = self.waiting_shares[0]
            if ((self._held_shares <= 0 or obs.ts > expired)
                    and placed(ctx, subject_key(ctx, obs.src_mac, obs.src_ip or "", obs.domain, obs.ts)) is None):
                break
            self._judge_share(ctx, self.waiting_shares.popleft())
            self._held_shares -= 1
        while self.waiting:
            flow = self.waiting[0]
            if ((self._held <= 0 or flow.first_seen > expired)
                    and placed(ctx, initiator(ctx, flow)) is None):
                return
            self._judge(ctx, self.waiting.popleft())
            self._held -= 1

    def _judge_share(self, ctx: Context, obs: Observation) -> None:
        if not obs.src_ip:
            return
        src = subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts)
        src_cat = placed(ctx, src)
        if src_cat in IT_CATEGORIES:
            return
        if obs.kind in ("request", GATEWAY_CHANNEL):
            self._judge_gateway(ctx, obs, src, src_cat)
            return
        share = str(obs.fields.get("share") or "")
        if not self.services.check(site_host(obs.src_ip, obs.domain), ("share", site_host(obs.dst_ip or "", obs.domain),
                                                                         share), obs.ts):
            return
        self.raise_alert(ctx, ADMIN_SHARE, title=f"Administrative share {share} of {obs.dst_ip} opened from "
                         f"{'IoT/OT' if src_cat else 'non-IT'} device {obs.src_ip}", severity="high", subject=src,
                         ts=obs.ts, key=f"{obs.dst_ip}:{share}", mitre=("T1021.002",), src_ip=obs.src_ip,
                         dst_ip=obs.dst_ip, evidence={"share": share, "category": src_cat}, observations=[obs])

    def _judge_gateway(self, ctx: Context, obs: Observation, src: str, src_cat: str | None) -> None:
        """RDP through an RD Gateway (module docstring): once per device and gateway, and once per internal host
        reached through it when the tunnel's CHANNEL_CREATE names it (the same alert key: it adds the target)."""
        target = obs.fields.get("target_host") if obs.kind == GATEWAY_CHANNEL else None
        if obs.kind == GATEWAY_CHANNEL and not target:
            return
        if not obs.src_ip or not self.services.check(site_host(obs.src_ip, obs.domain),
                                                     ("rd_gateway", site_host(obs.dst_ip or "", obs.domain), target),
                                                     obs.ts):
            return
        service, technique = RDP_UDP  # RDP's name and technique, whatever carries it
        evidence = {"service": service, "via": "rd_gateway", "port": obs.dst_port, "category": src_cat}
        if target:
            evidence.update(target_host=target, target_port=obs.fields.get("target_port"),
                            client_name=obs.fields.get("client_name"))
        else:
            evidence.update(transport=obs.fields.get("rdp_gateway"), gateway_host=obs.fields.get("host"))
        self.raise_alert(ctx, ADMIN, title=f"{service}{f' to {target}' if target else ''} through the RD Gateway "
                         f"{obs.dst_ip} from {'IoT/OT' if src_cat else 'non-IT'} device {obs.src_ip}",
                         severity="high", subject=src, ts=obs.ts, key=service, mitre=(technique, "T1021"),
                         src_ip=obs.src_ip, dst_ip=obs.dst_ip, evidence=evidence, observations=[obs])

    def _judge(self, ctx: Context, flow: Flow) -> None:
        admin = admin_service(flow)
        talked = established(flow)
        ts, domain = flow.first_seen, flow_domain(flow)
        src = subject_key(ctx, flow.a_mac, flow.a_ip, domain, flow.first_seen)
        src_cat = placed(ctx, src)
        if src_cat in IT_CATEGORIES:
            return
        if admin is not None and admin[0] == "SMB" and _device_type(ctx, src) in SCAN_TO_FOLDER_TYPES:
            return  # a printer's scan to a network folder: its own function (an admin share still alerts)
        a_host = site_host(flow.a_ip, domain)  # the device and its peers within their broadcast domain
        if admin is not None:
            service, technique = admin
            if self.services.check(a_host, (flow.b_port,), ts):
                self.raise_alert(
                    ctx, ADMIN, title=f"{service} from {'IoT/OT' if src_cat else 'non-IT'} device {flow.a_ip} "
                    f"to {flow.b_ip}", severity="high", subject=src, ts=ts, key=service,
                    mitre=(technique, "T1021"), src_ip=flow.a_ip, dst_ip=flow.b_ip,
                    evidence={"service": service, "port": flow.b_port, "category": src_cat,
                              "established": talked}, flows=[flow])
        if not talked or flow.b_port in INFRA_PORTS:
            return
        if not self.peers.check(a_host, site_host(flow.b_ip, domain), ts):
            return
        # a peer of a VLAN or VPC named within it (subject_key), never another domain's ip: device
        dst_key = responder(ctx, flow) if flow.b_mac else device_with_ip(ctx, flow.b_ip, domain, flow.first_seen)
        dst_cat = placed(ctx, dst_key) if dst_key else None
        if src_cat in IOT_CATEGORIES and dst_cat in IT_CATEGORIES:
            self.raise_alert(ctx, IOT_TO_IT, title=f"IoT/OT device {flow.a_ip} reached IT device {flow.b_ip}",
                             severity="medium", subject=src, ts=ts, key=flow.b_ip, mitre=("T1021",),
                             src_ip=flow.a_ip, dst_ip=flow.b_ip,
                             evidence={"port": flow.b_port, "src_category": src_cat, "dst_category": dst_cat},
                             flows=[flow])
        else:
            self.raise_alert(ctx, NEW_PEER, title=f"{flow.a_ip} talked to a new internal peer {flow.b_ip}",
                             severity="low", subject=src, ts=ts, key=flow.b_ip, mitre=("T1021",),
                             src_ip=flow.a_ip, dst_ip=flow.b_ip, evidence={"port": flow.b_port}, flows=[flow])
