"""A behaviour's peer (server, client, poller, broker, registrar, ...) and an attack's target are other devices: one
naming the device itself (a camera uploading to its own FTP server, a PLC polled by itself, an attacker attacking
itself) is a mistake in the scenario, refused with one ConfigError naming the key, as every other mistake is."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
import yaml

from iotwarden.errors import ConfigError
from iotwarden.lab.generator import attack_params, behaviour_params, load_scenario
from iotwarden.lab.params import REQUIRED, Param
from iotwarden.lab.scenario import Scenario, parse_scenario
from tests.lab.conftest import SCENARIOS

ME, OTHER = "cam-01", "srv-dc"  # two devices of small.yaml
# a valid value of each required text form (params.Param.form)
SAMPLE_TEXT = {"": "x", "line": "x", "word": "x", "dns": "a.example", "oid": "1.3.6.1.4.1.9", "hex48": "00fa00000001"}


def _peer_keys(specs: dict[str, dict[str, Param]], skip: str = "") -> list[tuple[str, str]]:
    return [(kind, key) for kind, spec in sorted(specs.items()) for key, p in spec.items()
            if key != skip and p.peer and (p.kind == "device" or p.items == "device")]


BEHAVIOUR_PEERS = _peer_keys(behaviour_params())
ATTACK_PEERS = _peer_keys(attack_params(), skip="attacker")


@functools.cache
def _small() -> dict[str, Any]:
    return yaml.safe_load((SCENARIOS / "small.yaml").read_text(encoding="utf-8"))


def _values(spec: dict[str, Param], key: str, peer: str) -> dict[str, Any]:
    """Every required parameter of ``spec`` with a valid value (devices: OTHER), and ``key`` naming ``peer``."""
    out: dict[str, Any] = {}
    for name, p in spec.items():
        if name == key:
            out[name] = [peer] if p.kind == "list" else peer
        elif p.default is REQUIRED:
            out[name] = {"device": OTHER, "str": SAMPLE_TEXT[p.form], "int": 1, "float": 1.0, "bool": False,
                         "dict": {}, "list": [OTHER] if p.items == "device" else []}[p.kind]
    return out


def _behaviour(kind: str, key: str, peer: str) -> Scenario:
    raw = copy.deepcopy(_small())
    cam = next(d for d in raw["devices"] if d["id"] == ME)
    cam["behaviours"].append({"kind": kind, **_values(behaviour_params()[kind], key, peer)})
    return parse_scenario(raw, behaviour_params(), attack_params(), source="s")


def _attack(kind: str, key: str, peer: str) -> Scenario:
    raw = copy.deepcopy(_small())
    raw["attacks"] = [{"kind": kind, **_values(attack_params()[kind], key, peer), "attacker": ME}]
    return parse_scenario(raw, behaviour_params(), attack_params(), source="s")


def test_every_peer_naming_key_is_covered() -> None:
    assert ("ftp_upload", "server") in BEHAVIOUR_PEERS and ("modbus", "master") in BEHAVIOUR_PEERS
    assert ("rtsp", "client") in BEHAVIOUR_PEERS and ("kerberos", "clients") in BEHAVIOUR_PEERS
    assert ("telnet_bruteforce", "targets") in ATTACK_PEERS and ("sip_scan", "registrar") in ATTACK_PEERS
    assert ("hl7", "reports") not in BEHAVIOUR_PEERS  # devices it reports about, not devices it talks to
    assert len(BEHAVIOUR_PEERS) >= 25 and len(ATTACK_PEERS) >= 14


@pytest.mark.parametrize(("kind", "key"), BEHAVIOUR_PEERS)
def test_a_behaviour_whose_peer_is_its_own_device_is_refused_naming_the_key(kind: str, key: str) -> None:
    _behaviour(kind, key, OTHER)  # the same behaviour with another device is a valid scenario
    with pytest.raises(ConfigError, match=rf"^s\.devices\[3\]\.behaviours\[\d+\]\.{key}(\[0\])?: 'cam-01' is the "
                                          rf"device itself: {kind}'s {key} must be"):
        _behaviour(kind, key, ME)


@pytest.mark.parametrize(("kind", "key"), ATTACK_PEERS)
def test_an_attack_whose_target_is_its_attacker_is_refused_naming_the_key(kind: str, key: str) -> None:
    _attack(kind, key, OTHER)
    with pytest.raises(ConfigError, match=rf"^s\.attacks\[0\]\.{key}(\[0\])?: 'cam-01' is the attacker itself: "
                                          rf"{kind}'s {key} must be"):
        _attack(kind, key, ME)


def test_the_self_in_a_list_is_named_by_its_place(tmp_path: Any) -> None:
    path = tmp_path / "v.yaml"
    path.write_text("extends: small.yaml\nattacks: [{kind: telnet_bruteforce, attacker: cam-01, "
                    "targets: [dvr-01, cam-01]}]\n", encoding="utf-8")
    (tmp_path / "small.yaml").write_text((SCENARIOS / "small.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert str(err.value) == ("v.yaml.attacks[0].targets[1]: 'cam-01' is the attacker itself: telnet_bruteforce's "
                              "targets must be other devices")


def test_a_camera_uploading_to_itself_is_refused_from_its_file(tmp_path: Any) -> None:
    (tmp_path / "small.yaml").write_text((SCENARIOS / "small.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "v.yaml"
    path.write_text("extends: small.yaml\nadd_behaviours:\n"
                    "  cam-01: [{kind: ftp_upload, server: cam-01, username: cam, password: pw}]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert str(err.value) == ("v.yaml.devices[3].behaviours[6].server: 'cam-01' is the device itself: ftp_upload's "
                              "server must be another device")
