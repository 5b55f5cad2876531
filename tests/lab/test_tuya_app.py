"""Tuya discovery in the lab: a device's announcement every few seconds in the framing of its protocol
version, read back by the tuya dissector as the identity the scenario declares."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import dpkt
import pytest

from iotwarden.dissect.tuya import parse
from iotwarden.errors import ConfigError
from iotwarden.lab.generator import attack_params, behaviour_params
from iotwarden.lab.scenario import Scenario, parse_scenario, read_scenario_file
from iotwarden.lab.tuya_app import BEHAVIOURS, UDP_KEY
from iotwarden.lab.world import World
from tests.dissect.test_tuya import KEY

SMALL = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios" / "small.yaml"


def tuya_plug(**behaviour: Any) -> dict[str, Any]:
    return {"id": "tuya-plug", "vendor": "Gosund", "model": "SP111", "type": "smart_plug", "category": "IoT",
            "os": "Tuya firmware", "firmware": "1.0.10", "mac": "d8:1f:12:00:30:01", "hostname": "wlan0",
            "behaviours": [{"kind": "tuya", "product_key": "keyjup78v54myhan", **behaviour}]}


def _frames(device: dict[str, Any], seed: int = 3) -> tuple[list[tuple[float, dpkt.ethernet.Ethernet]], World]:
    raw = read_scenario_file(SMALL)
    raw["devices"].append(device)
    sc: Scenario = parse_scenario(raw, behaviour_params(), attack_params())
    world = World(sc, seed)
    dev = world.devices["tuya-plug"]
    act = next(b for b in dev.behaviours if b.kind == "tuya")
    return [(t, dpkt.ethernet.Ethernet(f)) for t, f in BEHAVIOURS["tuya"][0](world, dev, act)], world


def test_the_lab_uses_the_published_key() -> None:
    assert UDP_KEY == KEY


@pytest.mark.parametrize(("version", "port", "framing"), [("3.1", 6666, "plain"), ("3.3", 6667, "aes-ecb"),
                                                          ("3.4", 6667, "aes-ecb")])
def test_a_device_broadcasts_its_announcement_every_few_seconds(version: str, port: int, framing: str) -> None:
    frames, world = _frames(tuya_plug(version=version, gw_id="34305060807d3a1d7178"))
    times = [t for t, _ in frames]
    assert times[0] == world.start + 2.0
    assert all(4.0 <= b - a <= 6.0 for a, b in pairwise(times))  # every 5 s ± 20 %
    assert 10 <= len(frames) <= 13  # a minute of them
    eth = frames[0][1]
    ip, udp = eth.data, eth.data.data
    assert (eth.dst, ip.dst, udp.dport) == (b"\xff" * 6, b"\xff" * 4, port)
    assert {bytes(e.data.data.data) for _, e in frames} == {bytes(udp.data)}  # the same datagram each time
    kind, fields = parse(bytes(udp.data))
    assert kind == "announce"
    assert fields == {"command": 0 if version == "3.1" else 0x13, "framing": framing, "crc_valid": True,
                      "gw_id": "34305060807d3a1d7178",
                      "product_key": "keyjup78v54myhan", "version": version, "ip": world.ips["tuya-plug"],
                      "encrypt": True}


def test_the_default_device_id_is_stable_and_twenty_digits() -> None:
    first = parse(bytes(_frames(tuya_plug())[0][0][1].data.data.data))[1]["gw_id"]
    again = parse(bytes(_frames(tuya_plug())[0][0][1].data.data.data))[1]["gw_id"]
    assert first == again and len(first) == 20 and first.isdigit()


def test_a_version_the_lab_cannot_frame_is_refused() -> None:
    with pytest.raises(ConfigError, match="version"):
        _frames(tuya_plug(version="3.5"))
