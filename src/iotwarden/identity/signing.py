"""Signing certificates, CRLs and OCSP responses with the CA key wherever it lives: a key the
cryptography library holds signs directly; a key in a PKCS#11 token signs the to-be-signed bytes of a
structure built with a throw-away stand-in key of the same kind, and its signature replaces the
stand-in's (the signed bytes and the signatureAlgorithm are the same for both).

Structures: Certificate (RFC 5280 §4.1), CertificateList (§5.1) and BasicOCSPResponse inside an
OCSPResponse (RFC 6960 §4.2.1): each is ``SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING, ... }``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509 import ocsp

from iotwarden.errors import IdentityError
from iotwarden.identity.keystore import PrivateKey
from iotwarden.identity.token import TokenKey

Signer = PrivateKey | TokenKey
_SEQUENCE, _BIT_STRING, _OCTET_STRING, _CONTEXT_0 = 0x30, 0x03, 0x04, 0xA0


def hash_for(key: Signer | x509.Certificate) -> hashes.HashAlgorithm | None:
    """SHA-256 for ECDSA and RSA; None for Ed25519, which hashes internally (RFC 8410 §6)."""
    public = key.public_key()
    return None if isinstance(public, ed25519.Ed25519PublicKey) else hashes.SHA256()


@lru_cache(maxsize=4)
def _stand_in(kind: str) -> PrivateKey:
    """A throw-away key giving the same signatureAlgorithm as a token key of ``kind`` (never stored)."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def _stand_in_for(key: TokenKey) -> PrivateKey:
    return _stand_in("ec" if key.algorithm.startswith("ec-") else "rsa" if key.algorithm.startswith("rsa-")
                     else "ed25519")


def sign_certificate(builder: x509.CertificateBuilder, key: Signer) -> x509.Certificate:
    if not isinstance(key, TokenKey):
        return builder.sign(key, hash_for(key))  # type: ignore[arg-type]
    draft = builder.sign(_stand_in_for(key), hash_for(key))  # type: ignore[arg-type]
    der = _with_signature(draft.public_bytes(serialization.Encoding.DER), key.sign(draft.tbs_certificate_bytes))
    cert = x509.load_der_x509_certificate(der)
    _check(cert.signature, cert.tbs_certificate_bytes, key)
    return cert


def sign_crl(builder: x509.CertificateRevocationListBuilder, key: Signer) -> x509.CertificateRevocationList:
    if not isinstance(key, TokenKey):
        return builder.sign(key, hash_for(key))  # type: ignore[arg-type]
    draft = builder.sign(_stand_in_for(key), hash_for(key))  # type: ignore[arg-type]
    der = _with_signature(draft.public_bytes(serialization.Encoding.DER), key.sign(draft.tbs_certlist_bytes))
    crl = x509.load_der_x509_crl(der)
    _check(crl.signature, crl.tbs_certlist_bytes, key)
    return crl


def sign_ocsp(builder: ocsp.OCSPResponseBuilder, key: Signer, responder: x509.Certificate) -> ocsp.OCSPResponse:
    """Sign with ``responder`` named by key hash and included (RFC 6960 §4.2.2.3, §4.2.1 ``certs``)."""
    if not isinstance(key, TokenKey):
        done = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder).certificates([responder])
        return done.sign(key, hash_for(key))
    # the library signs only with a key matching the responder certificate: draft with the stand-in's
    # own certificate, then put the real responder's key hash and certificate in its place
    stand_in = _stand_in_for(key)
    stand_in_cert = _stand_in_certificate(stand_in)
    draft = (builder.responder_id(ocsp.OCSPResponderEncoding.HASH, stand_in_cert).certificates([stand_in_cert])
             .sign(stand_in, hash_for(key)))
    # ResponderID byKey [2] EXPLICIT KeyHash: SHA-1 of the key BIT STRING, as SKI method 1 (RFC 5280 §4.2.1.2)
    fake, real = (b"\xa2\x16\x04\x14" + x509.SubjectKeyIdentifier.from_public_key(c.public_key()).digest
                  for c in (stand_in_cert, responder))
    if draft.tbs_response_bytes.count(fake) != 1:
        raise IdentityError("cannot place the responder key hash in the OCSP response")
    tbs = draft.tbs_response_bytes.replace(fake, real)
    certs = _tlv(_CONTEXT_0, _tlv(_SEQUENCE, responder.public_bytes(serialization.Encoding.DER)))
    der = _ocsp_resigned(draft.public_bytes(serialization.Encoding.DER), tbs, key.sign(tbs), certs)
    response = ocsp.load_der_ocsp_response(der)
    _check(response.signature, response.tbs_response_bytes, key)
    return response


