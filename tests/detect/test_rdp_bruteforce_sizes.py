"""The byte thresholds of detect.bruteforce.rdp against what the client of an RDP connection sends, built from the
specs: a guess carries the X.224 request, the client side of a TLS handshake, CredSSP's TSRequest with an NTLM
NEGOTIATE_MESSAGE and the TSRequest with the AUTHENTICATE_MESSAGE ([MS-CSSP] §2.2.1, §3.1.5; [MS-NLMP] §2.2.1.1,
§2.2.1.3, §2.2.2.7); a TLS or NTLM probe of the port (nmap's ssl-cert, ssl-date and rdp-ntlm-info, testssl.sh) stops
before the AUTHENTICATE. OpenSSL's ClientHello is measured here, not assumed: OpenSSL pads a ClientHello shorter than
512 bytes to 512 (RFC 7685 padding), so its record is 517 bytes, more than the old 512-byte threshold by itself."""

from __future__ import annotations

import contextlib
import ssl
import struct
from pathlib import Path

from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.detect.rdp_bruteforce import RdpBruteForceDetector, RdpBruteForceOptions
from iotwarden.model import Flow
from tests.detect.runner import feed, tcp_flow
from tests.dissect import rdpbuild as b
from tests.risk.harness import (
    T0,
    certificate,
    client_hello,
    host,
    run_capture,
    server_flight,
    tcp,
    tls_record,
    write_pcap,
)

SCANNER = "10.0.0.77"
TLS13_RECORD = 5 + 1 + 16  # RFC 8446 §5.2: header, inner content type, AEAD tag (AES-GCM)


def openssl_client_hello() -> bytes:
    """The ClientHello record this host's OpenSSL sends with its defaults (no network: a memory BIO)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing)
    with contextlib.suppress(ssl.SSLWantReadError):  # it waits for the ServerHello: the hello was written
        conn.do_handshake()
    return outgoing.read()


def ntlm_negotiate() -> bytes:
    """NEGOTIATE_MESSAGE ([MS-NLMP] §2.2.1.1): signature, type 1, flags, empty domain and workstation, version."""
    return b"NTLMSSP\x00" + struct.pack("<II", 1, 0xE2088297) + bytes(16) + bytes([10, 0]) + struct.pack("<H", 19041) \
        + b"\x00\x00\x00\x0f"


def _av(av_id: int, value: bytes) -> bytes:
    return struct.pack("<HH", av_id, len(value)) + value


def ntlm_authenticate(user: str = "administrator", host: str = "HMI01", workstation: str = "KALI") -> bytes:
    """AUTHENTICATE_MESSAGE (§2.2.1.3) of a workgroup logon with an NTLMv2 response (§2.2.2.8): the server's target
    info echoed (NetBIOS and DNS names, timestamp) with the client's flags, channel bindings and target name
    (§2.2.2.1), an LMv2 response of zeros, the session key; as small as a real client makes it."""
    name = host.encode("utf-16-le")
    av = (_av(2, name) + _av(1, name) + _av(4, name) + _av(3, name) + _av(7, bytes(8)) + _av(6, b"\x02\x00\x00\x00")
          + _av(10, bytes(16)) + _av(9, f"TERMSRV/{host}".encode("utf-16-le")) + _av(0, b""))
    nt = bytes(16) + bytes([1, 1]) + bytes(6) + bytes(8) + bytes(8) + bytes(4) + av + bytes(4)  # §2.2.2.7
    payload = bytes(24) + nt + user.encode("utf-16-le") + workstation.encode("utf-16-le") + bytes(16)
    return b"NTLMSSP\x00" + struct.pack("<I", 3) + bytes(52) + bytes(8) + bytes(16) + payload  # 64 + version + MIC


def ts_request(token: bytes, *, pub_key_auth: int = 0, client_nonce: int = 0) -> bytes:
    """TSRequest ([MS-CSSP] §2.2.1), version 6: negoTokens [1] SEQUENCE OF SEQUENCE { [0] OCTET STRING },
    pubKeyAuth [3] (§3.1.5: a SHA-256 hash, encrypted: 32 + 16 bytes), clientNonce [5] (32 bytes)."""
    body = b.ber(b"\xa0", b.ber(b"\x02", b"\x06"))
    body += b.ber(b"\xa1", b.ber(b"\x30", b.ber(b"\x30", b.ber(b"\xa0", b.ber(b"\x04", token)))))
    if pub_key_auth:
        body += b.ber(b"\xa3", b.ber(b"\x04", bytes(pub_key_auth)))
    if client_nonce:
        body += b.ber(b"\xa5", b.ber(b"\x04", bytes(client_nonce)))
    return b.ber(b"\x30", body)


LEAN_CLIENT_HELLO = 200  # a small TLS 1.3 ClientHello (few suites, one key share, no padding): a lean custom tool


def client_bytes(*, authenticate: bool, hello: int | None = None) -> int:
    """What the client sends on one connection: X.224 request, TLS 1.3 (ClientHello, ChangeCipherSpec, Finished:
    RFC 8446 §4.4.4, 32 bytes with SHA-256), the NEGOTIATE TSRequest and, for a guess, the AUTHENTICATE one. The
    NTLM messages go raw, without SPNEGO's wrapping (mstsc wraps them: larger)."""
    hello = len(openssl_client_hello()) if hello is None else hello
    total = len(b.connection_request("administrator")) + hello + 6 + (4 + 32 + TLS13_RECORD)
    total += len(ts_request(ntlm_negotiate())) + TLS13_RECORD
    if authenticate:
        total += len(ts_request(ntlm_authenticate(), pub_key_auth=48, client_nonce=32)) + TLS13_RECORD
    return total


