"""risk.snmp.default_community: an SNMP agent reached with a default community string (RFC 1157 §3.2.5)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.knowledge import default_communities
from iotwarden.risk.subjects import endpoint_of

REQUESTS = frozenset({"get", "getnext", "getbulk", "set"})


class SnmpDefaultCommunity(Check):
    """The agent (the request's destination, or the sender of a response/trap) with a community from
    ``kb/data/risk/snmp_communities.yaml``: high when the agent answered with it or sends traps with it;
    low when a manager only asked with it (medium for a SetRequest, write access, RFC 3416 §4.2.5)
    and no answer was seen: the agent may well have refused it."""

    id: ClassVar[str] = "risk.snmp.default_community"
    title: ClassVar[str] = "SNMP agent uses a default community string"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Change the community strings (or move to SNMPv3 with authPriv, RFC 3414), "
                                  "disable write communities, and allow SNMP only from the management station.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_LOGICAL_ACCESS, ref.ETSI_NO_DEFAULT_PASSWORDS,
                                             ref.CWE_DEFAULT_CREDENTIALS, "RFC 1157 §3.2.5")
    protos: ClassVar[frozenset[str]] = frozenset({"snmp"})

    def __init__(self) -> None:
        super().__init__()
        self.defaults = default_communities()

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        community = obs.fields.get("community")
        if not isinstance(community, str) or community not in self.defaults:
            return
        if obs.kind in REQUESTS:
            severity: Severity = "medium" if obs.kind == "set" else "low"
            self.hit(endpoint_of(obs, "dst"), obs.ts, severity, communities=community,
                     managers=obs.src_ip or "", operations=obs.kind)
        elif obs.kind in ("response", "trap", "inform"):
            self.hit_subject(obs, "high", communities=community, managers=obs.dst_ip or "", operations=obs.kind)
