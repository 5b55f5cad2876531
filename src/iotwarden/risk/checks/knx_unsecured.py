"""risk.knx.unsecured: a KNXnet/IP interface or router that carries tunnelling, device-management or routing traffic in
cleartext (cEMI frames outside a KNX IP Secure SECURE_WRAPPER, AN159), or that does not advertise the security service
family in its SEARCH/DESCRIPTION responses (KNX 03.08.02 §7.5.4.3): any host on the LAN can then switch the building's
lights, blinds and HVAC through it, or reprogram its bus devices."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import endpoint_of

PORT = 3671  # KNXnet/IP servers' port (dissect/knxip.py)
AN159 = "KNX AN159 KNXnet/IP Secure (KNX IP Secure: secure tunnelling and secure routing, ISO 22510)"
# cleartext services whose cEMI frames switch and program the bus, and the KNXnet/IP family each belongs to
CLEARTEXT = {"tunnelling_request": "tunnelling", "device_configuration_request": "device_management",
             "routing_indication": "routing", "routing_system_broadcast": "routing"}
ANSWERS = frozenset({"search_response", "search_response_ext", "description_response"})


class KnxUnsecured(Check):
    """The KNX/IP device seen carrying cleartext KNXnet/IP traffic (high: the bus is open to the LAN now), or
    answering a search or description without the security family (medium: it cannot protect the bus). The device
    of a tunnel is the end on port 3671; of routing, the sender of the multicast indication."""

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

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        f = obs.fields
        if obs.kind in ANSWERS:
            if f.get("secure") is False:
                self.hit_subject(obs, "medium", advertised="no security service family",
                                 service_families=[str(s) for s in f.get("service_families", [])],
                                 name=str(f.get("friendly_name", "")))
            return
        family = CLEARTEXT.get(obs.kind)
        if family is None:
            return
        if family == "routing":
            self.hit(endpoint_of(obs, "src"), obs.ts, cleartext=family, peers=obs.dst_ip or "")
            return
        server_side = "src" if obs.src_port == PORT and obs.dst_port != PORT else "dst"
        peer = obs.dst_ip if server_side == "src" else obs.src_ip
        self.hit(endpoint_of(obs, server_side), obs.ts, cleartext=family, peers=peer or "")
