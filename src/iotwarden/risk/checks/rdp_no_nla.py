"""risk.rdp.no_nla: an RDP server that took a connection without Network Level Authentication (CredSSP,
[MS-CSSP]): the session, and Windows' logon screen, come up before anyone has authenticated. It selected
PROTOCOL_SSL (TLS only) or PROTOCOL_RDP (standard RDP security: RC4 under a key the server signs with a
proprietary certificate, no server authentication, [MS-RDPBCGR] §5.3) in its RDP_NEG_RSP (§2.2.1.2.1), or
answered without one (a server before RDP 5.2). A server that requires NLA refuses such a request with
HYBRID_REQUIRED_BY_SERVER (§2.2.1.2.2), so either selection shows it does not. That pre-authentication
surface is what BlueKeep (CVE-2019-0708, remote code execution in the MCS channel set-up of unpatched Windows
7/2008 R2 and older) needed.

RDSTLS and RDS AAD Auth (PROTOCOL_RDSTLS 0x4, PROTOCOL_RDSAAD 0x10) authenticate the user right after the TLS
handshake, before the connection goes on (§5.4.5.3: "user authentication is accomplished by exchanging RDSTLS PDUs
directly following the TLS handshake"; §5.4.5.4), as CredSSP does: they are not findings.

``client_offered_nla``: "true" or "false" when the client's requested protocols are known (packets), or the
source says it (Zeek's rdp.log, sources/zeek_rdp.py, has no requested protocols and says it only when the
selection or a failure proves it), else "unknown"."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check

NLA = frozenset({"HYBRID", "HYBRID_EX"})  # CredSSP first ([MS-RDPBCGR] §5.4.5.2)
PRE_AUTHENTICATED = NLA | {"RDSTLS", "RDSAAD"}  # the user authenticated before the connection goes on (docstring)
STANDARD_SECURITY = "RDP"
STANDARD_SEVERITY: Severity = "high"  # no server authentication, RC4, pre-auth MCS: BlueKeep's ground
TLS_ONLY_SEVERITY: Severity = "medium"  # TLS protects the channel, but the logon comes before authentication
CWE_IMPROPER_AUTH = "CWE-287 (Improper Authentication)"


class RdpNoNla(Check):
    """The server of a ``connection_confirm`` (dissect/rdp.py, or Zeek's rdp.log through sources/zeek_rdp.py)
    whose selected protocol is neither HYBRID nor HYBRID_EX."""

    id: ClassVar[str] = "risk.rdp.no_nla"
    title: ClassVar[str] = "RDP without Network Level Authentication"
    severity: ClassVar[Severity] = TLS_ONLY_SEVERITY
    remediation: ClassVar[str] = (
        "Require Network Level Authentication on the host (System Properties > Remote > 'Allow connections only "
        "from computers running Remote Desktop with Network Level Authentication', or Group Policy 'Require user "
        "authentication for remote connections by using Network Level Authentication'; security layer SSL, not "
        "RDP), install the May 2019 updates for CVE-2019-0708, and allow tcp/3389 only from the engineering "
        "jump host; an HMI whose Windows cannot do NLA belongs behind a gateway that does.")
    references: ClassVar[tuple[str, ...]] = (
        ref.NIST_LOGICAL_ACCESS, ref.ETSI_AUTHENTICATED_ACCESS, CWE_IMPROPER_AUTH, ref.CWE_CLEARTEXT,
        "[MS-RDPBCGR] §2.2.1.2.1, §5.4.5.2", "CVE-2019-0708 (BlueKeep)")
    protos: ClassVar[frozenset[str]] = frozenset({"rdp"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "connection_confirm":
            return
        selected = obs.fields.get("selected_protocol")
        if not isinstance(selected, str) or selected in PRE_AUTHENTICATED:
            return
        requested = obs.fields.get("requested_protocols")
        stated = obs.fields.get("client_offered_nla")
        if isinstance(requested, list):
            offered = str(any(p in NLA for p in requested)).lower()
        else:
            offered = str(stated).lower() if isinstance(stated, bool) else "unknown"
        severity = STANDARD_SEVERITY if selected == STANDARD_SECURITY else TLS_ONLY_SEVERITY
        self.hit_subject(obs, severity, selected_protocols=selected, client_offered_nla=offered,
                         clients=obs.dst_ip or "", ports=str(obs.src_port or ""))
