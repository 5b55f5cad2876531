"""lab/shipped.py: the scenarios shipped inside the package, found by name from any folder."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.scenario import read_scenario_file
from iotwarden.lab.shipped import SCENARIO_DIR, resolve_scenario, shipped_names, shipped_scenarios

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_scenarios_are_package_data_each_named_as_its_file() -> None:
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "lab/scenarios/*.yaml" in package_data["iotwarden"]  # installed beside the code, so a name finds them
    names = shipped_names()
    assert names == sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")) and "small" in names
    # the name lab list shows is the one lab generate takes and the one the truth's scenario reads
    assert all(read_scenario_file(SCENARIO_DIR / f"{n}.yaml")["name"] == n for n in names)


def test_a_name_with_or_without_yaml_is_the_shipped_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_scenario("small") == resolve_scenario("small.yaml") == SCENARIO_DIR / "small.yaml"


def test_an_existing_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.yaml").write_text("name: mine\n")
    assert resolve_scenario("small.yaml") == Path("small.yaml")
    assert resolve_scenario(str(tmp_path / "small.yaml")) == tmp_path / "small.yaml"
    assert resolve_scenario("small") == SCENARIO_DIR / "small.yaml"  # 'small' itself is no file here


@pytest.mark.parametrize("arg", ["nope", "nope.yaml", "../scenarios/small", f"{SCENARIO_DIR.name}/small.yaml"])
def test_neither_a_file_nor_a_shipped_name_is_an_error_listing_the_names(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        arg: str) -> None:
    monkeypatch.chdir(tmp_path)  # a path with a folder never reaches the package's folder
    with pytest.raises(ConfigError, match=r"no such scenario file, nor a shipped scenario \(shipped: building-knx, "):
        resolve_scenario(arg)


def test_every_shipped_scenario_is_summarised() -> None:
    found = {s.name: s for s in shipped_scenarios()}
    assert sorted(found) == shipped_names()
    small = found["small"]
    assert (small.devices, small.duration, small.seed) == (12, 60.0, 7)
    assert small.attacks == (("mirai_scan", False), ("telnet_bruteforce", False), ("lateral_movement", False))
    assert found["enterprise-attack"].attacks[0] == ("mirai_scan", True)
    assert found["enterprise"].attacks == ()
