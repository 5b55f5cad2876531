"""MQTT CONNECT attempts against a real Mosquitto with a password file, and an anonymous one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from iotwarden.identity.credcheck import mqtt
from tests.identity.credcheck.servers import mosquitto_server

pytestmark = pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="needs mosquitto")


def test_password_file_broker_answers_per_credential(tmp_path: Path) -> None:
    with mosquitto_server(tmp_path, "admin", "public") as port:
        assert mqtt.try_login("127.0.0.1", port, "admin", "public", timeout=3)
        assert not mqtt.try_login("127.0.0.1", port, "admin", "admin", timeout=3)
        assert mqtt.connack_code("127.0.0.1", port, None, None, timeout=3) != mqtt.ACCEPTED


def test_anonymous_broker_accepts_a_connect_without_credentials(tmp_path: Path) -> None:
    with mosquitto_server(tmp_path, None, None) as port:
        assert mqtt.connack_code("127.0.0.1", port, None, None, timeout=3) == mqtt.ACCEPTED


def test_connect_packet_layout() -> None:
    packet = mqtt.connect_packet("u", "p", "c")
    assert packet[0] == 0x10 and packet[1] == len(packet) - 2
    assert packet[2:8] == b"\x00\x04MQTT" and packet[8] == 4 and packet[9] == 0xC2
