"""COSE_Sign1 (RFC 9052 §4.2, §4.4) with a detached payload, signed with Ed25519 (EdDSA, RFC 9053
§2.2) or ECDSA P-256 with SHA-256 (ES256, RFC 9053 §2.1), on cbor2 and the cryptography package."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from iotwarden.errors import ParseError

COSE_SIGN1_TAG = 18  # RFC 9052 §2: COSE_Sign1_Tagged
HDR_ALG = 1  # RFC 9052 §3.1 "alg"
HDR_KID = 4  # RFC 9052 §3.1 "kid"
ALG_ES256 = -7  # RFC 9053 §2.1
ALG_EDDSA = -8  # RFC 9053 §2.2
ALG_NAMES = {ALG_ES256: "ES256", ALG_EDDSA: "EdDSA"}
P256_COORD = 32  # ES256 signature is r || s, each 32 bytes big-endian (RFC 9053 §2.1)

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def algorithm_for(key: PrivateKey | PublicKey) -> int:
    """The COSE algorithm a key signs with; only Ed25519 and P-256 keys are accepted."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return ALG_EDDSA
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return ALG_ES256
    raise ValueError("only Ed25519 and ECDSA P-256 keys are supported")


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The bytes that are signed: Sig_structure for COSE_Sign1 (RFC 9052 §4.4)."""
    return cbor2.dumps(["Signature1", protected, external_aad, payload])


@dataclass(frozen=True, slots=True)
class Sign1:
    """A decoded COSE_Sign1: the protected header bytes as signed, both header maps and the signature."""

    protected: bytes
    protected_map: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes | None  # None when detached (SUIT always detaches it)
    signature: bytes

    @property
    def alg(self) -> int | None:
        value = self.protected_map.get(HDR_ALG)
        return value if isinstance(value, int) else None

    @property
    def kid(self) -> bytes | None:
        value = self.unprotected.get(HDR_KID, self.protected_map.get(HDR_KID))
        return value if isinstance(value, bytes) else None


def sign1(key: PrivateKey, payload: bytes, kid: bytes) -> bytes:
    """A tagged COSE_Sign1 over ``payload``, left detached (payload field ``nil``)."""
    alg = algorithm_for(key)
    protected = cbor2.dumps({HDR_ALG: alg})
    tbs = sig_structure(protected, payload)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(tbs)
    else:
        r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(P256_COORD, "big") + s.to_bytes(P256_COORD, "big")
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {HDR_KID: kid}, None, signature]))


def decode_sign1(data: bytes) -> Sign1:
    """Decode a (tagged) COSE_Sign1; raises ParseError when it is not one."""
    try:
        obj = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise ParseError(f"COSE_Sign1 is not CBOR: {exc}") from None
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise ParseError(f"COSE tag {obj.tag} is not COSE_Sign1 ({COSE_SIGN1_TAG})")
        obj = obj.value
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        raise ParseError("COSE_Sign1 is not an array of 4")
    protected, unprotected, payload, signature = obj
    if not isinstance(protected, bytes) or not isinstance(unprotected, Mapping) or not isinstance(signature, bytes):
        raise ParseError("COSE_Sign1 fields have the wrong types")
    if payload is not None and not isinstance(payload, bytes):
        raise ParseError("COSE_Sign1 payload is neither bstr nor nil")
    try:
        pmap = cbor2.loads(protected) if protected else {}
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise ParseError(f"COSE protected header is not CBOR: {exc}") from None
    if not isinstance(pmap, Mapping):
        raise ParseError("COSE protected header is not a map")
    return Sign1(protected, pmap, unprotected, payload, signature)


def verify1(msg: Sign1, key: PublicKey, payload: bytes) -> bool:
    """Whether ``msg`` is a valid signature by ``key`` over the detached ``payload``; the algorithm in
    the protected header must be the key's (no algorithm substitution)."""
    if msg.alg != algorithm_for(key):
        return False
    tbs = sig_structure(msg.protected, payload)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(msg.signature, tbs)
        else:
            if len(msg.signature) != 2 * P256_COORD:
                return False
            r = int.from_bytes(msg.signature[:P256_COORD], "big")
            s = int.from_bytes(msg.signature[P256_COORD:], "big")
            key.verify(encode_dss_signature(r, s), tbs, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