def _connections(client_payload: int, servers: int, per_server: int) -> list[Flow]:
    flows = []
    for s in range(servers):
        for i in range(per_server):
            flow = tcp_flow(SCANNER, f"10.0.1.{s + 1}", 3389, 100.0 + 40 * s + 2 * i, sport=40000 + 100 * s + i,
                            payload=(client_payload, 2_400), pkts=(8, 8), flags=(0x1B, 0x1F), app="rdp")
            flow.last_seen = flow.first_seen + 0.6
            flows.append(flow)
    return flows


def test_the_threshold_lies_between_a_probe_and_a_guess() -> None:
    threshold = RdpBruteForceOptions().min_client_bytes
    assert len(openssl_client_hello()) > 512  # what made the old threshold count a bare TLS probe
    probe = client_bytes(authenticate=False)  # OpenSSL's padded hello and an NTLM NEGOTIATE: ~0.71 KB
    lean_guess = client_bytes(authenticate=True, hello=LEAN_CLIENT_HELLO)  # the smallest guess modelled: ~0.87 KB
    assert probe < threshold < lean_guess < client_bytes(authenticate=True), (probe, threshold, lean_guess)


def test_nmap_style_probes_of_five_servers_are_no_spraying() -> None:
    # ssl-cert, ssl-date and rdp-ntlm-info each open one TLS connection per server (nmap -sC)
    flows = _connections(client_bytes(authenticate=False), servers=5, per_server=3)
    assert feed([RdpBruteForceDetector()], flows=flows) == []


def test_guesses_built_the_same_way_are_counted() -> None:
    guess = client_bytes(authenticate=True)
    assert [a.id for a in feed([RdpBruteForceDetector()], flows=_connections(guess, servers=1, per_server=10))] == [
        "detect.bruteforce.rdp"]
    assert [a.id for a in feed([RdpBruteForceDetector()], flows=_connections(guess, servers=5, per_server=1))] == [
        "detect.bruteforce.rdp_spray"]


def _nla_capture(path: Path, *, authenticate: bool, negotiate: int, authenticate_size: int, servers: int,
                 per_server: int) -> Path:
    """HYBRID connections from packets: X.224, TLS handshake, CredSSP's NEGOTIATE (``negotiate`` bytes in one
    record), the CHALLENGE, and for a guess the AUTHENTICATE and the server's error, then close."""
    der = certificate("HMI", not_before=T0, days=30, self_signed=True)
    frames = []
    for s in range(servers):
        for i in range(per_server):
            exchanges = [(True, b.connection_request("administrator")),
                         (False, b.connection_confirm(b.PROTOCOL_HYBRID)), (True, client_hello([0xC02F])),
                         (False, server_flight(0x0303, 0xC02F, [der])), (True, tls_record(23, bytes(negotiate))),
                         (False, tls_record(23, bytes(310)))]
            if authenticate:
                exchanges += [(True, tls_record(23, bytes(authenticate_size))), (False, tls_record(23, bytes(40)))]
            frames += tcp(host(77), host(10 + s), 3389, exchanges, t=T0 + 40 * s + 3 * i, seed=100 * s + i,
                          cport=40000 + 100 * s + i)
    return write_pcap(path, frames)


def test_from_packets_the_turns_decide_not_the_size(tmp_path: Path) -> None:
    # rdp-ntlm-info with a hello big enough to pass min_client_bytes: the CHALLENGE read, nothing after it
    probes = _nla_capture(tmp_path / "probe.pcap", authenticate=False, negotiate=900, authenticate_size=0,
                          servers=5, per_server=2)
    assert run_capture(probes, [RdpBruteForceDetector(), AlertPipeline()]).alerts == []
    # a lean client's guesses under min_client_bytes: its AUTHENTICATE after the CHALLENGE makes each an attempt
    guesses = _nla_capture(tmp_path / "guess.pcap", authenticate=True, negotiate=60, authenticate_size=300,
                           servers=1, per_server=10)
    assert [a.id for a in run_capture(guesses, [RdpBruteForceDetector(), AlertPipeline()]).alerts] == [
        "detect.bruteforce.rdp"]
