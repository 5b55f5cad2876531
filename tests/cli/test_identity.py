"""``iotwarden identity``: init, issue, list, expiring, enroll-token, revoke, crl, mqtt-config and
check-creds through the real command line entry point."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import iotwarden.cli.identity  # noqa: F401 - registers the command group (the lead adds it to main)
from iotwarden.cli.main import main
from iotwarden.identity import keystore


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IOTWARDEN_CA_PASSPHRASE", "correct horse battery staple")
    monkeypatch.setenv("IOTWARDEN_DB", str(tmp_path / "db.sqlite"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_ca_lifecycle_from_the_command_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["identity", "init", "--ca-dir", "ca", "--organization", "Example"]) == 0
    assert main(["identity", "issue", "cam-01", "--ca-dir", "ca", "--out", "dev", "--mac", "00:11:22:33:44:55",
                 "--ip", "10.0.0.5"]) == 0
    verify = subprocess.run(["openssl", "verify", "-CAfile", "ca/root.crt.pem", "-untrusted", "ca/issuing.crt.pem",
                             "dev/cam-01.crt.pem"], capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr
    capsys.readouterr()
    assert main(["identity", "list", "-f", "json"]) == 0
    (cert,) = json.loads(capsys.readouterr().out)["certificates"]
    assert cert["device_key"] == "mac:00:11:22:33:44:55" and cert["status"] == "valid"
    assert main(["identity", "expiring", "--days", "100", "-f", "json"]) == 0
    assert [c["serial"] for c in json.loads(capsys.readouterr().out)["certificates"]] == [cert["serial"]]
    assert main(["identity", "enroll-token", "cam-02"]) == 0
    assert len(capsys.readouterr().out.strip()) >= 40
    assert main(["identity", "revoke", cert["serial"], "--ca-dir", "ca", "--reason", "key_compromise"]) == 0
    assert main(["identity", "crl", "--ca-dir", "ca"]) == 0
    assert main(["identity", "mqtt-config", "--ca-dir", "ca", "--out", "mqtt", "--port", "18883"]) == 0
    assert "require_certificate true" in (env / "mqtt" / "mosquitto.conf").read_text()
    assert keystore.plaintext_keys(env / "ca") == []
    assert main(["identity", "revoke", cert["serial"], "--ca-dir", "ca"]) == 2  # already revoked: one line


def test_check_creds_refuses_targets_outside_the_scope(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["identity", "check-creds", "192.0.2.10/telnet", "--scope", "10.0.0.0/8", "-f", "json"]) == 0
    captured = capsys.readouterr()
    assert "outside the configured scope" in captured.err
    assert json.loads(captured.out)["findings"] == []
