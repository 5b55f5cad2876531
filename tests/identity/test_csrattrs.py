"""EST CSR attributes (RFC 7030 §4.5.2): each key algorithm is asked for by its key OID with the curve
or size as attribute value and by the matching signature OID, as openssl and pyasn1-modules' RFC 7030
module (two decoders besides ours) read them; RFC 7030's own example decodes; malformed input is one
IdentityError."""

from __future__ import annotations

import base64
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import IdentityError
from iotwarden.identity import csrattrs
from iotwarden.identity.keystore import KeyAlgorithm

# what each algorithm must be asked for, from the RFCs (not from the module under test):
# (key attribute type, its value) or None, then the OID asked alone
EXPECTED: dict[str, tuple[tuple[str, str | int] | None, str]] = {
    # id-ecPublicKey + prime256v1 (RFC 5480 §2.1.1, §2.1.1.1), ecdsa-with-SHA256 (RFC 5758 §3.2)
    "ec-p256": (("1.2.840.10045.2.1", "1.2.840.10045.3.1.7"), "1.2.840.10045.4.3.2"),
    # id-ecPublicKey + secp384r1, ecdsa-with-SHA384: RFC 7030 §4.5.2's own example
    "ec-p384": (("1.2.840.10045.2.1", "1.3.132.0.34"), "1.2.840.10045.4.3.3"),
    # rsaEncryption + modulus bits (RFC 8017 Appendix A.1), sha256WithRSAEncryption (RFC 4055 §5)
    "rsa-2048": (("1.2.840.113549.1.1.1", 2048), "1.2.840.113549.1.1.11"),
    "rsa-3072": (("1.2.840.113549.1.1.1", 3072), "1.2.840.113549.1.1.11"),
    # id-Ed25519 names key and signature (RFC 8410 §3)
    "ed25519": (None, "1.3.101.112"),
}
# openssl asn1parse's names for the same OIDs
OPENSSL_NAMES = {
    "ec-p256": ["id-ecPublicKey", "prime256v1", "ecdsa-with-SHA256"],
    "ec-p384": ["id-ecPublicKey", "secp384r1", "ecdsa-with-SHA384"],
    "rsa-2048": ["rsaEncryption", "INTEGER           :0800", "sha256WithRSAEncryption"],
    "rsa-3072": ["rsaEncryption", "INTEGER           :0C00", "sha256WithRSAEncryption"],
    "ed25519": ["ED25519"],
}
# RFC 7030 §4.5.2: challengePassword, P-384 key, extensionRequest for macAddress, ecdsa-with-SHA384
RFC7030_EXAMPLE = ("MEEGCSqGSIb3DQEJBzASBgcqhkjOPQIBMQcGBSuBBAAiMBYGCSqGSIb3DQEJDjEJ"
                   "BgcrBgEBAQEWBggqhkjOPQQDAw==")


def _expected_items(algorithm: str) -> list[Any]:
    attribute, oid = EXPECTED[algorithm]
    return ([] if attribute is None else [(attribute[0], (attribute[1],))]) + [oid]


@pytest.mark.parametrize("algorithm", list(EXPECTED))
def test_each_algorithm_is_asked_for_by_key_oid_parameter_and_signature(algorithm: KeyAlgorithm) -> None:
    items = csrattrs.decode(csrattrs.encode(algorithm))
    assert items == _expected_items(algorithm)
    assert csrattrs.requested_algorithm(items) == algorithm


@pytest.mark.parametrize("algorithm", list(EXPECTED))
def test_pyasn1_modules_rfc7030_reads_the_same(algorithm: KeyAlgorithm) -> None:
    rfc7030 = pytest.importorskip("pyasn1_modules.rfc7030")
    der_decoder = pytest.importorskip("pyasn1.codec.der.decoder")
    univ = pytest.importorskip("pyasn1.type.univ")
    parsed, rest = der_decoder.decode(csrattrs.encode(algorithm), asn1Spec=rfc7030.CsrAttrs())
    assert rest == b""
    items: list[Any] = []
    for item in parsed:
        if item.getName() == "oid":
            items.append(str(item["oid"]))
        else:
            attr = item["attribute"]
            values = []
            for raw in attr["attrValues"]:
                value, _ = der_decoder.decode(bytes(raw))
                values.append(int(value) if isinstance(value, univ.Integer) else str(value))
            items.append((str(attr["attrType"]), tuple(values)))
    assert items == _expected_items(algorithm)


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
@pytest.mark.parametrize("algorithm", list(EXPECTED))
def test_openssl_asn1parse_names_the_key_and_signature(algorithm: KeyAlgorithm) -> None:
    result = subprocess.run(["openssl", "asn1parse", "-inform", "DER"], input=csrattrs.encode(algorithm),
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    for name in OPENSSL_NAMES[algorithm]:
        assert name in text
    assert "challengePassword" not in text


def test_challenge_password_is_asked_first_only_when_wanted() -> None:
    items = csrattrs.decode(csrattrs.encode("ec-p384", challenge_password=True))
    assert items == ["1.2.840.113549.1.9.7", *_expected_items("ec-p384")]
    # the same items, in the same order, as the first, second and last of RFC 7030's example
    example = csrattrs.decode(base64.b64decode(RFC7030_EXAMPLE))
    assert [example[0], example[1], example[3]] == items
    assert example[2] == ("1.2.840.113549.1.9.14", ("1.3.6.1.1.1.1.22",))  # extensionRequest: macAddress
    assert csrattrs.requested_algorithm(example) == "ec-p384"


def test_keys_we_cannot_make_are_not_recognised() -> None:
    assert csrattrs.requested_algorithm([("1.2.840.113549.1.1.1", (4096,))]) is None
    assert csrattrs.requested_algorithm([("1.2.840.10045.2.1", ("1.3.132.0.35",))]) is None  # secp521r1
    assert csrattrs.requested_algorithm(["1.2.840.10045.4.3.2"]) is None  # a signature alone names no key


@pytest.mark.parametrize("der", [b"", b"\x30", b"\x31\x00", b"\x30\x80\x00\x00", b"\x30\x02\x06\x00",
                                 b"\x30\x03\x02\x01\x01", base64.b64decode(RFC7030_EXAMPLE) + b"\x00",
                                 b"\x30" + b"\x82\x20\x00" + b"\x06\x01\x2a" * 2730 + b"\x06\x02\x2a\x03"])
def test_malformed_attributes_are_one_identity_error(der: bytes) -> None:
    with pytest.raises(IdentityError, match="CSR attributes"):
        csrattrs.decode(der)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.builds(lambda tail: base64.b64decode(RFC7030_EXAMPLE)[:20] + tail,
                                           st.binary(max_size=60)))
def test_any_bytes_decode_or_raise_identity_error(der: bytes) -> None:
    try:
        items = csrattrs.decode(der)
    except IdentityError:
        return
    assert all(isinstance(item, str | tuple) for item in items)
