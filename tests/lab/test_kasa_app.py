"""TP-Link Kasa in the lab: the app's discovery broadcast, each Kasa device's answer and a hub's tcp/9999
poll, read back by the kasa dissector as the sysinfo the scenario declares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dpkt
import pytest

from iotwarden.dissect.kasa import KasaDissector, parse
from iotwarden.errors import ConfigError
from iotwarden.lab.generator import attack_params, behaviour_params
from iotwarden.lab.kasa_app import BEHAVIOURS, KASA_PORT, encrypt
from iotwarden.lab.scenario import Scenario, parse_scenario, read_scenario_file
from iotwarden.lab.world import World
from tests.dissect.hostile import feed_chunks
from tests.dissect.test_kasa import DISCOVERY
from tests.dissect.test_kasa import encrypt as softscheck_encrypt

SMALL = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios" / "small.yaml"
PLUG = {"id": "kasa-plug", "vendor": "TP-Link", "model": "HS110", "type": "smart_plug", "category": "IoT",
        "os": "Kasa firmware", "firmware": "1.2.6 Build 200727 Rel.121701", "mac": "50:c7:bf:0b:1c:2d",
        "hostname": "HS110", "behaviours": [{"kind": "kasa", "dev_name": "Wi-Fi Smart Plug With Energy Monitoring"}]}
BULB = {"id": "kasa-bulb", "vendor": "TP-Link", "model": "KL130", "type": "smart_bulb", "category": "IoT",
        "os": "Kasa firmware", "firmware": "1.8.11 Build 191113 Rel.105336", "mac": "50:c7:bf:11:22:33",
        "hostname": "KL130", "behaviours": [{"kind": "kasa", "family": "IOT.SMARTBULB",
                                             "dev_name": "Smart Wi-Fi LED Bulb with Color Changing"}]}


def scenario(app: dict[str, Any], *devices: dict[str, Any]) -> Scenario:
    """The small scenario with the workstation running the Kasa app and ``devices`` in place of its Kasa plug."""
    raw = read_scenario_file(SMALL)
    raw["devices"] = [d for d in raw["devices"] if d["id"] != "kasa-01"]
    for dev in raw["devices"]:
        dev["behaviours"] = [b for b in dev.get("behaviours", []) if b["kind"] != "kasa_app"]
    for dev in raw["devices"]:
        if dev["id"] == "ws-01":
            dev["behaviours"] = [*dev["behaviours"], {"kind": "kasa_app", **app}]
    raw["devices"] += list(devices)
    return parse_scenario(raw, behaviour_params(), attack_params())


def _frames(sc: Scenario, device_id: str, kind: str) -> list[tuple[float, dpkt.ethernet.Ethernet]]:
    world = World(sc, 3)
    dev = world.devices[device_id]
    act = next(b for b in dev.behaviours if b.kind == kind)
    return [(t, dpkt.ethernet.Ethernet(f)) for t, f in BEHAVIOURS[kind][0](world, dev, act)]


def test_the_encryption_is_softschecks() -> None:
    assert encrypt({"system": {"get_sysinfo": {}}}) == softscheck_encrypt('{"system": {"get_sysinfo": {}}}')
    assert parse(softscheck_encrypt(DISCOVERY))[0] == "query"


def test_the_apps_broadcast_is_answered_by_each_kasa_device_of_the_subnet() -> None:
    sc = scenario({"every": 20, "at": 3}, PLUG, BULB)
    frames = _frames(sc, "ws-01", "kasa_app")
    world = World(sc, 3)
    first = [(t, e) for t, e in frames if t < sc.start + 10]
    (t0, query), *answers = first
    assert t0 == sc.start + 3
    assert (query.dst, query.data.dst, query.data.data.dport) == (b"\xff" * 6, bytes([10, 20, 0, 255]), KASA_PORT)
    assert parse(bytes(query.data.data.data)) == ("query", {"commands": ["system.get_sysinfo"]})
    sport = query.data.data.sport
    found = {}
    for t, eth in answers:
        assert t0 < t < t0 + 0.25 and eth.data.data.dport == sport and eth.data.data.sport == KASA_PORT
        kind, fields = parse(bytes(eth.data.data.data))
        assert kind == "sysinfo" and eth.data.dst == bytes(int(x) for x in world.ips["ws-01"].split("."))
        found[fields["model"]] = fields
    assert set(found) == {"HS110(US)", "KL130(US)"}
    assert (found["HS110(US)"]["type"], found["HS110(US)"]["sw_ver"], found["HS110(US)"]["mac"]) == (
        "IOT.SMARTPLUGSWITCH", "1.2.6 Build 200727 Rel.121701", "50:c7:bf:0b:1c:2d")
    assert (found["KL130(US)"]["type"], found["KL130(US)"]["dev_name"], found["KL130(US)"]["mac"]) == (
        "IOT.SMARTBULB", "Smart Wi-Fi LED Bulb with Color Changing", "50:c7:bf:11:22:33")
    queries = [e for _, e in frames if e.dst == b"\xff" * 6]
    assert 3 <= len(queries) <= 4 and len(frames) == 3 * len(queries)  # every 20 s (± 20 %) in a minute, 2 answers


def test_a_polling_hub_asks_each_device_again_over_tcp() -> None:
    sc = scenario({"every": 60, "poll": True}, PLUG)
    segments = [(e.data.data.dport == KASA_PORT, bytes(e.data.data.data)) for _, e in _frames(sc, "ws-01", "kasa_app")
                if isinstance(e.data.data, dpkt.tcp.TCP) and e.data.data.data]
    out = feed_chunks(KasaDissector(), segments)
    assert [(o.kind, o.fields.get("model")) for o in out] == [("query", None), ("sysinfo", "HS110(US)")]


def test_a_kasa_device_says_nothing_unasked_and_a_family_the_lab_lacks_is_refused() -> None:
    sc = scenario({}, PLUG)
    assert _frames(sc, "kasa-plug", "kasa") == []
    camera = {**PLUG, "behaviours": [{"kind": "kasa", "family": "IOT.IPCAMERA", "dev_name": "Kasa Spot"}]}
    with pytest.raises(ConfigError, match="family"):
        _frames(scenario({}, camera), "kasa-plug", "kasa")
