"""The EST service (RFC 7030) without I/O: requests in, responses out. :mod:`estserver` carries it
over HTTPS. Operations (§3.2.2): ``cacerts``, ``simpleenroll``, ``simplereenroll``, ``csrattrs``;
also ``/ocsp`` (RFC 6960 Appendix A.1, POST) and ``/crl`` (DER CRL, RFC 2585 §3) for relying parties.

Authentication (§3.2.3, §3.3.2): ``simpleenroll`` takes a TLS client certificate that is either one
of our ``bootstrap`` certificates or one issued by a configured manufacturer (IDevID) CA, or else a
one-time enrolment token as the HTTP Basic password; ``simplereenroll`` takes only a valid
certificate of ours, whose subject the new request must repeat (§4.2.2).

Keys: ``csrattrs`` (§4.5.2) asks for the key the CA's device key policy prefers (keypolicy.py); a
request over EST whose key the policy does not accept is refused (400) before any token is spent.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from iotwarden.errors import IdentityError
from iotwarden.identity import ca as ca_mod
from iotwarden.identity import crl, csrattrs, lifecycle, ocsp, profiles
from iotwarden.identity.ca import DeviceCA
from iotwarden.identity.records import IssuedCert

PREFIX = "/.well-known/est/"  # §3.2.2
CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only"  # §4.1.3, §4.2.3
MAX_BODY_BYTES = 32 * 1024  # request bodies larger than this are refused (413)


@dataclass(slots=True)
class EstRequest:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""
    peer_chain: list[x509.Certificate] = field(default_factory=list)  # verified by TLS, leaf first


@dataclass(slots=True)
class EstResponse:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def _text(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> EstResponse:
    return EstResponse(status, (message + "\n").encode(), headers=headers or [])


def certs_only(certs: Sequence[x509.Certificate]) -> EstResponse:
    """A base64 degenerate PKCS#7 SignedData holding ``certs`` (RFC 5652 §5, §4.1.3 of RFC 7030)."""
    der = pkcs7.serialize_certificates(list(certs), serialization.Encoding.DER)
    return EstResponse(200, base64.encodebytes(der), CERTS_ONLY, [("Content-Transfer-Encoding", "base64")])


