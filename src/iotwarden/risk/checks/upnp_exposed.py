"""risk.upnp.exposed: a UPnP device answering SSDP discovery (UPnP Device Architecture 2.0 §1); worse
when it is an Internet Gateway Device (port mappings without authentication) or answers the internet."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import is_external

# device and service types of the UPnP Internet Gateway Device (UPnP Forum IGD:1 and IGD:2)
IGD_MARKERS = ("internetgatewaydevice", "wanipconnection", "wanpppconnection", "wancommoninterfaceconfig")


class UpnpExposed(Check):
    """The SSDP responder (``notify``/``response`` sender): low, high for an IGD or for a response sent
    to an internet address (SSDP reflection, CERT/CC VU#357851; CallStranger CVE-2020-12695)."""

    id: ClassVar[str] = "risk.upnp.exposed"
    title: ClassVar[str] = "UPnP/SSDP service exposed"
    severity: ClassVar[Severity] = "low"
    remediation: ClassVar[str] = ("Disable UPnP where it is not needed; on gateways disable UPnP IGD port mapping "
                                  "and never answer SSDP on the WAN side (filter UDP 1900 at the perimeter).")
    references: ClassVar[tuple[str, ...]] = (ref.ETSI_MINIMISE_SURFACE, ref.ETSI_MINIMISE_DISCLOSURE,
                                             ref.NIST_LOGICAL_ACCESS, ref.CWE_MISSING_AUTH, "CVE-2020-12695",
                                             "VU#357851")
    protos: ClassVar[frozenset[str]] = frozenset({"ssdp"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind not in ("notify", "response"):
            return
        target = " ".join(str(obs.fields.get(k) or "") for k in ("st", "nt", "usn")).lower()
        igd = any(marker in target for marker in IGD_MARKERS)
        outside = obs.kind == "response" and is_external(obs.dst_ip)
        severity: Severity = "high" if igd or outside else "low"
        self.hit_subject(obs, severity, servers=str(obs.fields.get("server") or "") or [],
                         locations=str(obs.fields.get("location") or "") or [],
                         gateway="yes" if igd else [], answered_internet=(obs.dst_ip or "") if outside else [])
