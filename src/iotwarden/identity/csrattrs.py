"""EST CSR attributes (RFC 7030 §4.5.2): what a device should put in its certificate request, as
``CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID``, encoded from a key algorithm and decoded back,
with asn1crypto.

The key is asked for the way §4.5.2's example asks for a P-384 key: an ``Attribute`` whose type is the
key's algorithm OID and whose value is its parameter (id-ecPublicKey with the named curve, RFC 5480
§2.1.1; rsaEncryption with the modulus size in bits), then the signature algorithm's OID alone
(ecdsa-with-SHA384, RFC 5758 §3.2). Ed25519 has no parameter and one OID for key and signature
(RFC 8410 §3), so it is asked for by that OID alone.
"""

from __future__ import annotations

import binascii
from typing import Any

from asn1crypto import core
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AttributeOID, PublicKeyAlgorithmOID, SignatureAlgorithmOID

from iotwarden.errors import IdentityError
from iotwarden.identity.keypolicy import CURVES, rsa_bits
from iotwarden.identity.keystore import KeyAlgorithm

MAX_CSRATTRS_BYTES = 4096  # a CsrAttrs answer larger than this is not decoded

ID_EC_PUBLIC_KEY = PublicKeyAlgorithmOID.EC_PUBLIC_KEY.dotted_string  # RFC 5480 §2.1.1
RSA_ENCRYPTION = PublicKeyAlgorithmOID.RSAES_PKCS1_v1_5.dotted_string  # RFC 8017 Appendix A.1
ID_ED25519 = PublicKeyAlgorithmOID.ED25519.dotted_string  # RFC 8410 §3
CHALLENGE_PASSWORD = AttributeOID.CHALLENGE_PASSWORD.dotted_string  # RFC 2985 §5.4.1, RFC 7030 §3.5
NAMED_CURVES = {  # RFC 5480 §2.1.1.1
    "secp256r1": ec.EllipticCurveOID.SECP256R1.dotted_string,
    "secp384r1": ec.EllipticCurveOID.SECP384R1.dotted_string,
}
# the signature each key is asked to sign its request with: a hash as strong as the key (RFC 5480 §4
# pairs P-256 with SHA-256 and P-384 with SHA-384; RSA 2048 and 3072 give at most 128-bit security,
# NIST SP 800-57 Part 1 Rev. 5 Table 2, which SHA-256 matches); Ed25519 hashes internally (RFC 8410 §6)
SIGNATURES: dict[KeyAlgorithm, str] = {
    "ec-p256": SignatureAlgorithmOID.ECDSA_WITH_SHA256.dotted_string,
    "ec-p384": SignatureAlgorithmOID.ECDSA_WITH_SHA384.dotted_string,
    "rsa-2048": SignatureAlgorithmOID.RSA_WITH_SHA256.dotted_string,
    "rsa-3072": SignatureAlgorithmOID.RSA_WITH_SHA256.dotted_string,
    "ed25519": SignatureAlgorithmOID.ED25519.dotted_string,
}

# one decoded AttrOrOID: an OID alone, or (attribute type, its values); a value is an OID (dotted),
# an INTEGER, or the DER of anything else
AttrValue = str | int | bytes
AttrOrOid = str | tuple[str, tuple[AttrValue, ...]]


# asn1crypto ships no type information, so its classes are Any to mypy
class _SetOfAny(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class _Attribute(core.Sequence):  # type: ignore[misc]
    """``Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET SIZE(1..MAX) OF ANY }`` (RFC 2986 §4.1)."""

    _fields = [("type", core.ObjectIdentifier), ("values", _SetOfAny)]  # noqa: RUF012 - asn1crypto's spec


class _AttrOrOID(core.Choice):  # type: ignore[misc]
    _alternatives = [("oid", core.ObjectIdentifier), ("attribute", _Attribute)]  # noqa: RUF012


class _CsrAttrs(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _AttrOrOID


def _oid(dotted: str) -> Any:
    return _AttrOrOID(name="oid", value=dotted)


def _attribute(kind: str, value: Any) -> Any:
    return _AttrOrOID(name="attribute", value=_Attribute({"type": kind, "values": [value]}))


def encode(algorithm: KeyAlgorithm, *, challenge_password: bool = False) -> bytes:
    """DER CsrAttrs asking for a key of ``algorithm`` and the signature that goes with it, and first,
    when ``challenge_password``, for the challengePassword attribute (RFC 7030 §3.5 linking)."""
    items = [_oid(CHALLENGE_PASSWORD)] if challenge_password else []
    bits = rsa_bits(algorithm)
    if algorithm in CURVES:
        items += [_attribute(ID_EC_PUBLIC_KEY, core.ObjectIdentifier(NAMED_CURVES[CURVES[algorithm]])),
                  _oid(SIGNATURES[algorithm])]
    elif bits is not None:
        items += [_attribute(RSA_ENCRYPTION, core.Integer(bits)), _oid(SIGNATURES[algorithm])]
    else:
        items.append(_oid(ID_ED25519))
    return bytes(_CsrAttrs(items).dump())


def _dotted(oid: Any) -> str:
    dotted = str(oid.dotted)
    if not dotted:
        raise ValueError("empty OBJECT IDENTIFIER")  # X.690 §8.19: at least one subidentifier
    return dotted


def _value(raw: Any) -> AttrValue:
    der = bytes(raw.dump())
    value = core.load(der, strict=True)
    if isinstance(value, core.ObjectIdentifier):
        return _dotted(value)
    if isinstance(value, core.Integer):
        return int(value.native)
    return der


def decode(der: bytes) -> list[AttrOrOid]:
    """The items of a DER CsrAttrs, in order; :class:`IdentityError` when it is not one."""
    if len(der) > MAX_CSRATTRS_BYTES:
        raise IdentityError(f"CSR attributes larger than {MAX_CSRATTRS_BYTES} bytes")
    try:
        parsed = _CsrAttrs.load(der, strict=True)
        out: list[AttrOrOid] = []
        for item in parsed:
            if item.name == "oid":
                out.append(_dotted(item.chosen))
            else:
                attr = item.chosen
                out.append((_dotted(attr["type"]), tuple(_value(v) for v in attr["values"])))
        if bytes(_CsrAttrs.load(der).dump(force=True)) != der:
            raise ValueError("not DER (indefinite length or a non-minimal encoding)")  # §4.5.2: DER
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise IdentityError(f"malformed CSR attributes (RFC 7030 §4.5.2): {exc}") from None
    return out


def requested_algorithm(items: list[AttrOrOid]) -> KeyAlgorithm | None:
    """The key algorithm ``items`` ask for (the first key attribute or Ed25519 OID), if one of ours."""
    for item in items:
        if item == ID_ED25519:
            return "ed25519"
        if isinstance(item, tuple) and item[1]:
            kind, (value, *_) = item
            if kind == ID_EC_PUBLIC_KEY:
                return next((a for a, curve in CURVES.items() if NAMED_CURVES[curve] == value), None)
            if kind == RSA_ENCRYPTION:
                return next((a for a in SIGNATURES if rsa_bits(a) == value), None)
    return None