class EstService:
    """One EST server's logic over a :class:`DeviceCA`. ``bootstrap_trust`` are manufacturer CAs whose
    certificates (IDevIDs) may authenticate a first enrolment."""

    def __init__(self, ca: DeviceCA, *, bootstrap_trust: Sequence[x509.Certificate] = (),
                 realm: str = "iotwarden EST") -> None:
        self.ca = ca
        self.bootstrap_trust = list(bootstrap_trust)
        self.realm = realm

    def handle(self, req: EstRequest) -> EstResponse:
        """Answer one request; never raises for anything a client sends."""
        if len(req.body) > MAX_BODY_BYTES:
            return _text(413, f"request body larger than {MAX_BODY_BYTES} bytes")
        path = req.path.split("?", 1)[0]
        routes = {
            ("GET", PREFIX + "cacerts"): self._cacerts,
            ("GET", PREFIX + "csrattrs"): self._csrattrs,
            ("POST", PREFIX + "simpleenroll"): self._simpleenroll,
            ("POST", PREFIX + "simplereenroll"): self._simplereenroll,
            ("POST", "/ocsp"): self._ocsp,
            ("GET", "/crl"): self._crl,
        }
        handler = routes.get((req.method, path))
        if handler is None:
            known = any(p == path for _, p in routes)
            return _text(405, "method not allowed") if known else _text(404, "no such EST operation")
        try:
            return handler(req)
        except IdentityError as exc:
            return _text(400, str(exc))

    # --- anonymous operations ------------------------------------------------------------------------

    def _cacerts(self, _req: EstRequest) -> EstResponse:
        return certs_only(self.ca.chain)

    def _csrattrs(self, _req: EstRequest) -> EstResponse:
        """The key this CA's device profile prefers and the signature to go with it (§4.5.2). No
        challengePassword: requests are authenticated by the TLS client certificate or the HTTP Basic
        token, and this server does not ask for §3.5 tls-unique linking."""
        der = csrattrs.encode(self.ca.settings.key_policy.preferred, challenge_password=False)
        return EstResponse(200, base64.encodebytes(der), "application/csrattrs",
                           [("Content-Transfer-Encoding", "base64")])

    def _ocsp(self, req: EstRequest) -> EstResponse:
        return EstResponse(200, ocsp.respond(self.ca, req.body), "application/ocsp-response")

    def _crl(self, _req: EstRequest) -> EstResponse:
        path = self.ca.folder / crl.CRL_FILE
        if not path.exists():
            crl.publish(self.ca)
        der = x509.load_pem_x509_crl(path.read_bytes()).public_bytes(serialization.Encoding.DER)
        return EstResponse(200, der, "application/pkix-crl")

    # --- enrolment -----------------------------------------------------------------------------------

    def _csr(self, req: EstRequest) -> x509.CertificateSigningRequest:
        ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/pkcs10":
            raise IdentityError("Content-Type must be application/pkcs10 (RFC 7030 §4.2.1)")
        try:
            der = base64.b64decode(b"".join(req.body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise IdentityError("request body is not base64 (RFC 7030 §4.2.1, RFC 8951)") from None
        csr = ca_mod.load_csr(der)
        # before a token is spent: a key csrattrs did not offer is refused and the device may try again
        self.ca.settings.key_policy.check(csr.public_key())
        return csr

    def _our_record(self, cert: x509.Certificate) -> IssuedCert | None:
        """The repository record of a client certificate we issued, if it is still usable."""
        if not self.ca.issued_by_us(cert):
            return None
        rec = self.ca.repo.get_certificate(ca_mod.serial_hex(cert))
        now = self.ca.clock()
        if rec is None or rec.status != "valid" or not rec.not_before <= now < rec.not_after:
            return None
        return rec

    def _from_bootstrap_ca(self, cert: x509.Certificate) -> bool:
        for anchor in self.bootstrap_trust:
            try:
                cert.verify_directly_issued_by(anchor)
            except (InvalidSignature, ValueError, TypeError):
                continue
            return True
        return False

    def _unauthorized(self, why: str) -> EstResponse:
        return _text(401, why, [("WWW-Authenticate", f'Basic realm="{self.realm}"')])

    def _simpleenroll(self, req: EstRequest) -> EstResponse:
        token = _basic_password(req.headers.get("authorization", ""))
        if not req.peer_chain and token is None:  # authenticate before reading anything else
            return self._unauthorized("authenticate with a bootstrap certificate or an enrolment token")
        csr = self._csr(req)
        cn = profiles.common_name(csr.subject)
        if req.peer_chain:
            leaf = req.peer_chain[0]
            rec = self._our_record(leaf)
            if rec is not None and profiles.PROFILES[rec.profile].enrol_only:
                device_key, profile = rec.device_key, "device"
            elif rec is None and self._from_bootstrap_ca(leaf):
                device_key, profile = None, "device"
            elif rec is not None:
                return _text(403, "this certificate may only re-enrol: use simplereenroll (RFC 7030 §4.2.2)")
            else:
                return _text(403, "client certificate is revoked, expired or not trusted for enrolment")
            if cn != profiles.common_name(leaf.subject):
                return _text(403, "the request's CN must match the bootstrap certificate's CN")
            _, issued = self.ca.issue(csr, profile=profile, device_key=device_key, method="est")
            return self._issued(issued)
        assert token is not None
        granted = self.ca.repo.consume_token(lifecycle.token_hash(token), self.ca.clock())
        if granted is None:
            return self._unauthorized("enrolment token unknown, used or expired")
        if cn != granted.device_id:
            return _text(403, f"this token enrols device {granted.device_id!r} only")
        _, issued = self.ca.issue(csr, profile=granted.profile, device_key=granted.device_key, method="est")
        return self._issued(issued)

    def _simplereenroll(self, req: EstRequest) -> EstResponse:
        if not req.peer_chain:
            return self._unauthorized("re-enrolment needs the current certificate as TLS client certificate")
        leaf = req.peer_chain[0]
        rec = self._our_record(leaf)
        if rec is None or profiles.PROFILES[rec.profile].enrol_only:
            return _text(403, "client certificate is not a valid device certificate of this CA")
        csr = self._csr(req)
        if profiles.common_name(csr.subject) != rec.device_id or ca_mod.requested_sans(csr) != _sans(leaf):
            return _text(400, "subject and subjectAltName must repeat the current certificate (RFC 7030 §4.2.2)")
        _, issued = self.ca.issue(csr, profile=rec.profile, device_key=rec.device_key, method="est-reenroll")
        self.ca.repo.set_status(rec.serial, "superseded")
        return self._issued(issued)

    def _issued(self, rec: IssuedCert) -> EstResponse:
        return certs_only([x509.load_pem_x509_certificate(rec.pem.encode())])


def _sans(cert: x509.Certificate) -> list[x509.GeneralName]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


def _basic_password(header: str) -> str | None:
    """The password of an HTTP Basic ``Authorization`` header (RFC 7617 §2), or None."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    _, sep, password = decoded.partition(":")
    return password if sep and password else None
