"""Scope and rate limit: nothing outside the CIDR list, no implicit loopback, OT refused by default,
and a refusal happens before any socket is opened."""

from __future__ import annotations

import socket

import pytest

from iotwarden.errors import ConfigError
from iotwarden.identity.credcheck.check import CredentialChecker
from iotwarden.identity.credcheck.creds import Credential
from iotwarden.identity.credcheck.scope import OutOfScope, RateLimiter, Scope, Target


def test_targets_outside_the_cidrs_and_names_are_refused() -> None:
    scope = Scope(["10.0.0.0/24", "2001:db8::/64"])
    scope.admit(Target("10.0.0.7", 23, "telnet"))
    scope.admit(Target("2001:db8::5", 22, "ssh"))
    for target in (Target("10.0.1.7", 23, "telnet"), Target("camera.lan", 23, "telnet"),
                   Target("10.0.0.7", 0, "telnet"), Target("10.0.0.7", 23, "ftp")):
        with pytest.raises(OutOfScope):
            scope.admit(target)


def test_loopback_is_not_implicitly_in_scope() -> None:
    with pytest.raises(OutOfScope, match="outside"):
        Scope(["10.0.0.0/8"]).admit(Target("127.0.0.1", 23, "telnet"))
    Scope(["127.0.0.1/32"]).admit(Target("127.0.0.1", 23, "telnet"))


def test_ot_devices_are_refused_unless_allowed() -> None:
    plc = Target("10.0.0.9", 23, "telnet", category="ot")
    with pytest.raises(OutOfScope, match="OT"):
        Scope(["10.0.0.0/24"]).admit(plc)
    Scope(["10.0.0.0/24"], allow_categories=["ot"]).admit(plc)


def test_bad_scopes_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        Scope([])
    with pytest.raises(ConfigError):
        Scope(["not-a-network"])


def test_out_of_scope_target_is_refused_before_any_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []

    class Spy(socket.socket):
        def __init__(self, *args: object, **kwargs: object) -> None:
            opened.append(args)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "socket", Spy)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: opened.append(a))
    checker = CredentialChecker(Scope(["127.0.0.1/32"]), credentials=[Credential("root", "root", frozenset("*"), "t")])
    for service in ("telnet", "ssh", "http", "mqtt"):
        with pytest.raises(OutOfScope):
            checker.check(Target("192.0.2.10", 23, service))  # TEST-NET-1 (RFC 5737)
    assert opened == []


def test_rate_limiter_spaces_attempts_and_caps_them() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(min_interval_s=2.0, max_attempts=3, clock=lambda: now[0], sleep=sleep)
    limiter.acquire("10.0.0.1")
    limiter.acquire("10.0.0.1")
    now[0] += 0.5
    limiter.acquire("10.0.0.1")
    limiter.acquire("10.0.0.2")  # another host is not held back
    assert slept == [2.0, 1.5]
    with pytest.raises(OutOfScope, match="3 login attempts"):
        limiter.acquire("10.0.0.1")
    assert limiter.attempts("10.0.0.1") == 3
