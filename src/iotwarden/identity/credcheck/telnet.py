"""One Telnet login attempt (RFC 854): answer option negotiation with refusals, wait for the login
and password prompts, send the credential, and read whether a shell prompt or a failure follows."""

from __future__ import annotations

import re
import socket
import time

MAX_READ_BYTES = 16 * 1024  # bytes read per attempt before giving up on a prompt
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240  # RFC 854 command codes

LOGIN_PROMPT = re.compile(rb"(login|username|user name)\s*:\s*$", re.I)
PASSWORD_PROMPT = re.compile(rb"password\s*:\s*$", re.I)
FAILURE = re.compile(rb"incorrect|invalid|fail|denied|wrong|bad password|(login|username)\s*:\s*$", re.I)
SHELL = re.compile(rb"[#$>%]\s*$")


def strip_negotiation(data: bytes, sock: socket.socket | None = None) -> bytes:
    """``data`` without IAC sequences; DO/WILL requests are refused (WONT/DONT) on ``sock`` (RFC 854)."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b != IAC:
            out.append(b)
            i += 1
            continue
        if i + 1 >= len(data):
            break
        cmd = data[i + 1]
        if cmd in (DO, DONT, WILL, WONT) and i + 2 < len(data):
            if sock is not None and cmd in (DO, WILL):
                sock.sendall(bytes([IAC, WONT if cmd == DO else DONT, data[i + 2]]))
            i += 3
        elif cmd == SB:  # subnegotiation runs to IAC SE (RFC 855)
            end = data.find(bytes([IAC, SE]), i + 2)
            i = len(data) if end < 0 else end + 2
        elif cmd == IAC:  # escaped 0xff data byte
            out.append(IAC)
            i += 2
        else:
            i += 2
    return bytes(out)


def _read_until(sock: socket.socket, patterns: tuple[re.Pattern[bytes], ...], deadline: float) -> bytes:
    text = b""
    while len(text) < MAX_READ_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        if not chunk:
            break
        text += strip_negotiation(chunk, sock)
        if any(p.search(text) for p in patterns):
            break
    return text


def try_login(host: str, port: int, username: str, password: str, *, timeout: float = 5.0) -> bool:
    """True when the server shows a shell prompt after the credential; OSError if unreachable."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as sock:
        first = _read_until(sock, (LOGIN_PROMPT, PASSWORD_PROMPT), deadline)
        if LOGIN_PROMPT.search(first):
            sock.sendall(username.encode() + b"\r\n")
            if not PASSWORD_PROMPT.search(_read_until(sock, (PASSWORD_PROMPT, FAILURE, SHELL), deadline)):
                return False
        elif not PASSWORD_PROMPT.search(first):
            return False  # no login dialogue recognised
        sock.sendall(password.encode() + b"\r\n")
        after = _read_until(sock, (SHELL, FAILURE), deadline)
        return bool(SHELL.search(after)) and not FAILURE.search(after)
