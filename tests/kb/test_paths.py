"""Where the knowledge base looks for the user's own data."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.kb import paths


def test_iotwarden_home_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IOTWARDEN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.user_data_dir() == tmp_path / "home"
    assert paths.user_oui_dir() == tmp_path / "home" / "oui"


def test_xdg_data_home_then_local_share(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IOTWARDEN_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.user_data_dir() == tmp_path / "xdg" / "iotwarden"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.user_data_dir() == tmp_path / ".local" / "share" / "iotwarden"


def test_shipped_data_is_in_the_package() -> None:
    assert paths.TAXONOMY_FILE.is_file()
    assert paths.ATTRIBUTES_FILE.is_file()
    assert (paths.OUI_DIR / "oui.csv.gz").is_file()
    assert (paths.OUI_DIR / "COPYRIGHT.debian").is_file()  # the registry's licence travels with it
