"""One HTTP Basic login attempt (RFC 7617) on a page that answers 401 with a Basic challenge."""

from __future__ import annotations

import base64
import http.client

MAX_BODY_BYTES = 64 * 1024  # response body read (and dropped) per attempt


def _get(host: str, port: int, path: str, timeout: float, authorization: str | None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"User-Agent": "iotwarden-credcheck", "Connection": "close"}
    if authorization:
        headers["Authorization"] = authorization
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read(MAX_BODY_BYTES)
        return response
    except http.client.HTTPException as exc:
        raise OSError(f"HTTP error from {host}:{port}: {exc}") from None
    finally:
        conn.close()


def basic_challenge(host: str, port: int, *, path: str = "/", timeout: float = 5.0) -> bool:
    """True when ``path`` answers 401 with ``WWW-Authenticate: Basic`` (RFC 7235 §4.1)."""
    response = _get(host, port, path, timeout, None)
    challenge = response.getheader("WWW-Authenticate") or ""
    return response.status == 401 and challenge.strip().lower().startswith("basic")


def try_login(host: str, port: int, username: str, password: str, *, path: str = "/", timeout: float = 5.0) -> bool:
    """True when the credential turns the 401 into a success (2xx or 3xx)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return _get(host, port, path, timeout, f"Basic {token}").status < 400
