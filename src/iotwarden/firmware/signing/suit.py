"""The IETF SUIT manifest in its CBOR encoding (draft-ietf-suit-manifest, RFC 9019 architecture, RFC 9124
information model): building a one-component manifest for a firmware image, wrapping it in a signed
SUIT_Envelope, and decoding an envelope back into a typed :class:`Manifest` (structure only: trust is
:mod:`.verify`'s business)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cbor2

from iotwarden.errors import ParseError

if TYPE_CHECKING:
    from iotwarden.firmware.signing import cose

# COSE (cryptography, ~50 ms CPU) is imported where an envelope is sealed or its signatures read, so the
# constants here (`firmware sign --sequence`'s bound shown by every firmware command's help) cost nothing

MAX_ENVELOPE_BYTES = 256 * 1024  # an envelope larger than this is refused before decoding
MAX_AUTH_BLOCKS = 8  # COSE authentication blocks read from one wrapper
MAX_TEXT_CHARS = 256  # one suit-text value

# draft-ietf-suit-manifest §8.2 CDDL: SUIT_Envelope_Tagged = #6.107(SUIT_Envelope)
SUIT_ENVELOPE_TAG = 107
# SUIT_Envelope keys (§8.2, IANA "SUIT Envelope Elements")
ENV_AUTHENTICATION = 2  # suit-authentication-wrapper
ENV_MANIFEST = 3  # suit-manifest
# SUIT_Manifest keys (§8.4, IANA "SUIT Manifest Elements")
MAN_VERSION = 1  # suit-manifest-version, must be 1
MAN_SEQUENCE = 2  # suit-manifest-sequence-number: monotonic, anti-rollback (RFC 9124 §3.2 REQ.SEC.MFST.CHECK)
MAX_SEQUENCE = 2**64 - 1  # it is a CBOR uint (RFC 9124 §8.4.2, RFC 8949 §3.1 major type 0): no bignum
MAN_COMMON = 3  # suit-common
MAN_REFERENCE_URI = 4  # suit-reference-uri
MAN_VALIDATE = 7  # suit-validate
MAN_INSTALL = 20  # suit-install (severable member)
MAN_TEXT = 23  # suit-text (severable member)
# SUIT_Common keys (§8.4.5)
COMMON_COMPONENTS = 2  # suit-components
COMMON_SHARED_SEQUENCE = 4  # suit-shared-sequence
# commands (§8.4.9, §8.4.10)
COND_VENDOR_ID = 1  # suit-condition-vendor-identifier
COND_CLASS_ID = 2  # suit-condition-class-identifier
COND_IMAGE_MATCH = 3  # suit-condition-image-match
DIR_OVERRIDE_PARAMETERS = 20  # suit-directive-override-parameters
DIR_FETCH = 21  # suit-directive-fetch
REPORT_POLICY = 15  # SUIT_Rep_Policy: record and report on success and failure (§8.4.7)
# parameters (§8.4.8)
PARAM_VENDOR_ID = 1  # suit-parameter-vendor-identifier: RFC 4122 UUID, 16 bytes
PARAM_CLASS_ID = 2  # suit-parameter-class-identifier: RFC 4122 UUID, 16 bytes
PARAM_IMAGE_DIGEST = 3  # suit-parameter-image-digest: bstr .cbor SUIT_Digest
PARAM_IMAGE_SIZE = 14  # suit-parameter-image-size
PARAM_URI = 21  # suit-parameter-uri
# SUIT_Digest (§8.4.2.1): [algorithm-id, bytes]; COSE algorithm -16 = SHA-256 (RFC 9054 §2.1)
DIGEST_SHA256 = -16
# suit-text component keys (§8.4.4)
TEXT_VENDOR_NAME = 1
TEXT_MODEL_NAME = 2
TEXT_COMPONENT_VERSION = 6
COMPONENT_ID = [b"\x00"]  # the single component: the device's firmware slot


def vendor_id(vendor_domain: str) -> uuid.UUID:
    """suit-parameter-vendor-identifier: UUID v5 in the DNS namespace of the vendor's domain (RFC 4122
    §4.3; draft-ietf-suit-manifest §8.4.8.2)."""
    return uuid.uuid5(uuid.NAMESPACE_DNS, vendor_domain)


def class_id(vendor_domain: str, model: str) -> uuid.UUID:
    """suit-parameter-class-identifier: UUID v5 of the model name in the vendor-id namespace (§8.4.8.2)."""
    return uuid.uuid5(vendor_id(vendor_domain), model)


@dataclass(frozen=True, slots=True)
class Manifest:
    """What one SUIT manifest states about one firmware image."""

    sequence: int
    vendor_id: bytes
    class_id: bytes
    digest_alg: int
    digest: bytes
    size: int
    uri: str | None = None
    vendor: str | None = None  # suit-text vendor name
    model: str | None = None  # suit-text model name
    version: str | None = None  # suit-text component version

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "vendor_id": str(uuid.UUID(bytes=self.vendor_id)) if len(self.vendor_id) == 16 else self.vendor_id.hex(),
            "class_id": str(uuid.UUID(bytes=self.class_id)) if len(self.class_id) == 16 else self.class_id.hex(),
            "digest_alg": self.digest_alg,
            "digest": self.digest.hex(),
            "size": self.size,
            "uri": self.uri,
            "vendor": self.vendor,
            "model": self.model,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded SUIT_Envelope: the manifest bytes exactly as signed, the digest the wrapper claims for
    them, the authentication blocks, and the manifest decoded."""

    manifest_bstr: bytes  # the encoded SUIT_Manifest (content of the suit-manifest bstr)
    claimed_digest: tuple[int, bytes]  # SUIT_Digest from the authentication wrapper
    digest_bstr: bytes  # the encoded SUIT_Digest: the COSE detached payload
    signatures: list[cose.Sign1]
    manifest: Manifest


