"""risk.smb.v1: a device speaking SMB1 ([MS-CIFS]), deprecated by Microsoft ("Stop using SMB1", 2016; not
installed by default since Windows 10 1709) and the protocol of MS17-010's remote code execution flaws
(CVE-2017-0143..0148: EternalBlue, exploited by WannaCry and NotPetya), with MD5-based signing only and no
encryption."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check

SERVER_SEVERITY: Severity = "high"  # an SMB1 server is what EternalBlue attacks
CLIENT_SEVERITY: Severity = "medium"  # a client offering SMB1 can be downgraded, but is not itself exposed


class SmbV1(Check):
    """The server of every SMB1 response (an SMB1 NEGOTIATE answer that chose a dialect, or any later SMB1
    answer), and the client of every SMB1 request (a NEGOTIATE offering an SMB1 dialect beside SMB2's, or any
    later SMB1 request). Observations say a response by its ``status`` (dissect/smb.py)."""

    id: ClassVar[str] = "risk.smb.v1"
    title: ClassVar[str] = "SMB1 in use"
    severity: ClassVar[Severity] = SERVER_SEVERITY
    remediation: ClassVar[str] = (
        "Disable SMB1 on the device (Windows: remove the SMB 1.0/CIFS feature or Set-SmbServerConfiguration "
        "-EnableSMB1Protocol $false, Microsoft Learn 'Detect, enable, and disable SMBv1, SMBv2, and SMBv3 in "
        "Windows'; Samba: server min protocol = SMB2) and install MS17-010; a system that cannot (Windows XP/2003 "
        "HMIs, embedded NAS firmware) belongs in an isolated segment with SMB allowed only from its peers.")
    references: ClassVar[tuple[str, ...]] = (
        ref.NIST_SOFTWARE_UPDATE, ref.ETSI_KEEP_UPDATED, ref.ETSI_MINIMISE_SURFACE, ref.CWE_BROKEN_CRYPTO,
        "Microsoft Security Bulletin MS17-010 (CVE-2017-0144)", "Microsoft, 'Stop using SMB1' (Ned Pyle, 2016)")
    protos: ClassVar[frozenset[str]] = frozenset({"smb"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        fields = obs.fields
        if fields.get("smb1") is not True:
            return
        dialect = fields.get("dialect") or "SMB1"
        if fields.get("status") is not None:  # the server answered in SMB1
            if obs.kind == "negotiate_response" and not fields.get("smb1_selected"):
                return  # it refused every dialect offered (DialectIndex 0xFFFF)
            self.hit_subject(obs, SERVER_SEVERITY, roles="server", dialects=str(dialect), peers=obs.dst_ip or "",
                             ports=str(obs.src_port or ""))
        elif obs.kind != "negotiate_request" or fields.get("smb1_offered"):
            self.hit_subject(obs, CLIENT_SEVERITY, roles="client", dialects=str(dialect), peers=obs.dst_ip or "",
                             ports=str(obs.dst_port or ""))
