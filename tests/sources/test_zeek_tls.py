"""ssl.log and x509.log read into the TLS dissector's Observations, in TSV and JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.model import Observation
from iotwarden.sources.zeek import read_zeek
from iotwarden.sources.zeek_tls import tls_version

DATA = Path(__file__).parent / "data"
LEAF = "2d3f0b8a7c9e1f4a6b5c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345"
CA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture(params=["zeek_tsv", "zeek_json"])
def logs(request: pytest.FixtureRequest) -> Path:
    return DATA / str(request.param)


def observations(path: Path) -> list[Observation]:
    return [o for b in read_zeek(path) for o in b.observations]


@pytest.mark.parametrize(("zeek", "ours"), [("TLSv12", "TLS 1.2"), ("TLSv13", "TLS 1.3"), ("TLSv10", "TLS 1.0"),
                                            ("SSLv3", "SSL 3.0"), ("DTLSv12", "DTLS 1.2"), ("unknown-64282", "0xfb1a")])
def test_versions_are_named_as_the_tls_dissector_names_them(zeek: str, ours: str) -> None:
    assert tls_version(zeek) == ours


def test_client_and_server_hello(logs: Path) -> None:
    got = observations(logs / "ssl.log")
    assert [(o.kind, o.src_ip, o.src_port) for o in got] == [
        ("client_hello", "192.168.10.50", 52000), ("server_hello", "192.168.10.30", 443),
        ("client_hello", "192.168.10.21", 40600), ("server_hello", "203.0.113.10", 443),
        ("client_hello", "192.168.10.21", 40610),  # the server never answered
    ]
    assert got[0].fields == {"sni": "printer.corp.example", "versions": ["TLS 1.2"], "alpn": ["http/1.1"],
                             "ja3": "e7d705a3286e19ea42f587b344ee6865",
                             "ja4": "t13d1516h2_8daaf6152771_e5627efa2ab1"}
    assert got[1].fields == {
        "version": "TLS 1.2", "cipher": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "alpn": ["http/1.1"],
        "curve": "secp256r1", "ja3s": "ae4edc6faf64d08308082ad26be60767", "ja4s": "t120200_c02f_344b017a1c47",
        "resumed": False, "established": True, "cert_chain_fps": [LEAF, CA],
        "validation_status": "unable to get local issuer certificate",
    }
    assert got[4].fields == {"sni": "mqtt.example-cam.com", "ja3": "6734f37431670b3ab4292b8f60f29984",
                             "ja4": "t12d1209h1_d34a8e72043a_b39be8c56a14"}


def test_x509_alone_has_no_addresses_and_uses_x509info_names(logs: Path) -> None:
    leaf, ca, old = observations(logs / "x509.log")
    assert (leaf.proto, leaf.kind, leaf.src_ip) == ("tls", "certificate", None)
    assert (leaf.fields["cert_count"], leaf.fields["cert_errors"]) == (1, 0)
    assert leaf.fields["certs"] == [{
        "subject": "CN=printer.corp.example,O=Example Printers,C=US",
        "issuer": "CN=Example Printers Device CA,O=Example Printers,C=US",
        "serial": "4e2a19c07d51", "not_before": "2023-01-01T00:00:00Z", "not_after": "2033-01-01T00:00:00Z",
        "signature_algorithm": "rsa_with_sha256", "self_signed": False, "key_type": "rsa", "key_bits": 2048,
        "san_dns": ["printer.corp.example", "printer"], "san_ip": ["192.168.10.30"], "sha256": LEAF,
    }]
    (ca_cert,) = ca.fields["certs"]
    assert (ca_cert["self_signed"], ca_cert["serial"]) == (True, "1")
    assert (ca_cert["key_type"], ca_cert["key_bits"]) == ("ec", 256)
    assert ca_cert["signature_algorithm"] == "ecdsa_with_sha256"
    assert (ca_cert["san_dns"], ca_cert["san_ip"]) == ([], [])
    (old_cert,) = old.fields["certs"]
    assert old_cert["sha1"] == "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"  # 40 hex digits: SHA-1
    assert old_cert["signature_algorithm"] == "rsa_with_sha1"
