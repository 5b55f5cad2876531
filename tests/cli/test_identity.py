"""``iotwarden identity``: init, issue, list, expiring, enroll-token, revoke, crl, mqtt-config and
check-creds through the real command line entry point."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import iotwarden.cli.identity  # noqa: F401 - registers its commands (cli.main imports it only when its command runs)
from iotwarden.cli.main import main
from iotwarden.identity import keystore
from iotwarden.identity.ca import ISSUING_KEY, ROOT_KEY
from tests.identity.conftest import TOKEN_LABEL, TOKEN_PIN, softhsm_fixture  # noqa: F401 - fixture ``softhsm``


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


def _secret_forms(key: keystore.PrivateKey) -> list[bytes]:
    """Every encoding a leaked CA key could take in a file: PKCS#8 DER, its base64 (the body of a PEM),
    the raw private scalar or seed."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    forms = [der, base64.b64encode(der)[:64]]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        forms.append(key.private_numbers().private_value.to_bytes(32, "big"))
    return forms


def test_ca_keys_are_never_written_unencrypted(env: Path) -> None:
    """After init, issue, revoke, crl, mqtt-config and the EST server certificate, every byte written
    (files, the SQLite store and its journal) is scanned: the CA keys appear in no form but encrypted,
    and the only plaintext private keys are the device's and the broker's, written on purpose."""
    assert main(["identity", "init", "--ca-dir", "ca"]) == 0
    assert main(["identity", "issue", "cam-01", "--ca-dir", "ca", "--out", "dev"]) == 0
    assert main(["identity", "crl", "--ca-dir", "ca"]) == 0
    assert main(["identity", "mqtt-config", "--ca-dir", "ca", "--out", "mqtt", "--port", "18883"]) == 0
    from iotwarden.identity.ca import DeviceCA
    from iotwarden.identity.estserver import ensure_server_cert
    from iotwarden.store import Store
    from iotwarden.store.identity_models import SqlIdentityRepository

    passphrase = "correct horse battery staple"
    with Store(f"sqlite:///{env / 'db.sqlite'}") as store:
        ensure_server_cert(DeviceCA.open(env / "ca", passphrase, SqlIdentityRepository(store)), env / "ca" / "est",
                           passphrase)
    secrets = [form for name in (ROOT_KEY, ISSUING_KEY)
               for form in _secret_forms(keystore.load(env / "ca" / name, passphrase))]
    written = [p for p in env.rglob("*") if p.is_file()]
    assert any(p.name == "db.sqlite" for p in written)
    leaks = [(p, i) for p in written for i, form in enumerate(secrets) if form in p.read_bytes()]
    assert leaks == []
    assert sorted(p.relative_to(env).as_posix() for p in keystore.plaintext_keys(env)) == [
        "dev/cam-01.key.pem", "mqtt/broker.key.pem"]


