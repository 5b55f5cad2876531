"""The default suite refuses to talk to anything but loopback (network safety rule)."""

from __future__ import annotations

import socket

import pytest


def test_connect_to_a_non_loopback_address_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError, match="only loopback"):
        sock.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, and never attempted


def test_udp_to_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        tx.sendto(b"x", rx.getsockname())
        assert rx.recv(1) == b"x"
