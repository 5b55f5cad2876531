"""Rogue DHCP servers: a server answering clients (OFFER/ACK, RFC 2131 §3.1) that is not one of the
servers seen while learning.

Id ``detect.dhcp.rogue_server`` (ATT&CK T1557.003 Adversary-in-the-Middle: DHCP Spoofing). A server is
named by its server identifier (option 54, RFC 2132 §9.7), else its source address, and its MAC.
Learning is per broadcast domain (Observation.domain: the 802.1Q VLAN, the VXLAN/Geneve VNIs; DHCP does not
cross a router but through a relay agent, RFC 2131 §4.1, whose answers are sent on the client's link): every
server answering within ``learn_s`` of the first answer seen on a link is that link's, so a trunk mirror's one
server (or relay) per VLAN is normal, and a server only known on another VLAN is news on this one. A link first
answered after the others' learning learns its own servers from then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import DURATION, Detector, Options, Range, subject_key
from iotwarden.detect.baseline import LEARN_S, Novelty
from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.observation import scoped

ROGUE = "detect.dhcp.rogue_server"
UNSPECIFIED = "0.0.0.0"  # noqa: S104 - an unset server identifier, not a bind
SITE = "site"  # the "device" of the untagged link's server baseline; a tagged link is its domain's text
MAX_DOMAINS = 8192  # links whose servers are kept (LRU: the least recently answered is dropped and learns again)


@dataclass(frozen=True)
class DhcpOptions(Options):
    learn_s: float = LEARN_S
    bounds: ClassVar[dict[str, Range]] = {"learn_s": DURATION}


class RogueDhcpDetector(Detector):
    observes = frozenset({"dhcp"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.dhcp"
    ids: ClassVar[tuple[str, ...]] = (ROGUE,)
    defaults: ClassVar[Options] = DhcpOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self.servers = Novelty(learn_s=self.options.learn_s, max_items=256, max_devices=MAX_DOMAINS)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto != "dhcp" or obs.kind not in ("offer", "ack"):
            return
        server = str(obs.fields.get("server_id") or obs.src_ip or "")
        if not server or server == UNSPECIFIED:
            return
        domain = obs.domain
        if not self.servers.check(domain or SITE, server, obs.ts):
            return
        link = f" on {domain}" if domain else ""
        self.raise_alert(ctx, ROGUE, title=f"Unknown DHCP server {server} ({obs.src_mac}) answered a client{link}",
                         severity="high", subject=subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts),
                         ts=obs.ts,
                         key=scoped(server, domain),
                         mitre=("T1557.003",), src_ip=obs.src_ip, dst_ip=obs.dst_ip,
                         evidence={"server_id": server, "server_mac": obs.src_mac,
                                   "offered": obs.fields.get("yiaddr"), "routers": obs.fields.get("routers"),
                                   **({"domain": domain} if domain else {})},
                         observations=[obs])
