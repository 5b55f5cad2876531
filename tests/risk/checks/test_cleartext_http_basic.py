"""risk.cleartext.http_basic: Basic credentials (RFC 7617) over plain HTTP."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from tests.conftest import shared
from tests.risk.harness import analyse, found, hits, host, tcp, write_pcap

ID = "risk.cleartext.http_basic"


def test_real_capture_with_basic_auth_names_the_server_and_user() -> None:
    # suricata-verify mqtt-events-missing-connect also carries HTTP requests with Basic credentials
    # (a loopback capture: 127.0.0.1 is no inventory device, so the check's hit is what is checked)
    _, risk = analyse(shared("pcaps", "suricata_verify", "mqtt-events-missing-connect", "input.pcap"))
    (hit,) = hits(risk, ID).values()
    assert hit.severity == "high"
    assert hit.evidence()["usernames"] == ["satta"]


def test_device_sending_basic_challenge_is_medium_and_credentials_make_it_high(tmp_path: Path) -> None:
    token = base64.b64encode(b"admin:hunter2").decode()
    frames = tcp(host(10), host(22), 80, [
        (True, b"GET / HTTP/1.1\r\nHost: cam\r\n\r\n"),
        (False, b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"\r\nContent-Length: 0\r\n\r\n'),
    ])
    challenged, _ = analyse(write_pcap(tmp_path / "challenge.pcap", frames))
    assert found(challenged, ID)["mac:02:00:00:00:00:16"].severity == "medium"
    frames += tcp(host(10), host(22), 80, [
        (True, f"GET / HTTP/1.1\r\nHost: cam\r\nAuthorization: Basic {token}\r\n\r\n".encode()),
        (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ], t=1_709_542_900.0, cport=40001)
    sent, _ = analyse(write_pcap(tmp_path / "sent.pcap", frames))
    finding = found(sent, ID)["mac:02:00:00:00:00:16"]
    assert finding.severity == "high"
    assert finding.evidence["usernames"] == ["admin"]
    assert "hunter2" not in str(finding.to_dict())


def test_plain_http_without_authentication_is_not_flagged(small_lab: Any) -> None:
    ctx, _, _ = small_lab
    assert found(ctx, ID) == {}


def test_basic_credentials_in_a_head_of_bare_lf_line_ends_are_found(tmp_path: Path) -> None:
    # RFC 9112 §2.2: a server may take a bare LF for a line end, and an embedded one does; a client scripted so (a
    # credential-stuffing tool) had its head never ended, and its Basic credentials were never read
    token = base64.b64encode(b"admin:12345").decode()
    frames = tcp(host(10), host(22), 80, [
        (True, f"GET /ISAPI/Security/userCheck HTTP/1.1\nHost: cam\nAuthorization: Basic {token}\n\n".encode()),
        (False, b"HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
    ])
    ctx, _ = analyse(write_pcap(tmp_path / "lf.pcap", frames))
    finding = found(ctx, ID)["mac:02:00:00:00:00:16"]
    assert finding.severity == "high" and finding.evidence["usernames"] == ["admin"]


def test_basic_credentials_sent_through_a_proxys_connect_tunnel_are_seen(tmp_path: Path) -> None:
    # a client logging in to a camera through a forward proxy (CONNECT cam:80, then cleartext HTTP in the tunnel):
    # at 56b0f7b the tunnel's HTTP was not read and the credentials went unseen. The request's addresses are the
    # client's and the proxy's (the connection the sensor saw): the hit names the proxy, the camera as host
    token = base64.b64encode(b"admin:hunter2").decode()
    frames = tcp(host(10), host(22), 3128, [
        (True, b"CONNECT cam.example.com:80 HTTP/1.1\r\nHost: cam.example.com:80\r\n\r\n"),
        (False, b"HTTP/1.1 200 Connection established\r\n\r\n"),
        (True, f"GET / HTTP/1.1\r\nHost: cam.example.com\r\nAuthorization: Basic {token}\r\n\r\n".encode()),
        (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ])
    _, risk = analyse(write_pcap(tmp_path / "proxied.pcap", frames))
    (hit,) = hits(risk, ID).values()
    assert hit.severity == "high"
    assert (hit.evidence()["usernames"], hit.evidence()["hosts"]) == (["admin"], ["cam.example.com"])
