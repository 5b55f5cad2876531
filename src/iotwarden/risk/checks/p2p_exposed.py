"""risk.p2p.exposed: a device that logs in to CS2 Network / iLnkP2P ("PPPP") P2P servers (dissect/pppp.py kind
``device_message``), so that anyone knowing or guessing its UID reaches it from the internet through the
vendor's relays, whatever the site's NAT and firewall allow inbound.

Paul Marrapese's research (DEF CON 28, 2020) showed the UIDs enumerable and the service open to session
hijacking: CVE-2019-11219 (iLnkP2P: UIDs predictable, devices reachable by anyone who guesses one),
CVE-2019-11220 (iLnkP2P: no authentication of the P2P session, man-in-the-middle of the video and the
password), CVE-2020-9525 and CVE-2020-9526 (CS2 Network P2P: spoofed device login, interception). A device's
UID, when its login carries it in clear, is part of the evidence: it is what an attacker needs.
"""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check


class P2pExposed(Check):
    """The device logging in to PPPP servers: high (reachable from the internet through its P2P service)."""

    id: ClassVar[str] = "risk.p2p.exposed"
    title: ClassVar[str] = "Reachable from the internet through a CS2/iLnkP2P P2P service"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = ("Block the device's P2P traffic at the perimeter (outbound UDP 32100 and the "
                                  "vendor's P2P server addresses) or turn the P2P/cloud feature off, reach it "
                                  "through a VPN instead, and replace models whose P2P service cannot be disabled.")
    references: ClassVar[tuple[str, ...]] = (ref.ETSI_MINIMISE_SURFACE, ref.ETSI_AUTHENTICATED_ACCESS,
                                             ref.NIST_LOGICAL_ACCESS, ref.CWE_WRONG_SPHERE, "CVE-2019-11219",
                                             "CVE-2019-11220", "CVE-2020-9525", "CVE-2020-9526")
    protos: ClassVar[frozenset[str]] = frozenset({"pppp"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "device_message":
            return
        self.hit_subject(obs, p2p_servers=obs.dst_ip or [], uids=str(obs.fields.get("did") or "") or [],
                         messages=str(obs.fields.get("type_name") or obs.fields.get("type") or ""))
