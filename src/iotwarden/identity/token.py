"""CA keys held in a PKCS#11 token (OASIS PKCS#11 v2.40, through python-pkcs11; tested with SoftHSM):
generated on the token as sensitive and non-extractable (§4.9 ``CKA_SENSITIVE``, ``CKA_EXTRACTABLE``),
used only to sign, never exported, so no copy of them is ever written by us.

A :class:`TokenKey` signs the to-be-signed bytes of a certificate, CRL or OCSP response and returns the
signature as X.509 carries it (ECDSA as DER ``Ecdsa-Sig-Value``, RFC 5480 §2.2; RSA PKCS#1 v1.5; Ed25519
raw, RFC 8410 §6); :mod:`iotwarden.identity.signing` puts it in place.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from iotwarden.errors import IdentityError
from iotwarden.identity.keystore import KeyAlgorithm

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
MAX_LABEL_CHARS = 64  # CKA_LABEL of the keys we create
ED25519_OID = "1.3.101.112"  # RFC 8410 §3 id-Ed25519, the CKA_EC_PARAMS of a CKK_EC_EDWARDS key
_CURVES = {"ec-p256": "secp256r1", "ec-p384": "secp384r1"}


@dataclass(frozen=True, slots=True)
class TokenConfig:
    """Which PKCS#11 module and token hold the CA keys (kept in ``ca.json``; the PIN never is)."""

    module: str  # path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
    token_label: str  # CK_TOKEN_INFO.label

    def to_dict(self) -> dict[str, str]:
        return {"module": self.module, "token_label": self.token_label}


def _pkcs11() -> Any:
    try:
        import pkcs11  # noqa: PLC0415 - optional: only CAs kept in a token need it
    except ImportError:
        raise IdentityError("PKCS#11 support needs python-pkcs11 (pip install 'iotwarden[hsm]')") from None
    return pkcs11


def _fail(action: str, exc: BaseException) -> IdentityError:
    name = type(exc).__name__
    return IdentityError(f"PKCS#11 {action} failed: {name}{f' ({exc})' if str(exc) else ''}")


class TokenKey:
    """One private key on the token; signing is serialised (a PKCS#11 session runs one operation at a
    time) and the public half is read once."""

    def __init__(self, key: Any, public: PublicKey, algorithm: KeyAlgorithm, lock: threading.Lock) -> None:
        self._key = key
        self._public = public
        self.algorithm = algorithm
        self._lock = lock

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        """The signature over ``data`` (SHA-256 for ECDSA and RSA, as :func:`signing.hash_for` chooses)."""
        mech = _pkcs11().Mechanism
        try:
            with self._lock:
                if self.algorithm.startswith("ec-"):
                    raw = bytes(self._key.sign(hashlib.sha256(data).digest(), mechanism=mech.ECDSA))
                    half = len(raw) // 2
                    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
                if self.algorithm.startswith("rsa-"):
                    return bytes(self._key.sign(data, mechanism=mech.SHA256_RSA_PKCS))
                return bytes(self._key.sign(data, mechanism=mech.EDDSA))
        except _pkcs11().PKCS11Error as exc:
            raise _fail("signing", exc) from None


