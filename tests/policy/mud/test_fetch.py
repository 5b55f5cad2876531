"""Fetching MUD files (RFC 8520 §10, §13) from an HTTPS server on 127.0.0.1 with a test CA:
https only, opt-in, cached for cache-validity, signatures verified with ``openssl cms``."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import shutil
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from iotwarden.errors import PolicyError
from iotwarden.policy.mud.fetch import FetchOptions, fetch, verify_signature
from iotwarden.policy.mud.generate import generate

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl binary not installed")
NOW = dt.datetime.now(dt.UTC)


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Certificate, Any] | None, *,
          ca: bool = False, san: str | None = None) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer[0].subject if issuer else name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(NOW - dt.timedelta(hours=1)).not_valid_after(NOW + dt.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san))]), critical=False)
    return b.sign(issuer[1] if issuer else key, hashes.SHA256())


class Pki:
    def __init__(self, root: Path) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = _cert("test MUD CA", ca_key, None, ca=True)
        self.ca_file = root / "ca.pem"
        self.ca_file.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = _cert("127.0.0.1", server_key, (self.ca, ca_key), san="127.0.0.1")
        self.server_pem = root / "server.pem"
        self.server_pem.write_bytes(server.public_bytes(serialization.Encoding.PEM) + server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.signer_key = ec.generate_private_key(ec.SECP256R1())
        self.signer = _cert("maker MUD signer", self.signer_key, (self.ca, ca_key))

    def sign(self, content: bytes) -> bytes:
        """A detached DER CMS SignedData (RFC 8520 §13.2)."""
        builder = pkcs7.PKCS7SignatureBuilder().set_data(content)
        return (builder.add_signer(self.signer, self.signer_key, hashes.SHA256())
                .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]))


class Server:
    """HTTPS on 127.0.0.1 serving ``files`` (path -> bytes) and counting requests."""

    def __init__(self, pki: Pki) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(pki.server_pem)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, name: str, *, signed: bool = False, validity: int = 48) -> str:
        url = f"{self.base}/{name}.json"
        profile = generate([], name=name, mud_url=url)
        profile.cache_validity = validity
        if signed:
            profile.mud_signature = f"{self.base}/{name}.p7s"
        body = json.dumps(profile.to_dict()).encode()
        self.files[f"/{name}.json"] = body
        return url

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def server(pki: Pki) -> Iterator[Server]:
    s = Server(pki)
    yield s
    s.close()


def opts(tmp_path: Path, pki: Pki, **kw: Any) -> FetchOptions:
    return FetchOptions(cache_dir=tmp_path / "cache", enabled=True, cafile=str(pki.ca_file), **kw)


def test_a_signed_profile_is_fetched_verified_and_cached(tmp_path: Path, pki: Pki, server: Server) -> None:
    url = server.publish("lamp", signed=True)
    server.files["/lamp.p7s"] = pki.sign(server.files["/lamp.json"])
    got = fetch(url, opts(tmp_path, pki), now=1000.0)
    assert (got.profile.mud_url, got.from_cache, got.signed) == (url, False, True)
    again = fetch(url, opts(tmp_path, pki), now=1000.0 + 47 * 3600)
    assert again.from_cache and again.signed and server.requests == ["/lamp.json", "/lamp.p7s"]
    # cache-validity (hours, RFC 8520 §3.6) over: fetched again
    assert not fetch(url, opts(tmp_path, pki), now=1000.0 + 49 * 3600).from_cache


def test_a_tampered_profile_fails_its_signature(tmp_path: Path, pki: Pki, server: Server) -> None:
    url = server.publish("lamp", signed=True)
    server.files["/lamp.p7s"] = pki.sign(server.files["/lamp.json"] + b" ")
    with pytest.raises(PolicyError, match="MUD signature does not verify"):
        fetch(url, opts(tmp_path, pki))
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_a_signature_from_an_untrusted_signer_fails(tmp_path: Path, pki: Pki, server: Server) -> None:
    other = Pki(tmp_path)
    url = server.publish("lamp", signed=True)
    server.files["/lamp.p7s"] = other.sign(server.files["/lamp.json"])
    with pytest.raises(PolicyError, match="MUD signature does not verify"):
        fetch(url, opts(tmp_path, pki))
    verify_signature(server.files["/lamp.json"], server.files["/lamp.p7s"], str(other.ca_file))


def test_unsigned_profiles_pass_unless_a_signature_is_required(tmp_path: Path, pki: Pki, server: Server) -> None:
    url = server.publish("plug")
    assert not fetch(url, opts(tmp_path, pki)).signed
    with pytest.raises(PolicyError, match="signature is required"):
        fetch(url, opts(tmp_path / "other", pki, require_signature=True))


def test_nothing_is_fetched_unless_the_operator_enables_it(tmp_path: Path, pki: Pki, server: Server) -> None:
    url = server.publish("plug")
    with pytest.raises(PolicyError, match="not enabled"):
        fetch(url, FetchOptions(cache_dir=tmp_path, cafile=str(pki.ca_file)))
    assert server.requests == []


def test_only_https(tmp_path: Path, pki: Pki) -> None:
    with pytest.raises(PolicyError, match="https only"):
        fetch("http://127.0.0.1:1/plug.json", opts(tmp_path, pki))


@pytest.mark.parametrize("url", ["https://[::1/plug.json", "https://127.0.0.1:99999/plug.json"])
def test_a_url_that_does_not_parse_is_refused(tmp_path: Path, pki: Pki, url: str) -> None:
    with pytest.raises(PolicyError, match="not a URL"):
        fetch(url, opts(tmp_path, pki))


@pytest.mark.parametrize("ca", ["missing.pem", ".", "junk.pem"])
def test_a_ca_file_that_holds_no_certificate_is_refused_before_connecting(tmp_path: Path, server: Server,
                                                                         ca: str) -> None:
    (tmp_path / "junk.pem").write_bytes(b"\x00not a certificate\n")
    url = server.publish("plug")
    with pytest.raises(PolicyError, match="cannot read trusted CA certificates"):
        fetch(url, FetchOptions(cache_dir=tmp_path / "cache", enabled=True, cafile=str(tmp_path / ca)))
    assert server.requests == []


def test_the_server_must_be_trusted(tmp_path: Path, pki: Pki, server: Server) -> None:
    url = server.publish("plug")
    with pytest.raises(PolicyError, match="cannot fetch"):
        fetch(url, FetchOptions(cache_dir=tmp_path, enabled=True, cafile=str(Pki(tmp_path).ca_file)))


def test_errors_of_the_served_file(tmp_path: Path, pki: Pki, server: Server) -> None:
    with pytest.raises(PolicyError, match="HTTP 404"):
        fetch(f"{server.base}/missing.json", opts(tmp_path, pki))
    server.files["/junk.json"] = b"{not json"
    with pytest.raises(PolicyError, match="not JSON"):
        fetch(f"{server.base}/junk.json", opts(tmp_path, pki))
    server.files["/deep.json"] = b"[" * 3000 + b"]" * 3000  # deeper than json's parser recurses
    with pytest.raises(PolicyError, match="not JSON: nested too deeply"):
        fetch(f"{server.base}/deep.json", opts(tmp_path, pki))
    url = server.publish("lamp")
    server.files["/moved.json"] = server.files["/lamp.json"]
    with pytest.raises(PolicyError, match="the file's mud-url is"):
        fetch(f"{server.base}/moved.json", opts(tmp_path, pki))
    server.files["/big.json"] = b" " * 2048
    with pytest.raises(PolicyError, match="larger than 1024 bytes"):
        fetch(f"{server.base}/big.json", opts(tmp_path, pki, max_bytes=1024))
    assert url.endswith("/lamp.json")
