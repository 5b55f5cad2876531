"""The scenarios shipped inside the package (``lab/scenarios/*.yaml``): their names, the file a name or path
given on the command line stands for, and what each scenario holds, so ``lab list`` and ``lab generate NAME``
work from any install, not only from a source tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotwarden.errors import ConfigError
from iotwarden.lab.generator import load_scenario

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"  # package data (pyproject: lab/scenarios/*.yaml)
SUFFIX = ".yaml"


@dataclass(frozen=True, slots=True)
class ShippedScenario:
    """One shipped scenario as ``lab list`` shows it: ``attacks`` holds each attack's kind and whether it is on
    by default (``enabled``); ``duration`` is in seconds."""

    name: str
    file: str
    description: str
    devices: int
    attacks: tuple[tuple[str, bool], ...]
    duration: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "description": self.description, "devices": self.devices,
                "attacks": [{"kind": kind, "enabled": on} for kind, on in self.attacks],
                "duration": self.duration, "seed": self.seed}


def shipped_names() -> list[str]:
    """The shipped scenarios' names (their files' names less ``.yaml``), sorted."""
    return sorted(p.stem for p in SCENARIO_DIR.glob(f"*{SUFFIX}"))


def resolve_scenario(arg: str) -> Path:
    """The scenario file ``arg`` stands for: ``arg`` itself when such a path exists (a local file always wins),
    else the shipped scenario of that name, given with or without ``.yaml``; ConfigError listing the shipped
    names when it is neither."""
    path = Path(arg)
    try:
        if path.exists():
            return path
    except OSError:  # there but not to be looked at (a folder without search rights): reading it says why
        return path
    names = shipped_names()
    name = arg.removesuffix(SUFFIX)
    if name in names:  # a bare name only: names hold no '/', so a path never reaches the package's folder
        return SCENARIO_DIR / f"{name}{SUFFIX}"
    raise ConfigError(f"{arg}: no such scenario file, nor a shipped scenario (shipped: {', '.join(names)})")


def shipped_scenarios() -> list[ShippedScenario]:
    """Every shipped scenario, validated as ``lab generate`` reads it, in name order."""
    found = []
    for name in shipped_names():
        scenario = load_scenario(SCENARIO_DIR / f"{name}{SUFFIX}")
        enabled = {id(a) for a in scenario.enabled_attacks}
        found.append(ShippedScenario(
            name=name, file=f"{name}{SUFFIX}", description=scenario.description, devices=len(scenario.devices),
            attacks=tuple((a.kind, id(a) in enabled) for a in scenario.attacks), duration=scenario.duration,
            seed=scenario.seed))
    return found
