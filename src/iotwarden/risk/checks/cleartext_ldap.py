"""risk.cleartext.ldap: a client that binds to LDAP with a simple bind (RFC 4511 §4.2: the DN and its password in
the BindRequest) on a connection without TLS: the service account's password crosses the network in cleartext.

Multifunction printers, scanners, badge systems and NVRs look users up in Active Directory this way (the
"LDAP pass-back" an attacker who reaches the device's web page also abuses). RFC 4513 §5.1.2 and §6.3.3: a simple
bind's password is protected only by TLS, started before it with StartTLS (§3) or by LDAPS on 636. The dissector
never sees a bind after a successful StartTLS (the stream is TLS from there), nor on 636.

The finding is about a working credential exposed, so a bind the directory refused for its password is left out:
answered invalidCredentials (49, RFC 4511 A.1), the password sent was wrong (a guessing tool's, which
detect.bruteforce.ldap reports, or a device's stale one), unless Active Directory's diagnostic says the password
was right and a later check refused the logon ("data 530", "531", "532", "701", "773": logon hours, workstation,
password expired, account expired, must change password: Win32 errors ERROR_INVALID_LOGON_HOURS,
ERROR_INVALID_WORKSTATION, ERROR_PASSWORD_EXPIRED, ERROR_ACCOUNT_EXPIRED, ERROR_PASSWORD_MUST_CHANGE of
[MS-ERREF] §2.2, which AD returns only after a valid password; "data 52e" ERROR_LOGON_FAILURE is a wrong one; read
by dissect/ldap.py :func:`~iotwarden.dissect.ldap.ad_refusal` into ``password_valid``, ``ad_error``, ``ad_reason``).
Such a bind is high, a right password in cleartext, with the fact ``answer`` naming the refusal's reason (the
account's password works, or will once reset: the exposure is no less than an accepted bind's).
Any other answer (success; strongerAuthRequired 8, which a DC requiring LDAP signing gives a cleartext simple bind
after the password crossed) and a bind whose answer is never seen count. A bind waits for its answer
(:data:`MAX_PENDING_BINDS`); one still unanswered at the end of the run counts.

A bind whose answer the capture lost (a snap length's cut, ``tcpdump -s 96``, or a hole: dissect/ldap.py reports
``bind_response_cut`` when the engine tells it of a gap in the server's direction) is judged on what was seen of
it. A result code in the captured head decides as a whole answer would (a 49 whose diagnostic was cut is a
refusal, as a 49 without one is). With no result seen, whether the password was accepted is not known, yet the
finding's fact, a non-empty simple bind password sent in cleartext, holds either way and is what an engineer
wants to know (the credential crossed the network, right or wrong): the bind is kept, at :data:`CUT_SEVERITY`
instead of high, with the fact ``answer`` saying it was cut, so no working credential is claimed. (Dropping it would
hide a device's cleartext binds in every cut capture; a device with any bind seen accepted stays high.)
"""

from __future__ import annotations

from collections import OrderedDict
from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Finding, Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check, Hit
from iotwarden.risk.subjects import SubjectIndex

LDAPS_PORTS = frozenset({636, 3269})  # IANA ldaps, msft-gc-ssl: TLS from the first byte
CWE_UNPROTECTED_CREDENTIALS = "CWE-523 (Unprotected Transport of Credentials)"
INVALID_CREDENTIALS = 49  # RFC 4511 A.1
CUT_SEVERITY: Severity = "medium"  # a bind whose answer the capture cut: sent in cleartext, acceptance not known
CUT_ANSWER = "cut by the capture (snap length or a gap): not known whether the password was accepted"
MAX_PENDING_BINDS = 10_000  # simple binds awaiting their answer (LRU); past it the oldest counts as unanswered
BindKey = tuple[str | None, int | None, str | None, int | None, object]  # client, port, server, port, message id


class CleartextLdap(Check):
    """The client of a ``bind_request`` (dissect/ldap.py, or Zeek's ldap.log "bind simple" with its REDACTED
    argument, sources/zeek_ldap.py) whose simple password is not empty and was not refused as wrong (its
    ``bind_response`` joined by connection and message id); the server is named in the evidence."""

    id: ClassVar[str] = "risk.cleartext.ldap"
    title: ClassVar[str] = "LDAP simple bind password in cleartext"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = (
        "Configure the device's LDAP (address book, scan-to-folder, user authentication) for LDAPS on 636 or "
        "StartTLS, or for a SASL/Kerberos bind; give its service account the least rights, change the password that "
        "was exposed, and on the domain controllers require LDAP signing and channel binding (Microsoft ADV190023).")
    references: ClassVar[tuple[str, ...]] = (
        ref.NIST_DATA_PROTECTION, ref.ETSI_BEST_PRACTICE_CRYPTO, ref.ETSI_PROTECT_CREDENTIALS, ref.CWE_CLEARTEXT,
        CWE_UNPROTECTED_CREDENTIALS, "RFC 4511 §4.2", "RFC 4513 §5.1.2, §6.3.3")
    protos: ClassVar[frozenset[str]] = frozenset({"ldap"})

    def __init__(self) -> None:
        super().__init__()
        self._pending: OrderedDict[BindKey, Observation] = OrderedDict()

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        f = obs.fields
        if obs.kind in ("bind_response", "bind_response_cut"):
            key = (obs.dst_ip, obs.dst_port, obs.src_ip, obs.src_port, f.get("message_id"))
            request = self._pending.pop(key, None)
            if request is None:
                return
            if obs.kind == "bind_response_cut" and f.get("result_code") is None:
                self._exposed(request, CUT_SEVERITY, answer=CUT_ANSWER)  # module docstring
            elif f.get("password_valid") is True:
                self._exposed(request, answer=f"password right, refused: {f.get('ad_reason')} (AD data "
                                              f"{f.get('ad_error')})")
            elif f.get("result_code") != INVALID_CREDENTIALS:
                self._exposed(request)
            return
        if obs.kind != "bind_request" or f.get("auth") != "simple" or f.get("password_present") is not True:
            return
        if obs.dst_port in LDAPS_PORTS:
            return
        key = (obs.src_ip, obs.src_port, obs.dst_ip, obs.dst_port, f.get("message_id"))
        self._pending[key] = obs
        self._pending.move_to_end(key)
        if len(self._pending) > MAX_PENDING_BINDS:
            self._exposed(self._pending.popitem(last=False)[1])

    def _exposed(self, request: Observation, severity: Severity | None = None, **facts: str) -> None:
        self.hit_subject(request, severity, servers=request.dst_ip or "", ports=str(request.dst_port or ""),
                         bind_names=str(request.fields.get("name") or "") or [], **facts)

    def findings(self, ctx: Context, subjects: SubjectIndex) -> list[Finding]:
        """Binds whose answer was never seen count too (the password crossed all the same). Pure, as the risk pass
        a monitor repeats needs: those binds are added to a copy of the hits, and may still be answered."""
        if not self._pending:
            return super().findings(ctx, subjects)
        kept, dropped = self.hits, self.dropped
        self.hits = {}
        for endpoint, found in kept.items():
            self.hits[endpoint] = copy = Hit(found.first_seen, found.last_seen, found.severity)
            copy.merge(found)
        try:
            for request in self._pending.values():
                self._exposed(request)
            return super().findings(ctx, subjects)
        finally:
            self.hits, self.dropped = kept, dropped
