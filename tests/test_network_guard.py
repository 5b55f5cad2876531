"""The default suite refuses to talk to anything but loopback, and to open a packet socket on a real interface
(network safety rule)."""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess

import pytest


def test_connect_to_a_non_loopback_address_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError, match="only loopback"):
        sock.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, and never attempted


def test_udp_to_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        tx.sendto(b"x", rx.getsockname())
        assert rx.recv(1) == b"x"


def _packet_socket() -> socket.socket:
    try:
        return socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # protocol 0: receives nothing
    except PermissionError:
        pytest.skip("packet sockets need root or CAP_NET_RAW")


def _real_link() -> str:
    links = sorted(name for _, name in socket.if_nameindex() if name != "lo")
    if not links:
        pytest.skip("no interface but loopback here (a suite run under unshare --net)")
    return links[0]


def test_a_packet_socket_on_a_real_interface_is_refused() -> None:
    """Raw frames (scapy's sendp, srp, conf.L2socket) bypass the address checks: a packet socket may not bind a
    real interface; binding sends nothing, so the check is safe to test even where the guard were missing."""
    with _packet_socket() as sock, pytest.raises(OSError, match=r"packet socket on .*a real interface"):
        sock.bind((_real_link(), 0))


def test_a_frame_sent_to_a_real_interface_is_refused() -> None:
    sock = _packet_socket()
    sock.close()  # closed: had the guard let it through, sendto would fail on the descriptor, sending nothing
    with pytest.raises(OSError, match=r"packet socket on .*a real interface"):
        sock.sendto(b"\xff" * 60, (_real_link(), 0))


def test_a_packet_socket_on_loopback_is_allowed() -> None:
    with _packet_socket() as sock:
        sock.bind(("lo", 0))
        assert sock.getsockname()[0] == "lo"


@pytest.mark.netns
def test_a_packet_socket_in_a_namespace_the_test_made_is_allowed_even_on_a_real_interfaces_name() -> None:
    """A netns test opens its packet sockets inside its own namespaces: their interfaces are the test's, even one
    named like a real interface here; and the guard still holds in a netns test outside them."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2")
    real = _real_link()
    netns = f"iwguard{os.getpid() % 100000}"
    try:
        subprocess.run(["ip", "netns", "add", netns], check=True, capture_output=True, timeout=20)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot create a network namespace here: {exc}")
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        subprocess.run(["ip", "-n", netns, "link", "add", real, "type", "veth", "peer", "name", "iwgpeer"], check=True,
                       capture_output=True, timeout=20)
        assert libc.setns(target, 0x40000000) == 0  # CLONE_NEWNET, this thread only
        try:
            inside = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        finally:
            assert libc.setns(own, 0x40000000) == 0
        with inside:
            inside.bind((real, 0))  # the namespace's own dummy interface
            assert inside.getsockname()[0] == real
        with _packet_socket() as sock, pytest.raises(OSError, match="a real interface"):
            sock.bind((real, 0))
    finally:
        os.close(own)
        os.close(target)
        subprocess.run(["ip", "netns", "delete", netns], check=False, capture_output=True, timeout=20)


def test_a_datagram_sent_with_sendmsg_beyond_loopback_is_refused() -> None:
    """sendmsg(2) names its destination as sendto does: the same guard (before: it passed unchecked)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.close()  # closed: had the guard let it through, sendmsg would fail on the descriptor, sending nothing
    with pytest.raises(OSError, match="only loopback"):
        sock.sendmsg([b"x"], [], 0, ("192.0.2.1", 9))  # TEST-NET-1


def test_a_frame_sent_with_sendmsg_to_a_real_interface_is_refused() -> None:
    sock = _packet_socket()
    sock.close()  # closed, as above: nothing could be sent
    with pytest.raises(OSError, match=r"packet socket on .*a real interface"):
        sock.sendmsg([b"\xff" * 60], [], 0, (_real_link(), 0))


def test_sendmsg_to_loopback_and_on_a_connected_socket_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        tx.sendmsg([b"x"], [], 0, rx.getsockname())
        assert rx.recv(1) == b"x"
        tx.connect(rx.getsockname())
        tx.sendmsg([b"y"])
        assert rx.recv(1) == b"y"
