"""risk.sadp.unactivated: a Hikvision camera or recorder that answers SADP (udp/37020) as not activated.

Hikvision devices leave the factory without an admin password and refuse service until someone
"activates" them by setting one (Hikvision's user manuals: "Activate the device ... via SADP, the web
browser or the client software"); the SADP answer says so in ``Activated`` (dissect/sadp.py). Until
then whoever reaches the device first, over the network, chooses the password and owns it: every
SADP client on the segment sees it waiting. A later answer from the same device saying it is
activated clears the finding.
"""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import endpoint_of


class SadpUnactivated(Check):
    """The answering device (``probe_match`` sender) while its answers say ``Activated`` false: high."""

    id: ClassVar[str] = "risk.sadp.unactivated"
    title: ClassVar[str] = "Device waiting for activation (no admin password set)"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = ("Activate the device now from a trusted host (SADP tool, web interface or "
                                  "iVMS) with a strong unique admin password, then restrict who can reach its "
                                  "management ports; install new devices on an isolated staging network.")
    references: ClassVar[tuple[str, ...]] = (ref.ETSI_AUTHENTICATED_ACCESS, ref.ETSI_AUTHENTICATED_CONFIG,
                                             ref.NIST_LOGICAL_ACCESS, ref.CWE_MISSING_AUTH)
    protos: ClassVar[frozenset[str]] = frozenset({"sadp"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "probe_match":
            return
        activated = obs.fields.get("activated")
        if activated is False:
            self.hit_subject(obs, models=str(obs.fields.get("device_description") or "") or [],
                             firmware=str(obs.fields.get("software_version") or "") or [])
        elif activated is True:
            self.hits.pop(endpoint_of(obs), None)  # activated since: no longer open to the first comer
