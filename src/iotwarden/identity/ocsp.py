"""OCSP responses (RFC 6960) for certificates of the issuing CA, signed by the CA itself
(§4.2.2.2: the CA that issued the certificate may sign directly), from the repository's status.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509 import ocsp

from iotwarden.identity.ca import DeviceCA
from iotwarden.identity.crl import reason_flag
from iotwarden.identity.signing import sign_ocsp

RESPONSE_VALIDITY_HOURS = 1  # nextUpdate - thisUpdate of each single response (§4.2.1)
MAX_REQUEST_BYTES = 8 * 1024  # an OCSPRequest larger than this is answered malformedRequest


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def respond(ca: DeviceCA, request_der: bytes, *, now: float | None = None) -> bytes:
    """The DER OCSPResponse to ``request_der``: ``good``, ``revoked`` (with time and reason) or
    ``unknown`` for a serial we never issued; ``malformedRequest`` for bytes that are not a request
    and ``unauthorized`` (§2.3) for a request about another CA's certificates."""
    now = ca.clock() if now is None else now
    if len(request_der) > MAX_REQUEST_BYTES:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        req = ocsp.load_der_ocsp_request(request_der)
        serial = req.serial_number
        key_hash = req.issuer_key_hash
        algorithm = req.hash_algorithm
    except (ValueError, TypeError):
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    # issuerKeyHash: hash of the issuer's public key BIT STRING value (§4.1.1)
    if not isinstance(algorithm, hashes.SHA1 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512):
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    ours = hashes.Hash(algorithm)
    ours.update(_public_key_bits(ca.issuing))
    if key_hash != ours.finalize():
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)

    rec = ca.repo.get_certificate(format(serial, "x"))
    this_update = dt.datetime.fromtimestamp(now, dt.UTC)
    next_update = this_update + dt.timedelta(hours=RESPONSE_VALIDITY_HOURS)
    revoked_at: dt.datetime | None = None
    reason: x509.ReasonFlags | None = None
    if rec is None:
        status = ocsp.OCSPCertStatus.UNKNOWN
        cert = None
    else:
        cert = x509.load_pem_x509_certificate(rec.pem.encode())
        if rec.status == "revoked":
            status = ocsp.OCSPCertStatus.REVOKED
            revoked_at = dt.datetime.fromtimestamp(rec.revoked_at or now, dt.UTC)
            reason = reason_flag(rec.reason) if rec.reason and rec.reason != "unspecified" else None
        else:
            status = ocsp.OCSPCertStatus.GOOD
    builder = ocsp.OCSPResponseBuilder()
    if cert is not None:
        builder = builder.add_response(cert=cert, issuer=ca.issuing, algorithm=algorithm, cert_status=status,
                                       this_update=this_update, next_update=next_update,
                                       revocation_time=revoked_at, revocation_reason=reason)
    else:
        builder = builder.add_response_by_hash(
            issuer_name_hash=req.issuer_name_hash, issuer_key_hash=key_hash, serial_number=serial,
            algorithm=algorithm, cert_status=status, this_update=this_update, next_update=next_update,
            revocation_time=None, revocation_reason=None)
    nonce = _nonce(req)
    if nonce is not None:  # echo the nonce (§4.4.1) so the client can bind the response to its request
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    response = sign_ocsp(builder, ca.issuing_key, ca.issuing)
    return response.public_bytes(serialization.Encoding.DER)


def _nonce(req: ocsp.OCSPRequest) -> bytes | None:
    try:
        return req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except (x509.ExtensionNotFound, ValueError):
        return None


def _public_key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING contents of ``cert`` (what issuerKeyHash hashes)."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return b""
