"""risk.snmp.v1v2c: an SNMP agent speaking v1 (RFC 1157) or v2c (RFC 1901): no authentication beyond a
cleartext community and no encryption, unlike v3 with USM authPriv (RFC 3414)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import endpoint_of

REQUESTS = frozenset({"get", "getnext", "getbulk", "set"})
AGENT_SPEECH = frozenset({"response", "trap"})
CLEAR_VERSIONS = frozenset({"1", "2c"})


class SnmpV1V2c(Check):
    """The agent of every v1/v2c exchange (a request's destination, a response's or trap's sender).
    The community itself is never kept in evidence: it is a password."""

    id: ClassVar[str] = "risk.snmp.v1v2c"
    title: ClassVar[str] = "SNMP v1/v2c without authentication or encryption"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Configure SNMPv3 with the USM authPriv level (RFC 3414) and disable v1/v2c; "
                                  "until then restrict SNMP to the management network.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_DATA_PROTECTION, ref.ETSI_BEST_PRACTICE_CRYPTO,
                                             ref.CWE_CLEARTEXT, "RFC 3414", "RFC 1157")
    protos: ClassVar[frozenset[str]] = frozenset({"snmp"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        version = obs.fields.get("version")
        if not isinstance(version, str) or version not in CLEAR_VERSIONS:
            return
        if obs.kind in REQUESTS:
            self.hit(endpoint_of(obs, "dst"), obs.ts, versions=str(version), managers=obs.src_ip or "")
        elif obs.kind in AGENT_SPEECH:
            self.hit_subject(obs, versions=str(version), managers=obs.dst_ip or "")
