"""Mutual TLS for MQTT against a real Mosquitto run with what ``iotwarden identity mqtt-config`` writes:
an enrolled device connects under its CN as username, an unknown certificate is refused, and a revoked
one is refused after one CRL update (SIGHUP)."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import iotwarden.cli.identity  # noqa: F401 - registers ``iotwarden identity``
from iotwarden.cli.main import main
from iotwarden.identity import keystore, lifecycle, mosquitto, profiles
from iotwarden.identity.ca import ROOT_CERT, DeviceCA
from iotwarden.identity.records import IssuedCert
from iotwarden.store.identity_models import SqlIdentityRepository
from tests.identity.conftest import PASSPHRASE, free_port

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
pytestmark = pytest.mark.skipif(not MOSQUITTO or not shutil.which("mosquitto_pub"),
                                reason="needs mosquitto and mosquitto-clients")


class Broker:
    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.proc = subprocess.Popen([str(MOSQUITTO), "-c", str(config)], stderr=log.open("wb"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"mosquitto did not start: {log.read_text()}")

    def logged(self, text: str, timeout: float = 5.0) -> bool:
        """Whether the broker's log holds ``text`` within ``timeout``: Mosquitto writes a refused
        handshake's OpenSSL error after the client has already seen the connection close."""
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def reload(self) -> None:
        self.proc.send_signal(signal.SIGHUP)  # re-reads the configuration and the CRL
        time.sleep(0.5)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def broker(ca: DeviceCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Broker]:
    """A real Mosquitto started with the configuration ``iotwarden identity mqtt-config`` writes."""
    port = free_port()
    user = getpass.getuser() if os.geteuid() == 0 else None  # as root Mosquitto would drop to "mosquitto"
    monkeypatch.setenv("IOTWARDEN_CA_PASSPHRASE", PASSPHRASE)
    argv = ["identity", "mqtt-config", "--ca-dir", str(ca.folder), "--db", str(tmp_path / "iotwarden.db"),
            "--out", str(tmp_path / "mqtt"), "--port", str(port), *(["--user", user] if user else [])]
    assert main(argv) == 0
    b = Broker(tmp_path / "mqtt" / mosquitto.CONFIG, port, tmp_path / "mosquitto.log")
    yield b
    b.stop()


def _device(ca: DeviceCA, name: str, folder: Path) -> IssuedCert:
    key = keystore.generate()
    cert, rec = ca.issue_for_key(profiles.device_subject(name), key.public_key())
    (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keystore.write_private(folder / f"{name}.key", keystore.plain_pem(key))
    return rec


def _publish(broker: Broker, ca_file: Path, name: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "--cafile", str(ca_file),
                           "--cert", str(folder / f"{name}.crt"), "--key", str(folder / f"{name}.key"),
                           "-t", f"devices/{name}/state", "-m", "on", "-d"],
                          capture_output=True, text=True, timeout=20, check=False)


def test_the_configuration_requires_certificates_and_maps_the_cn_to_the_username(ca: DeviceCA, tmp_path: Path) -> None:
    files = mosquitto.write(ca, tmp_path / "m", port=8883)
    text = files.config.read_text()
    for line in ("require_certificate true", "use_identity_as_username true", f"crlfile {files.crl_file}",
                 "allow_anonymous false", "listener 8883 127.0.0.1"):
        assert line in text
    assert files.crl_file.exists()
    assert keystore.plaintext_keys(ca.folder) == []  # the broker key lives outside the CA folder


def test_enrolled_device_connects_under_its_cn(ca: DeviceCA, broker: Broker, tmp_path: Path) -> None:
    _device(ca, "cam-01", tmp_path)
    result = _publish(broker, ca.folder / ROOT_CERT, "cam-01", tmp_path)
    assert result.returncode == 0 and "received CONNACK (0)" in result.stdout
    assert broker.logged("u'cam-01'")  # use_identity_as_username


def test_unknown_certificate_is_refused(ca: DeviceCA, broker: Broker, tmp_path: Path,
                                        repo: SqlIdentityRepository) -> None:
    other = DeviceCA.init(tmp_path / "other-ca", PASSPHRASE, repo)
    _device(other, "intruder", tmp_path)
    result = _publish(broker, ca.folder / ROOT_CERT, "intruder", tmp_path)
    assert result.returncode != 0 and "CONNACK (0)" not in result.stdout


def test_a_revoked_certificate_is_refused_within_one_crl_update(ca: DeviceCA, broker: Broker, tmp_path: Path) -> None:
    victim = _device(ca, "cam-02", tmp_path)
    _device(ca, "cam-03", tmp_path)
    assert _publish(broker, ca.folder / ROOT_CERT, "cam-02", tmp_path).returncode == 0
    lifecycle.revoke(ca, victim.serial, "key_compromise")  # writes the new CRL Mosquitto points at
    broker.reload()
    deadline = time.monotonic() + 5  # the HUP is handled asynchronously: allow the broker a moment
    refused = _publish(broker, ca.folder / ROOT_CERT, "cam-02", tmp_path)
    while refused.returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        refused = _publish(broker, ca.folder / ROOT_CERT, "cam-02", tmp_path)
    assert refused.returncode != 0 and "CONNACK (0)" not in refused.stdout
    assert broker.logged("certificate verify failed")
    assert _publish(broker, ca.folder / ROOT_CERT, "cam-03", tmp_path).returncode == 0  # others unaffected