def test_a_ca_in_a_pkcs11_token_from_the_command_line(env: Path, softhsm: str, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IOTWARDEN_CA_PASSPHRASE", TOKEN_PIN)
    assert main(["identity", "init", "--ca-dir", "ca", "--pkcs11-module", softhsm, "--pkcs11-token", TOKEN_LABEL,
                 "--algorithm", "ec-p384"]) == 0
    assert f"keys on token '{TOKEN_LABEL}'" in capsys.readouterr().out
    assert main(["identity", "issue", "cam-07", "--ca-dir", "ca", "--out", "dev"]) == 0
    verify = subprocess.run(["openssl", "verify", "-CAfile", "ca/root.crt.pem", "-untrusted", "ca/issuing.crt.pem",
                             "dev/cam-07.crt.pem"], capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr
    assert main(["identity", "crl", "--ca-dir", "ca"]) == 0
    assert not (env / "ca" / ROOT_KEY).exists() and not (env / "ca" / ISSUING_KEY).exists()
    assert [p.relative_to(env).as_posix() for p in keystore.plaintext_keys(env)] == ["dev/cam-07.key.pem"]
    monkeypatch.setenv("IOTWARDEN_CA_PASSPHRASE", "99999999")
    capsys.readouterr()
    assert main(["identity", "crl", "--ca-dir", "ca"]) == 2
    assert "wrong PIN" in capsys.readouterr().err
    assert main(["identity", "init", "--ca-dir", "ca2", "--pkcs11-module", softhsm]) == 2  # token label missing


def test_est_serve_on_a_token_ca_with_a_short_pin_takes_a_server_key_passphrase_of_its_own(
        env: Path, softhsm: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    monkeypatch.setenv("IOTWARDEN_CA_PASSPHRASE", TOKEN_PIN)  # 8 digits: too short to encrypt a key file
    assert main(["identity", "init", "--ca-dir", "ca", "--pkcs11-module", softhsm, "--pkcs11-token", TOKEN_LABEL]) == 0
    served: list[object] = []
    monkeypatch.setattr(asyncio, "run", lambda coro: served.append(coro.close()))  # set up, do not serve
    capsys.readouterr()
    assert main(["identity", "est-serve", "--ca-dir", "ca", "--port", "0"]) == 2
    assert "--server-passphrase-env" in capsys.readouterr().err
    assert main(["identity", "est-serve", "--ca-dir", "ca", "--server-passphrase-env", "NO_SUCH_VAR"]) == 2
    assert "$NO_SUCH_VAR is not set" in capsys.readouterr().err
    monkeypatch.setenv("EST_KEY_PASSPHRASE", "a passphrase for the EST key")
    assert main(["identity", "est-serve", "--ca-dir", "ca", "--port", "0",
                 "--server-passphrase-env", "EST_KEY_PASSPHRASE"]) == 0
    assert len(served) == 1
    keystore.load(env / "ca" / "est" / "est-server.key.pem", "a passphrase for the EST key")  # encrypted with it


def test_init_sets_the_device_key_policy_and_issue_follows_it(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["identity", "init", "--ca-dir", "ca", "--device-key", "ec-p384", "--device-key", "rsa-3072"]) == 0
    assert json.loads((env / "ca" / "ca.json").read_text())["device_keys"] == ["ec-p384", "rsa-3072"]
    assert main(["identity", "issue", "cam-01", "--ca-dir", "ca", "--out", "dev"]) == 0  # the preferred: P-384
    key = serialization.load_pem_private_key((env / "dev" / "cam-01.key.pem").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1"
    capsys.readouterr()
    assert main(["identity", "issue", "cam-02", "--ca-dir", "ca", "--out", "dev", "--algorithm", "ec-p256"]) == 2
    assert "refused" in capsys.readouterr().err
    assert main(["identity", "init", "--ca-dir", "ca2", "--device-key", "dsa-1024"]) == 2
    assert "--device-key: unknown key algorithm 'dsa-1024'" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["identity", "crl", "--ca-dir", "ca", "--hours", "0"], "CRL validity must be between 0 and"),
    (["identity", "crl", "--ca-dir", "ca", "--hours", "1e11"], "CRL validity must be between 0 and"),  # past datetime
    (["identity", "crl", "--ca-dir", "ca", "--hours", "nan"], "CRL validity must be between 0 and"),
    (["identity", "crl", "--ca-dir", "ca", "-o", "ca"], "it is a folder"),
    (["identity", "issue", "cam-01", "--ca-dir", "ca", "--out", "ca/ca.json"], "it is a file"),
    (["identity", "mqtt-config", "--ca-dir", "ca", "--out", "ca/ca.json"], "it is a file"),
    (["identity", "est-serve", "--ca-dir", "ca", "--port", "70000"], "less than or equal to 65535"),
])
def test_bad_values_are_refused_before_anything_is_issued(env: Path, capsys: pytest.CaptureFixture[str],
                                                          argv: list[str], message: str) -> None:
    assert main(["identity", "init", "--ca-dir", "ca"]) == 0
    crl_before = (env / "ca" / "crl.pem").read_bytes()
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "internal error" not in err
    assert main(["identity", "list", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["certificates"] == []  # no certificate issued for a key not kept
    assert (env / "ca" / "crl.pem").read_bytes() == crl_before
