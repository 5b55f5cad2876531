"""``iotwarden monitor``: an exporter the monitor's finish() closed is not closed again by the command when finish()
stops partway (cli/monitor.py closes only what finish() left open)."""

from __future__ import annotations

from pathlib import Path

import pytest

import iotwarden.cli.monitor
from iotwarden.cli.main import main
from iotwarden.export import Exporter
from tests.cli.test_monitor import _Recorder


class _Interrupted(_Recorder):
    """A collector whose first close is cut by a second Ctrl-C (a TLS close waiting for close_notify)."""

    def close(self) -> None:
        self.closes += 1
        if self.closes == 1:
            raise KeyboardInterrupt


def test_exporters_finish_closed_are_not_closed_again_when_it_stops_partway(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """finish() closed a CEF sender and an ECS webhook (recorded here), then a second Ctrl-C cut the collector's close:
    the command ends with 130, the two closed once (before: twice, by finish() and again by the command's stack), the
    collector, whose close never ended, and the exporter after it closed by the command."""
    opened: list[_Recorder] = []

    def recorded(url: str) -> Exporter:
        name = url.split("://", 1)[1]
        opened.append(_Interrupted(name) if name == "tls" else _Recorder(name))
        return opened[-1]

    monkeypatch.setattr(iotwarden.cli.monitor, "open_exporter", recorded)
    (tmp_path / "in").mkdir()
    assert main(["monitor", str(tmp_path / "in"), "--once", "--no-store", "--export", "rec://cef", "--export",
                 "rec://webhook", "--export", "rec://tls", "--export", "rec://after"]) == 130
    assert [(r.name, r.closes) for r in opened] == [("cef", 1), ("webhook", 1), ("tls", 2), ("after", 1)]