def manifest_digest(manifest_bstr: bytes) -> bytes:
    """SHA-256 over the bstr-wrapped SUIT_Manifest as it sits in the envelope (§8.3)."""
    return hashlib.sha256(cbor2.dumps(manifest_bstr)).digest()


def build_manifest(
    *,
    vendor_domain: str,
    model: str,
    version: str,
    sequence: int,
    image_sha256: bytes,
    image_size: int,
    uri: str | None = None,
) -> bytes:
    """The encoded SUIT_Manifest of one image: identity checks and image parameters in the shared
    sequence, image match in suit-validate, fetch-then-match in suit-install when a URI is given."""
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence number must be 0 to {MAX_SEQUENCE} (a CBOR uint)")
    params: dict[int, Any] = {
        PARAM_VENDOR_ID: vendor_id(vendor_domain).bytes,
        PARAM_CLASS_ID: class_id(vendor_domain, model).bytes,
        PARAM_IMAGE_DIGEST: cbor2.dumps([DIGEST_SHA256, image_sha256]),
        PARAM_IMAGE_SIZE: image_size,
    }
    shared = [DIR_OVERRIDE_PARAMETERS, params, COND_VENDOR_ID, REPORT_POLICY, COND_CLASS_ID, REPORT_POLICY]
    common = {COMMON_COMPONENTS: [COMPONENT_ID], COMMON_SHARED_SEQUENCE: cbor2.dumps(shared)}
    text = {
        tuple(COMPONENT_ID): {TEXT_VENDOR_NAME: vendor_domain, TEXT_MODEL_NAME: model, TEXT_COMPONENT_VERSION: version}
    }
    manifest: dict[int, Any] = {
        MAN_VERSION: 1,
        MAN_SEQUENCE: sequence,
        MAN_COMMON: cbor2.dumps(common),
        MAN_VALIDATE: cbor2.dumps([COND_IMAGE_MATCH, REPORT_POLICY]),
        MAN_TEXT: cbor2.dumps(text),
    }
    if uri:
        manifest[MAN_INSTALL] = cbor2.dumps(
            [DIR_OVERRIDE_PARAMETERS, {PARAM_URI: uri}, DIR_FETCH, REPORT_POLICY, COND_IMAGE_MATCH, REPORT_POLICY]
        )
    return cbor2.dumps(manifest, canonical=True)


def seal(manifest_bstr: bytes, keys: list[cose.PrivateKey], kids: list[bytes]) -> bytes:
    """The tagged SUIT_Envelope: authentication wrapper (SUIT_Digest of the manifest, then one
    COSE_Sign1 per key over that digest, detached) and the manifest (§8.3)."""
    from iotwarden.firmware.signing import cose  # noqa: PLC0415 - see the imports

    digest_bstr = cbor2.dumps([DIGEST_SHA256, manifest_digest(manifest_bstr)])
    blocks = [cose.sign1(key, digest_bstr, kid) for key, kid in zip(keys, kids, strict=True)]
    auth = cbor2.dumps([digest_bstr, *blocks])
    return cbor2.dumps(cbor2.CBORTag(SUIT_ENVELOPE_TAG, {ENV_AUTHENTICATION: auth, ENV_MANIFEST: manifest_bstr}))


def _loads(data: Any, what: str) -> Any:
    if not isinstance(data, bytes):
        raise ParseError(f"{what} is not a byte string")
    try:
        return cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError, KeyError) as exc:
        raise ParseError(f"{what} is not valid CBOR: {exc}") from None


def _pairs(seq: list[Any], what: str) -> list[tuple[Any, Any]]:
    if not isinstance(seq, list | tuple) or len(seq) % 2:
        raise ParseError(f"{what} is not a list of command/argument pairs")
    return list(zip(seq[0::2], seq[1::2], strict=True))


def _digest(data: Any, what: str) -> tuple[int, bytes]:
    value = _loads(data, what)
    if not (
        isinstance(value, list | tuple)
        and len(value) >= 2
        and isinstance(value[0], int)
        and isinstance(value[1], bytes)
    ):
        raise ParseError(f"{what} is not a SUIT_Digest [algorithm-id, bytes]")
    return value[0], value[1]


