"""Shared fixtures: the third-party test data in ../shared/data (never shipped, read in place)."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
# The tests read this checkout's code, in process (pyproject's pytest pythonpath) and in the CLI and services they
# start as subprocesses: a second checkout (a git worktree) run with another checkout's editable venv would otherwise
# import that checkout's src and test it instead.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p)
SHARED_DATA = Path(os.environ.get("IOTWARDEN_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared(*parts: str) -> Path:
    """Path of a file in ../shared/data; the test is skipped with a reason if the data is absent (called at a
    module's top, the whole module is: a skip there must not be a collection error)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test data not found: {path} (set IOTWARDEN_SHARED_DATA)", allow_module_level=True)
    return path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (set IOTWARDEN_SHARED_DATA)")
    return SHARED_DATA


# --- hypothesis: no per-example deadline unless a test sets one. The suite runs two workers on a shared 2-core
# machine, where an example that meets a lazily built table or an import first can pass hypothesis's default 200 ms
# (tests/sources/test_zeek_dcerpc.py's fuzz did, twice, under load): a fuzz test pins what a parser does with bad
# input, not how fast; speed is measured in bench/.
# The default profile is derandomized: every run (a laptop, CI on a clean clone, the landing check) tries the same
# examples, so a suite that passed here passes there; stop 25's landing check failed on an example the runs before
# it had not drawn. Exploring new examples is a deliberate run: HYPOTHESIS_PROFILE=explore (random, 10x examples;
# README "Fuzzing"), and what it finds becomes a fix and, where useful, an @example.
settings.register_profile("iotwarden", deadline=None, derandomize=True, database=None)
settings.register_profile("explore", deadline=None, max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "iotwarden"))


# --- network safety: the default suite may only talk to loopback (STYLE 13, README "Network safety")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto
_real_bind = socket.socket.bind
_real_sendmsg = socket.socket.sendmsg
SIOCGSKNS = 0x894C  # linux/sockios.h (Linux 4.9): a file descriptor of the socket's network namespace


def _netns(sock: socket.socket | None = None) -> int | None:
    """Inode of ``sock``'s network namespace (of this thread's when it cannot be read), None where neither can."""
    try:
        ns = fcntl.ioctl(sock.fileno(), SIOCGSKNS) if sock is not None and sock.fileno() >= 0 else None
    except OSError:
        ns = None
    try:
        if ns is None:
            return Path("/proc/thread-self/ns/net").stat().st_ino
        try:
            return os.fstat(ns).st_ino
        finally:
            os.close(ns)
    except OSError:
        return None


# the session's own network namespace and its interfaces but loopback: the real ones a packet socket may not open.
# A namespace a test makes (ip netns add, then setns) has interfaces of its own, even of the same names, and so has
# an interface a test adds here after the session started (a veth's near end)
_SESSION_NETNS = _netns()
_REAL_LINKS = {name for _, name in socket.if_nameindex()} - {"lo"}


def _check_link(sock: socket.socket, address: object) -> None:
    """Refuse a packet socket (AF_PACKET: raw frames, scapy's sendp/srp and conf.L2socket) bound or sending on a
    real interface of the session's own network namespace."""
    if sock.family != socket.AF_PACKET or not isinstance(address, tuple) or not address:
        return
    if str(address[0]) in _REAL_LINKS and _netns(sock) == _SESSION_NETNS:
        raise OSError(f"test tried to open a packet socket on {address[0]!r}, a real interface: only loopback and "
                      "interfaces the test made (in a network namespace of its own) are allowed")


def _check_target(sock: socket.socket, address: object) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return
    host = str(address[0])
    try:
        ip = ipaddress.ip_address(host.split("%", maxsplit=1)[0])
    except ValueError:
        if host == "localhost":
            return
        raise OSError(f"test tried to reach {host!r}: only loopback is allowed in the default suite") from None
    if not ip.is_loopback:
        raise OSError(f"test tried to reach {ip}: only loopback is allowed in the default suite")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_target(self, address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_target(self, address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_sendto(self: socket.socket, data: bytes, *args: object) -> int:
    _check_target(self, args[-1])
    _check_link(self, args[-1])
    return _real_sendto(self, data, *args)  # type: ignore[call-overload, no-any-return]


def _link_guarded_sendto(self: socket.socket, data: bytes, *args: object) -> int:
    _check_link(self, args[-1])
    return _real_sendto(self, data, *args)  # type: ignore[call-overload, no-any-return]


def _guarded_sendmsg(self: socket.socket, buffers: object, ancdata: object = (), flags: int = 0,
                     address: object = None, *, inet: bool = True) -> int:
    """sendmsg(2) with a destination is sendto's: the same checks (``inet`` False in a netns test: the link's only)."""
    if address is None:
        return _real_sendmsg(self, buffers, ancdata, flags)  # type: ignore[arg-type]
    if inet:
        _check_target(self, address)
    _check_link(self, address)
    return _real_sendmsg(self, buffers, ancdata, flags, address)  # type: ignore[arg-type]


def _link_guarded_sendmsg(self: socket.socket, buffers: object, ancdata: object = (), flags: int = 0,
                          address: object = None) -> int:
    return _guarded_sendmsg(self, buffers, ancdata, flags, address, inet=False)


def _guarded_bind(self: socket.socket, address: object) -> None:
    _check_link(self, address)
    return _real_bind(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _loopback_only(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any socket connection beyond loopback, except in tests marked ``netns`` (which send only
    between test hosts in namespaces they create themselves), and in every test a packet socket on a real
    interface (``_check_link``): a netns test opens its packet sockets inside its own namespaces."""
    monkeypatch.setattr(socket.socket, "bind", _guarded_bind)
    if request.node.get_closest_marker("netns"):
        monkeypatch.setattr(socket.socket, "sendto", _link_guarded_sendto)
        monkeypatch.setattr(socket.socket, "sendmsg", _link_guarded_sendmsg)
        return
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", _guarded_sendto)
    monkeypatch.setattr(socket.socket, "sendmsg", _guarded_sendmsg)
