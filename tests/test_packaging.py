"""The wheel a user installs holds every file the package needs, and says its licence.

``pip install iotwarden`` (not the editable install the tests run on) gets only what
pyproject's package-data names: a new data folder left out of it passes every other test and
breaks a real install. This builds the wheel from the checkout's tracked files, as a release
would, and compares its members with ``git ls-files src/iotwarden``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tracked(prefix: str) -> list[str]:
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", prefix], capture_output=True, check=False)
    if out.returncode != 0:
        pytest.skip(f"not a git checkout: {out.stderr.decode().strip()}")
    return [p for p in out.stdout.decode().split("\0") if p]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    tree = tmp_path_factory.mktemp("tree")
    for rel in [*_tracked("src/iotwarden"), "pyproject.toml", "README.md", "LICENSE"]:
        target = tree / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out),
         str(tree)], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    (built,) = out.glob("iotwarden-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_every_tracked_package_file_and_nothing_else(wheel: zipfile.ZipFile) -> None:
    members = {n for n in wheel.namelist() if n.startswith("iotwarden/")}
    tracked = {p.removeprefix("src/") for p in _tracked("src/iotwarden")}
    assert sorted(tracked - members) == []  # left out of package-data
    assert sorted(members - tracked) == []  # built or stray files shipped


def test_the_wheel_states_the_apache_licence_and_carries_its_text(wheel: zipfile.ZipFile) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    fields = wheel.read(metadata).decode().split("\n\n", 1)[0].splitlines()
    assert "License-Expression: Apache-2.0" in fields
    (licence,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert b"Apache License" in wheel.read(licence) and b"Version 2.0, January 2004" in wheel.read(licence)
