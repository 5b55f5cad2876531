"""One MQTT 3.1.1 CONNECT with a username and password (OASIS MQTT 3.1.1 §3.1) and its CONNACK
return code (§3.2.2.3): 0 accepted, 4 bad user name or password, 5 not authorized."""

from __future__ import annotations

import secrets
import socket
import struct

PROTOCOL_LEVEL = 4  # MQTT 3.1.1 (§3.1.2.2)
KEEP_ALIVE_S = 10
ACCEPTED = 0


def _string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("!H", len(raw)) + raw  # UTF-8 string with 2-byte length (§1.5.3)


def _remaining_length(n: int) -> bytes:
    out = bytearray()  # variable byte integer (§2.2.3)
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def connect_packet(username: str | None, password: str | None, client_id: str) -> bytes:
    flags = 0x02  # clean session (§3.1.2.4)
    payload = _string(client_id)
    if username is not None:
        flags |= 0x80
        payload += _string(username)
        if password is not None:
            flags |= 0x40
            payload += _string(password)
    variable = _string("MQTT") + bytes([PROTOCOL_LEVEL, flags]) + struct.pack("!H", KEEP_ALIVE_S)
    body = variable + payload
    return bytes([0x10]) + _remaining_length(len(body)) + body


def connack_code(host: str, port: int, username: str | None, password: str | None, *, timeout: float = 5.0) -> int:
    """The CONNACK return code for this credential (None/None: anonymous); OSError if no CONNACK."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(connect_packet(username, password, f"iotwarden-{secrets.token_hex(4)}"))
        reply = b""
        while len(reply) < 4:
            chunk = sock.recv(4 - len(reply))
            if not chunk:
                break
            reply += chunk
        if len(reply) != 4 or reply[0] != 0x20 or reply[1] != 0x02:
            raise OSError(f"{host}:{port} did not answer with an MQTT CONNACK")
        if reply[3] == ACCEPTED:
            sock.sendall(b"\xe0\x00")  # DISCONNECT (§3.14)
        return reply[3]


def try_login(host: str, port: int, username: str, password: str, *, timeout: float = 5.0) -> bool:
    return connack_code(host, port, username, password, timeout=timeout) == ACCEPTED
