"""``iotwarden demo``: the bundled capture analysed into the store, or one clear line if it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.cli import demo
from iotwarden.cli.main import main


def test_demo_without_the_bundled_capture_is_one_clear_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "DEMO_FILE", ("captures", "no-such-demo.pcap"))
    assert main(["demo", "--db", f"sqlite:///{tmp_path / 'd.db'}"]) == 2
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert "bundled demo capture" in line
    assert "not installed" in line


def test_demo_analyses_the_bundled_capture(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("iotwarden.engine.core", reason="the packet engine (engine/core.py) is not there yet")
    try:
        demo.demo_capture()
    except Exception as exc:  # noqa: BLE001 - the lab's capture may not be generated yet
        pytest.skip(f"no bundled demo capture yet: {exc}")
    assert main(["demo", "--db", f"sqlite:///{tmp_path / 'd.db'}"]) == 0
    out = capsys.readouterr().out
    assert "Devices (" in out
    assert "Captures (1)" in out