@lru_cache(maxsize=4)
def _stand_in_certificate(key: PrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "stand-in")])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1)))
    return builder.sign(key, hash_for(key))  # type: ignore[arg-type]


def _check(signature: bytes, tbs: bytes, key: TokenKey) -> None:
    """Verify what the token signed under its public key before anything is handed out."""
    public = key.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, tbs, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415

            public.verify(signature, tbs, padding.PKCS1v15(), hashes.SHA256())
        else:
            public.verify(signature, tbs)
    except InvalidSignature:
        raise IdentityError("the PKCS#11 token returned a signature that does not verify") from None


# --- DER (X.690 §8.1): just enough to swap one BIT STRING and re-frame its parents -------------------

def _header(data: bytes, off: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of element) of the element at ``off``."""
    tag, first = data[off], data[off + 1]
    if first < 0x80:
        return tag, off + 2, off + 2 + first
    n = first & 0x7F
    length = int.from_bytes(data[off + 2 : off + 2 + n], "big")
    return tag, off + 2 + n, off + 2 + n + length


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def _parts(signed: bytes) -> tuple[bytes, bytes, bytes]:
    """(tbs, signatureAlgorithm, what follows the signature) of ``SEQUENCE { tbs, alg, BIT STRING, ... }``."""
    tag, start, end = _header(signed, 0)
    if tag != _SEQUENCE:
        raise IdentityError("not a signed DER structure")
    tbs_end = _header(signed, start)[2]
    alg_end = _header(signed, tbs_end)[2]
    bits_tag, _, bits_end = _header(signed, alg_end)
    if bits_tag != _BIT_STRING:
        raise IdentityError("signed DER structure without a signature BIT STRING")
    return signed[start:tbs_end], signed[tbs_end:alg_end], signed[bits_end:end]


def _signed(tbs: bytes, algorithm: bytes, signature: bytes, rest: bytes = b"") -> bytes:
    return _tlv(_SEQUENCE, tbs + algorithm + _tlv(_BIT_STRING, b"\x00" + signature) + rest)


def _with_signature(signed: bytes, signature: bytes) -> bytes:
    """``SEQUENCE { tbs, algorithm, BIT STRING, rest... }`` with the BIT STRING holding ``signature``."""
    tbs, algorithm, rest = _parts(signed)
    return _signed(tbs, algorithm, signature, rest)


def _ocsp_resigned(response: bytes, tbs: bytes, signature: bytes, certs: bytes) -> bytes:
    """OCSPResponse { responseStatus, [0] EXPLICIT ResponseBytes { responseType, response OCTET STRING
    (BasicOCSPResponse { tbsResponseData, signatureAlgorithm, signature, [0] certs }) } } rebuilt with
    ``tbs``, ``signature`` and ``certs`` (RFC 6960 §4.2.1)."""
    _, start, _ = _header(response, 0)
    status_end = _header(response, start)[2]
    tag, wrap_start, _ = _header(response, status_end)
    _, bytes_start, _ = _header(response, wrap_start)
    oid_end = _header(response, bytes_start)[2]
    octets_tag, basic_start, basic_end = _header(response, oid_end)
    if tag != _CONTEXT_0 or octets_tag != _OCTET_STRING:
        raise IdentityError("OCSP response without responseBytes")
    _, algorithm, _ = _parts(response[basic_start:basic_end])
    basic = _signed(tbs, algorithm, signature, certs)
    response_bytes = _tlv(_SEQUENCE, response[bytes_start:oid_end] + _tlv(_OCTET_STRING, basic))
    return _tlv(_SEQUENCE, response[start:status_end] + _tlv(_CONTEXT_0, response_bytes))
