"""CA keys in a PKCS#11 token (SoftHSM): generated sensitive and never extractable, signatures that
verify under the public key read from the token, and one clear error for every way opening can fail."""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from iotwarden.errors import IdentityError
from iotwarden.identity.keystore import KeyAlgorithm
from iotwarden.identity.token import Token, TokenConfig
from tests.identity.conftest import TOKEN_LABEL, TOKEN_PIN


def _label() -> str:
    return f"t-{secrets.token_hex(4)}"


@pytest.mark.parametrize("algorithm", ["ec-p256", "ec-p384", "rsa-2048", "ed25519"])
def test_keys_are_made_on_the_token_and_sign(softhsm: str, algorithm: KeyAlgorithm) -> None:
    token = Token.open(TokenConfig(softhsm, TOKEN_LABEL), TOKEN_PIN)
    label = _label()
    key = token.generate(label, algorithm)
    assert token.attributes(label) == {"sensitive": True, "extractable": False, "never_extractable": True}
    data = b"tbsCertificate bytes"
    signature = key.sign(data)
    public = key.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        assert public.curve.name == {"ec-p256": "secp256r1", "ec-p384": "secp384r1"}[algorithm]
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public, rsa.RSAPublicKey):
        assert public.key_size == 2048
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(signature, data)
    # found again by label, same public key
    assert token.key(label, algorithm).public_key() == public
    with pytest.raises(IdentityError, match="already holds a key"):
        token.generate(label, algorithm)


def test_opening_failures_are_one_identity_error_each(softhsm: str) -> None:
    with pytest.raises(IdentityError, match="wrong PIN"):
        Token.open(TokenConfig(softhsm, TOKEN_LABEL), "00000000")
    with pytest.raises(IdentityError, match="no PKCS#11 token labelled 'absent'"):
        Token.open(TokenConfig(softhsm, "absent"), TOKEN_PIN)
    with pytest.raises(IdentityError, match="cannot load PKCS#11 module"):
        Token.open(TokenConfig("/nonexistent/libpkcs11.so", TOKEN_LABEL), TOKEN_PIN)
    token = Token.open(TokenConfig(softhsm, TOKEN_LABEL), TOKEN_PIN)
    with pytest.raises(IdentityError, match="no private key labelled"):
        token.key("never-made", "ec-p256")
    with pytest.raises(IdentityError, match=r"1\.\.64"):
        token.generate("x" * 65, "ec-p256")
