"""HTTP Basic login attempts against a loopback server that challenges with 401 Basic (RFC 7617)."""

from __future__ import annotations

from iotwarden.identity.credcheck import http
from tests.identity.credcheck.servers import http_basic_server


def test_challenge_and_login() -> None:
    with http_basic_server("admin", "12345") as port:
        assert http.basic_challenge("127.0.0.1", port, timeout=3)
        assert http.try_login("127.0.0.1", port, "admin", "12345", timeout=3)
        assert not http.try_login("127.0.0.1", port, "admin", "admin", timeout=3)
