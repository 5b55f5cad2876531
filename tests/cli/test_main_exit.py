"""The command's exit: the objects a run leaves alive are frozen before the interpreter's last collections
(cli/main.py freeze_at_exit), once per process however often main runs, and a command's output and store
are whole when the process ends."""

from __future__ import annotations

import atexit
import gc
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from iotwarden.cli import main as cli_main

REPO = Path(__file__).resolve().parents[2]


def test_main_registers_the_exit_hook_once_however_often_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks: list[Any] = []
    monkeypatch.setattr(atexit, "register", hooks.append)
    monkeypatch.setattr(atexit, "unregister", lambda fn: hooks.remove(fn) if fn in hooks else None)
    for _ in range(3):
        assert cli_main.main(["--version"]) == 0
    assert hooks == [cli_main.freeze_at_exit]


def test_the_hook_moves_every_live_object_out_of_the_collectors_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in cli_main.EXIT_LEAK_CHECKED:  # an earlier test in this process (the firmware CLI's) may load lief
        monkeypatch.delitem(sys.modules, name, raising=False)
    before = gc.get_freeze_count()
    try:
        cli_main.freeze_at_exit()
        assert gc.get_freeze_count() > before  # every object tracked so far: out of any collection's walk
    finally:
        gc.unfreeze()  # this test process goes on: give the objects back


def test_with_a_leak_checking_extension_loaded_the_exit_is_left_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    # lief (nanobind) prints every object of its own still alive when it unloads: frozen, its cycles would be
    monkeypatch.setitem(sys.modules, cli_main.EXIT_LEAK_CHECKED[0], sys)
    before = gc.get_freeze_count()
    cli_main.freeze_at_exit()
    assert gc.get_freeze_count() == before


def test_an_analysis_is_written_whole_by_a_process_that_exits_through_the_hook(tmp_path: Path) -> None:
    capture = REPO / "src" / "iotwarden" / "lab" / "captures" / "demo.pcap"
    if not capture.exists():
        pytest.skip("the lab demo capture is not built")
    db, out = tmp_path / "s.db", tmp_path / "out.json"
    run = subprocess.run([sys.executable, "-m", "iotwarden.cli.main", "analyze", str(capture), "--db", str(db),
                          "--format", "json", "-o", str(out)], capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())  # the JSON file complete
    with sqlite3.connect(db) as conn:
        devices = conn.execute("SELECT count(*) FROM devices").fetchone()[0]
        status = conn.execute("SELECT status FROM captures").fetchone()[0]
    assert devices == report["totals"]["devices"] > 0
    assert status == "complete"


def test_a_store_a_command_leaves_open_is_closed_whole_when_the_process_exits(tmp_path: Path) -> None:
    # vulndb stats (as the identity and firmware commands) opens its store without closing it: the process's exit
    # closes it, so SQLite folds its write-ahead log into the database file, which then holds the store alone
    db = tmp_path / "s.db"
    run = subprocess.run([sys.executable, "-m", "iotwarden.cli.main", "vulndb", "stats", "--db", str(db)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]  # no s.db-wal, s.db-shm left
    alone = tmp_path / "copy" / "s.db"  # the database file copied without anything beside it
    alone.parent.mkdir()
    shutil.copyfile(db, alone)
    with sqlite3.connect(alone) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"devices", "alembic_version"} <= tables
