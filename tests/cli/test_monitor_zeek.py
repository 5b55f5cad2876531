"""``iotwarden monitor --once`` on a folder of Zeek logs stores what ``iotwarden analyze`` stores for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.cli.main import main
from iotwarden.store import Store
from tests.services.test_monitor_zeek import _stored
from tests.sources.zeek_written import site_day, write_logs


def test_monitor_once_on_a_zeek_folder_stores_what_analyze_stores(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_logs(tmp_path / "logs", site_day(7, devices=3, hours=1.0))
    monitored, analysed = f"sqlite:///{tmp_path / 'monitor.db'}", f"sqlite:///{tmp_path / 'analyze.db'}"
    assert main(["monitor", str(folder), "--once", "--db", monitored]) == 0
    assert "stopped: 4 files" in capsys.readouterr().err
    assert main(["analyze", str(folder), "--db", analysed]) == 0
    with Store(monitored) as mon, Store(analysed) as ref:
        got, expected = _stored(mon), _stored(ref)
    assert got == expected and sum(1 for d in got[1].values() if d[0]) > 3  # MAC devices, joined from conn.log