class Token:
    """A logged-in read/write session on one token.

    PKCS#11 keeps the login state per application, shared by all its sessions (v2.40 §5.6.2), so a
    second login in the same process fails. One session per token is therefore kept for the process
    and handed to every opener that presents the same PIN (compared as a salted digest; another PIN
    is refused as wrong)."""

    _open: dict[tuple[str, str], tuple[Token, bytes]] = {}  # noqa: RUF012 - the process-wide login state
    _open_lock = threading.Lock()
    _salt = secrets.token_bytes(16)

    def __init__(self, session: Any) -> None:
        self._session = session
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: TokenConfig, pin: str) -> Token:
        """Load the module, find the token by label and log in as the user with ``pin``."""
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), cls._salt, 1000)
        with cls._open_lock:
            known = cls._open.get((config.module, config.token_label))
            if known is not None:
                if not hmac.compare_digest(known[1], digest):
                    raise IdentityError(f"PKCS#11 token {config.token_label!r}: wrong PIN")
                return known[0]
            token = cls(cls._login(config, pin))
            cls._open[(config.module, config.token_label)] = (token, digest)
            return token

    @staticmethod
    def _login(config: TokenConfig, pin: str) -> Any:
        pkcs11 = _pkcs11()
        try:
            lib = pkcs11.lib(config.module)
        except (RuntimeError, OSError, pkcs11.PKCS11Error) as exc:
            raise IdentityError(f"cannot load PKCS#11 module {config.module}: {exc}") from None
        try:
            token = lib.get_token(token_label=config.token_label)
        except pkcs11.exceptions.NoSuchToken:
            raise IdentityError(f"no PKCS#11 token labelled {config.token_label!r} in {config.module}") from None
        except pkcs11.PKCS11Error as exc:
            raise _fail("token lookup", exc) from None
        try:
            return token.open(user_pin=pin, rw=True)
        except pkcs11.exceptions.PinIncorrect:
            raise IdentityError(f"PKCS#11 token {config.token_label!r}: wrong PIN") from None
        except pkcs11.PKCS11Error as exc:
            raise _fail("login", exc) from None

    def close(self) -> None:
        """End the session (and with it the login) for the whole process."""
        with self._open_lock:
            for k, (token, _) in list(self._open.items()):
                if token is self:
                    del self._open[k]
        self._session.close()

    def generate(self, label: str, algorithm: KeyAlgorithm) -> TokenKey:
        """A new key pair of ``algorithm`` stored on the token under ``label`` (which must be unused)."""
        pkcs11 = _pkcs11()
        attr, key_type = pkcs11.Attribute, pkcs11.KeyType
        if not 0 < len(label) <= MAX_LABEL_CHARS:
            raise IdentityError(f"token key label must have 1..{MAX_LABEL_CHARS} characters")
        if self._find(label) is not None:
            raise IdentityError(f"the token already holds a key labelled {label!r}")
        private = {attr.SENSITIVE: True, attr.EXTRACTABLE: False, attr.SIGN: True, attr.TOKEN: True}
        public = {attr.VERIFY: True, attr.TOKEN: True}
        try:
            if algorithm in _CURVES or algorithm == "ed25519":
                from pkcs11.util.ec import encode_named_curve_parameters  # noqa: PLC0415

                edwards = algorithm == "ed25519"
                params = self._session.create_domain_parameters(
                    key_type.EC_EDWARDS if edwards else key_type.EC,
                    {attr.EC_PARAMS: encode_named_curve_parameters(ED25519_OID if edwards else _CURVES[algorithm])},
                    local=True,
                )
                mech = pkcs11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN if edwards else pkcs11.Mechanism.EC_KEY_PAIR_GEN
                params.generate_keypair(store=True, label=label, mechanism=mech, public_template=public,
                                        private_template=private)
            elif algorithm in ("rsa-2048", "rsa-3072"):
                self._session.generate_keypair(key_type.RSA, int(algorithm[4:]), store=True, label=label,
                                               public_template=public, private_template=private)
            else:
                raise IdentityError(f"unknown key algorithm {algorithm!r}")
        except pkcs11.PKCS11Error as exc:
            raise _fail(f"{algorithm} key generation", exc) from None
        return self.key(label, algorithm)

    def key(self, label: str, algorithm: KeyAlgorithm) -> TokenKey:
        """The key pair stored under ``label``; :class:`IdentityError` when there is none."""
        pkcs11 = _pkcs11()
        found = self._find(label)
        if found is None:
            raise IdentityError(f"the PKCS#11 token holds no private key labelled {label!r}")
        try:
            pub = self._session.get_key(object_class=pkcs11.ObjectClass.PUBLIC_KEY, label=label)
            public = _public_key(pub, algorithm)
        except pkcs11.PKCS11Error as exc:
            raise _fail(f"reading the public key {label!r}", exc) from None
        return TokenKey(found, public, algorithm, self._lock)

    def attributes(self, label: str) -> dict[str, bool]:
        """CKA_SENSITIVE, CKA_EXTRACTABLE and CKA_NEVER_EXTRACTABLE of the private key ``label``."""
        attr = _pkcs11().Attribute
        key = self._find(label)
        if key is None:
            raise IdentityError(f"the PKCS#11 token holds no private key labelled {label!r}")
        return {"sensitive": bool(key[attr.SENSITIVE]), "extractable": bool(key[attr.EXTRACTABLE]),
                "never_extractable": bool(key[attr.NEVER_EXTRACTABLE])}

    def _find(self, label: str) -> Any:
        pkcs11 = _pkcs11()
        try:
            return self._session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=label)
        except pkcs11.exceptions.NoSuchKey:
            return None
        except pkcs11.exceptions.MultipleObjectsReturned:
            raise IdentityError(f"the PKCS#11 token holds several keys labelled {label!r}") from None


def _public_key(pub: Any, algorithm: KeyAlgorithm) -> PublicKey:
    attr = _pkcs11().Attribute
    if algorithm in _CURVES:
        from pkcs11.util.ec import encode_ec_public_key  # noqa: PLC0415

        key = serialization.load_der_public_key(encode_ec_public_key(pub))
    elif algorithm == "ed25519":
        point = bytes(pub[attr.EC_POINT])  # DER OCTET STRING around the 32-byte key (PKCS#11 3.0 §2.3.5)
        key = ed25519.Ed25519PublicKey.from_public_bytes(point[2:] if len(point) == 34 else point)
    else:
        numbers = rsa.RSAPublicNumbers(int.from_bytes(pub[attr.PUBLIC_EXPONENT], "big"),
                                       int.from_bytes(pub[attr.MODULUS], "big"))
        key = numbers.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise IdentityError(f"unexpected public key type {type(key).__name__} on the token")
    return key
