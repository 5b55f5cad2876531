"""The credential check end to end against loopback servers the test starts (127.0.0.1/32 put in scope)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from iotwarden.identity.credcheck.check import DEFAULT_CREDS, MQTT_ANONYMOUS, CredentialChecker
from iotwarden.identity.credcheck.creds import Credential
from iotwarden.identity.credcheck.scope import RateLimiter, Scope, Target
from tests.identity.credcheck.servers import http_basic_server, mosquitto_server, ssh_server, telnet_server

CREDS = [Credential("root", "wrong", frozenset("*"), "test"), Credential("admin", "admin", frozenset({"*"}), "test"),
         Credential("root", "xc3511", frozenset({"telnet", "ssh"}), "mirai")]


def _checker(**kw: object) -> CredentialChecker:
    return CredentialChecker(Scope(["127.0.0.1/32"]), credentials=CREDS, timeout=3,
                             limiter=RateLimiter(min_interval_s=0.0, max_attempts=10), **kw)  # type: ignore[arg-type]


def test_telnet_default_password_is_found_as_a_critical_finding() -> None:
    with telnet_server("root", "xc3511") as port:
        result = _checker().check(Target("127.0.0.1", port, "telnet", device_key="mac:00:00:00:00:00:01"))
    assert result.attempts == 3
    (finding,) = result.findings
    assert finding.id == DEFAULT_CREDS and finding.severity == "critical"
    assert finding.subject == "mac:00:00:00:00:00:01"
    assert finding.evidence["username"] == "root" and finding.evidence["password"] == "x*****"


def test_http_and_ssh_defaults_are_found() -> None:
    with http_basic_server("admin", "admin") as port:
        result = _checker().check(Target("127.0.0.1", port, "http"))
    assert [f.id for f in result.findings] == [DEFAULT_CREDS] and result.findings[0].severity == "high"
    with ssh_server("admin", "admin") as port:
        result = _checker().check(Target("127.0.0.1", port, "ssh"))
    assert [f.evidence["username"] for f in result.findings] == ["admin"]


def test_a_service_without_default_credentials_gives_no_finding_and_respects_the_budget() -> None:
    with telnet_server("root", "S3cure-and-unique") as port:
        checker = CredentialChecker(Scope(["127.0.0.1/32"]), credentials=CREDS, timeout=3, max_attempts=2,
                                    limiter=RateLimiter(min_interval_s=0.0, max_attempts=2))
        result = checker.check(Target("127.0.0.1", port, "telnet"))
    assert result.findings == [] and result.attempts == 2


@pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="needs mosquitto")
def test_mqtt_password_file_and_anonymous_brokers(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with mosquitto_server(tmp_path / "a", "admin", "admin") as port:
        result = _checker().check(Target("127.0.0.1", port, "mqtt"))
    assert [f.id for f in result.findings] == [DEFAULT_CREDS]
    with mosquitto_server(tmp_path / "b", None, None) as port:
        result = _checker().check(Target("127.0.0.1", port, "mqtt"))
    assert [f.id for f in result.findings] == [MQTT_ANONYMOUS]


def test_unreachable_target_is_an_error_not_a_crash() -> None:
    from tests.identity.conftest import free_port

    result = _checker().check(Target("127.0.0.1", free_port(), "telnet"))
    assert result.findings == [] and result.error
