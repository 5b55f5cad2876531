"""TLS records: ClientHello profiles with SNI, a server flight with a parseable, deterministic X.509 chain."""

from __future__ import annotations

import random

import dpkt
import pytest
from cryptography import x509

from iotwarden.lab import proto_tls


@pytest.mark.parametrize("profile", sorted(proto_tls.PROFILES))
def test_client_hello_carries_sni_ciphers_and_extensions(profile: str) -> None:
    raw = proto_tls.client_hello(random.Random(1), "device.example.com", profile, ["h2"])
    rec = dpkt.ssl.TLSRecord(raw)
    hello = dpkt.ssl.TLSHandshake(rec.data).data
    assert isinstance(hello, dpkt.ssl.TLSClientHello)
    assert list(hello.ciphersuites) == [dpkt.ssl_ciphersuites.BY_CODE[c] for c in proto_tls.PROFILES[profile]["ciphers"]
                                        if c in dpkt.ssl_ciphersuites.BY_CODE]
    exts = dict(hello.extensions)
    assert exts[0][5:] == b"device.example.com"


def test_certificate_chain_is_deterministic_and_names_the_host() -> None:
    a = proto_tls.certificate_chain("cloud.example", "Vendor", "Issuer", 1_700_000_000.0, 5)
    b = proto_tls.certificate_chain.__wrapped__("cloud.example", "Vendor", "Issuer", 1_700_000_000.0, 5)
    assert a == b and len(a) == 2
    leaf, ca = (x509.load_der_x509_certificate(c) for c in a)
    assert leaf.issuer == ca.subject
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["cloud.example"]
    (selfsigned,) = proto_tls.certificate_chain("cam.local", "Axis", None, 1_700_000_000.0, 5)
    cert = x509.load_der_x509_certificate(selfsigned)
    assert cert.issuer == cert.subject


def test_server_flight_contains_hello_certificate_key_exchange_done() -> None:
    chain = proto_tls.certificate_chain("s.example", "Org", None, 1_700_000_000.0, 1)
    raw = proto_tls.server_flight(random.Random(3), chain, "s.example", 1)
    rec = dpkt.ssl.TLSRecord(raw)
    body, types = rec.data, []
    while body:
        types.append(body[0])
        body = body[4 + int.from_bytes(body[1:4], "big"):]
    assert types == [2, 11, 12, 14]
    assert chain[0] in raw
