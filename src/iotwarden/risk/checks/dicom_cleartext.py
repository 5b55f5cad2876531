"""risk.dicom.cleartext: DICOM associations that move images or patient queries without TLS: protected
health information in the clear (DICOM PS3.15 Annex B.1 defines the TLS profile, IANA port 2762)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import endpoint_of, is_external

PS3_15_TLS = "DICOM PS3.15 Annex B.1 (Basic TLS Secure Transport Connection Profile)"
HIPAA_TRANSMISSION = "45 CFR §164.312(e)(1) (HIPAA Security Rule: transmission security)"


class DicomCleartext(Check):
    """Both ends of an accepted association whose presentation contexts store images or query patients
    (``phi_contexts``: storage, query/retrieve, modality worklist; not Verification or print). The dissector
    reads only unencrypted DICOM (TLS-wrapped DICOM is the TLS dissector's), so any such association it saw
    crossed the network in the clear. High when the other end is outside the site."""

    id: ClassVar[str] = "risk.dicom.cleartext"
    title: ClassVar[str] = "Medical images or patient data over cleartext DICOM"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Configure DICOM TLS (PS3.15 Annex B.1, port 2762) between modalities, "
                                  "archives and workstations, or carry the traffic in an encrypted tunnel; never "
                                  "expose an unencrypted DICOM port beyond the imaging network.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_DATA_PROTECTION, ref.ETSI_BEST_PRACTICE_CRYPTO,
                                             ref.ETSI_PERSONAL_DATA, ref.CWE_CLEARTEXT, PS3_15_TLS,
                                             HIPAA_TRANSMISSION)
    protos: ClassVar[frozenset[str]] = frozenset({"dicom"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "associate_ac" or not obs.fields.get("phi_contexts"):
            return
        severity: Severity = "high" if is_external(obs.src_ip) or is_external(obs.dst_ip) else "medium"
        classes = [str(c) for c in obs.fields.get("accepted_sop_classes", [])]
        port = str(obs.src_port or "")
        self.hit(endpoint_of(obs, "src"), obs.ts, severity, role="acceptor (SCP)", peers=obs.dst_ip or "",
                 sop_classes=classes, ports=port)
        self.hit(endpoint_of(obs, "dst"), obs.ts, severity, role="requestor (SCU)", peers=obs.src_ip or "",
                 sop_classes=classes, ports=port)