def _text(man: Mapping[Any, Any]) -> dict[int, str]:
    if MAN_TEXT not in man:
        return {}
    text = _loads(man[MAN_TEXT], "suit-text")
    if not isinstance(text, Mapping):
        raise ParseError("suit-text is not a map")
    for key, value in text.items():
        if isinstance(key, tuple | list) and list(key) == COMPONENT_ID and isinstance(value, Mapping):
            return {k: v[:MAX_TEXT_CHARS] for k, v in value.items() if isinstance(k, int) and isinstance(v, str)}
    return {}


def decode_manifest(manifest_bstr: bytes) -> Manifest:
    """The typed view of an encoded SUIT_Manifest; raises ParseError on anything malformed or missing."""
    man = _loads(manifest_bstr, "suit-manifest")
    if not isinstance(man, Mapping):
        raise ParseError("suit-manifest is not a map")
    if man.get(MAN_VERSION) != 1:
        raise ParseError(f"suit-manifest-version {man.get(MAN_VERSION)!r} is not 1")
    seq = man.get(MAN_SEQUENCE)
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQUENCE:  # a bignum is no uint
        raise ParseError("suit-manifest-sequence-number missing or not an unsigned integer")
    common = _loads(man.get(MAN_COMMON), "suit-common")
    comps = common.get(COMMON_COMPONENTS) if isinstance(common, Mapping) else None
    if not isinstance(comps, list | tuple) or [list(c) if isinstance(c, list | tuple) else c for c in comps] != [
        COMPONENT_ID
    ]:
        raise ParseError("suit-common must name exactly one component [h'00']")
    params: dict[Any, Any] = {}
    conditions: set[int] = set()
    for cmd, arg in _pairs(_loads(common.get(COMMON_SHARED_SEQUENCE), "suit-shared-sequence"), "shared sequence"):
        if cmd == DIR_OVERRIDE_PARAMETERS and isinstance(arg, Mapping):
            params.update(arg)
        elif isinstance(cmd, int):
            conditions.add(cmd)
    if not {COND_VENDOR_ID, COND_CLASS_ID} <= conditions:
        raise ParseError("shared sequence lacks the vendor and class identifier conditions")
    vid, cid, size = params.get(PARAM_VENDOR_ID), params.get(PARAM_CLASS_ID), params.get(PARAM_IMAGE_SIZE)
    if not isinstance(vid, bytes) or not isinstance(cid, bytes):
        raise ParseError("vendor or class identifier missing")
    if not isinstance(size, int) or size < 0:
        raise ParseError("image size missing")
    alg, digest = _digest(params.get(PARAM_IMAGE_DIGEST), "image digest")
    uri = None
    if MAN_INSTALL in man:
        for cmd, arg in _pairs(_loads(man[MAN_INSTALL], "suit-install"), "install sequence"):
            if cmd == DIR_OVERRIDE_PARAMETERS and isinstance(arg, Mapping) and isinstance(arg.get(PARAM_URI), str):
                uri = arg[PARAM_URI]
    text = _text(man)
    return Manifest(
        seq,
        vid,
        cid,
        alg,
        digest,
        size,
        uri,
        text.get(TEXT_VENDOR_NAME),
        text.get(TEXT_MODEL_NAME),
        text.get(TEXT_COMPONENT_VERSION),
    )


def decode_envelope(data: bytes) -> Envelope:
    """Decode a SUIT_Envelope (tagged or not); raises ParseError when it is not a well-formed one."""
    from iotwarden.firmware.signing import cose  # noqa: PLC0415 - see the imports

    if len(data) > MAX_ENVELOPE_BYTES:
        raise ParseError(f"envelope larger than {MAX_ENVELOPE_BYTES} bytes")
    env = _loads(data, "SUIT_Envelope")
    if isinstance(env, cbor2.CBORTag):
        if env.tag != SUIT_ENVELOPE_TAG:
            raise ParseError(f"CBOR tag {env.tag} is not SUIT_Envelope ({SUIT_ENVELOPE_TAG})")
        env = env.value
    if not isinstance(env, Mapping) or ENV_AUTHENTICATION not in env or ENV_MANIFEST not in env:
        raise ParseError("SUIT_Envelope lacks suit-authentication-wrapper or suit-manifest")
    manifest_bstr = env[ENV_MANIFEST]
    if not isinstance(manifest_bstr, bytes):
        raise ParseError("suit-manifest is not a byte string")
    auth = _loads(env[ENV_AUTHENTICATION], "suit-authentication-wrapper")
    if not isinstance(auth, list | tuple) or not auth:
        raise ParseError("suit-authentication-wrapper is not a non-empty list")
    digest_bstr = auth[0]
    claimed = _digest(digest_bstr, "manifest digest")
    blocks = auth[1 : 1 + MAX_AUTH_BLOCKS]
    signatures = []
    for block in blocks:
        if not isinstance(block, bytes):
            raise ParseError("authentication block is not a byte string")
        signatures.append(cose.decode_sign1(block))
    return Envelope(manifest_bstr, claimed, digest_bstr, signatures, decode_manifest(manifest_bstr))
