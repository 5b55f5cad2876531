"""One SSH password login attempt (RFC 4252 §8, and keyboard-interactive RFC 4256) through asyncssh.

The server's host key is not checked: only whether the default password opens a session matters."""

from __future__ import annotations

import asyncio

import asyncssh


async def _attempt(host: str, port: int, username: str, password: str, timeout: float) -> bool:
    try:
        async with asyncssh.connect(host, port, username=username, password=password, known_hosts=None,
                                    client_keys=None, agent_path=None, connect_timeout=timeout,
                                    login_timeout=timeout,
                                    preferred_auth="password,keyboard-interactive"):
            return True
    except asyncssh.PermissionDenied:
        return False
    except (TimeoutError, asyncssh.Error) as exc:
        raise OSError(f"SSH to {host}:{port} failed: {exc}") from None


def try_login(host: str, port: int, username: str, password: str, *, timeout: float = 5.0) -> bool:
    """True when the password opens a session; OSError when the server cannot be reached."""
    return asyncio.run(_attempt(host, port, username, password, timeout))
