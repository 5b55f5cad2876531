"""A scenario gives the same capture wherever it is stored: its random streams are drawn from its seed, its name and
each activity's place in it (scenario.activity_key), never from the file's name or folder; two activities in one
scenario still draw streams of their own."""

from __future__ import annotations

import re
from pathlib import Path

from iotwarden.lab.attacks import ATTACKS
from iotwarden.lab.generator import BEHAVIOURS, generate, load_scenario
from iotwarden.lab.world import World
from tests.lab.conftest import SCENARIOS


def _generated(scenario: Path, out: Path, duration: float) -> tuple[bytes, str]:
    out.mkdir(parents=True, exist_ok=True)
    generate(load_scenario(scenario), out / "c.pcap", out / "c.json", duration=duration, attacks=True)
    return (out / "c.pcap").read_bytes(), (out / "c.json").read_text(encoding="utf-8")


def test_the_same_scenario_under_two_names_and_folders_gives_the_same_capture(tmp_path: Path) -> None:
    text = (SCENARIOS / "small.yaml").read_text(encoding="utf-8")
    first, second = tmp_path / "a" / "small.yaml", tmp_path / "b" / "c" / "copy of the office.yaml"
    for path in (first, second):
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
    pcap, truth = _generated(first, tmp_path / "out1", 60.0)
    assert (pcap, truth) == _generated(second, tmp_path / "out2", 60.0)
    assert '"kind": "telnet_bruteforce"' in truth  # the attacks' streams are among those compared


def test_an_extending_scenario_and_its_base_renamed_give_the_same_capture(tmp_path: Path) -> None:
    """enterprise-ftp (FTP uploads, TLS and HTTP clients, a guessing attack) as shipped and as other files."""
    (tmp_path / "site.yaml").write_text((SCENARIOS / "enterprise.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    variant = (SCENARIOS / "enterprise-ftp.yaml").read_text(encoding="utf-8")
    renamed, count = re.subn(r"(?m)^extends: enterprise\.yaml$", "extends: site.yaml", variant)
    assert count == 1
    (tmp_path / "ftp day.yaml").write_text(renamed, encoding="utf-8")
    shipped = _generated(SCENARIOS / "enterprise-ftp.yaml", tmp_path / "out1", 240.0)
    assert shipped == _generated(tmp_path / "ftp day.yaml", tmp_path / "out2", 240.0)


def test_an_activity_s_key_is_its_place_under_the_scenario_s_name(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere.yaml"
    copy.write_text((SCENARIOS / "small.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    scenario = load_scenario(copy)
    assert [a.key for a in scenario.attacks] == [f"small.yaml.attacks[{i}]" for i in range(3)]
    assert scenario.devices[1].behaviours[1].key == "small.yaml.devices[1].behaviours[1]"
    assert scenario.attacks[0].path == "elsewhere.yaml.attacks[0]"  # messages still name the file


def test_two_identical_attacks_in_one_scenario_draw_streams_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text((SCENARIOS / "small.yaml").read_text(encoding="utf-8").replace(
        "  - {kind: mirai_scan, enabled: false, attacker: cam-01, start: 20, duration: 8, rate: 40}\n",
        "  - {kind: mirai_scan, attacker: cam-01, start: 20, duration: 8, rate: 40}\n" * 2), encoding="utf-8")
    scenario = load_scenario(path)
    one, two = scenario.attacks[0], scenario.attacks[1]
    assert (one.kind, one.params) == (two.kind, two.params)
    world = World(scenario, scenario.seed)
    first, second = (list(ATTACKS[a.kind][0](world, a)[0]) for a in (one, two))
    assert len(first) > 100 and len(second) > 100
    assert [f[1] for f in first] != [f[1] for f in second]


def test_two_identical_behaviours_of_one_device_draw_streams_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    line = "      - {kind: tls, host: dispatcher.axis.com, profile: openssl, issuer: DigiCert, every: 40}\n"
    text = (SCENARIOS / "small.yaml").read_text(encoding="utf-8")
    assert text.count(line) == 1
    path.write_text(text.replace(line, line * 2), encoding="utf-8")
    scenario = load_scenario(path)
    cam = next(d for d in scenario.devices if d.id == "cam-01")
    one, two = (b for b in cam.behaviours if b.kind == "tls")
    world = World(scenario, scenario.seed)
    first, second = (list(BEHAVIOURS["tls"][0](world, cam, b)) for b in (one, two))
    assert first and second and [f[1] for f in first] != [f[1] for f in second]
