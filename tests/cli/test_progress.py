"""Progress of long commands: shown on stderr when it is a terminal, never with JSON output and never
into a pipe (stderr not a terminal)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import iotwarden.lab
from iotwarden.cli import main as cli_main
from iotwarden.cli.main import main
from iotwarden.cli.progress import activity, bar
from tests.conftest import shared
from tests.services import builders as b

SCENARIO = Path(iotwarden.lab.__file__).parent / "scenarios" / "small.yaml"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a terminal (what the user sees), captured."""
    screen = io.StringIO()
    monkeypatch.setattr(cli_main, "err_console", Console(file=screen, force_terminal=True, width=120))
    return screen


def test_a_bar_counts_items_on_a_terminal(terminal: io.StringIO) -> None:
    with bar("importing feeds") as progress:
        task = progress.add_task("import", total=3)
        progress.advance(task, 3)
    assert "importing feeds" in terminal.getvalue() and "3/3" in terminal.getvalue()


def test_activity_shows_a_spinner_on_a_terminal_and_nothing_when_quiet(terminal: io.StringIO) -> None:
    with activity("building the report", quiet=True):
        pass
    assert terminal.getvalue() == ""
    with activity("building the report"):
        pass
    assert "building the report" in terminal.getvalue()


def test_nothing_is_shown_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with activity("building the report"), bar("importing") as progress:
        progress.add_task("x", total=1)
    assert capsys.readouterr().err == ""


def test_analyze_shows_its_bar_on_a_terminal_but_not_with_json(terminal: io.StringIO, tmp_path: Path) -> None:
    log = b.zeek_conn_log(tmp_path / "conn.log", 5)
    db = str(tmp_path / "a.db")
    assert main(["analyze", str(log), "--db", db, "-f", "json", "-o", str(tmp_path / "a.json")]) == 0
    assert "analysing" not in terminal.getvalue()
    log2 = b.zeek_conn_log(tmp_path / "conn2.log", 6)
    assert main(["analyze", str(log2), "--db", str(tmp_path / "a.db"), "-o", str(tmp_path / "a.txt")]) == 0
    assert "analysing" in terminal.getvalue()


@pytest.mark.parametrize("command", ["vulndb-import", "lab-generate", "report", "kb-import", "firmware-analyze"])
def test_long_commands_show_progress_on_a_terminal(terminal: io.StringIO, tmp_path: Path, command: str) -> None:
    db = str(tmp_path / "p.db")
    argv, shown = {
        "vulndb-import": (["vulndb", "import", str(shared("vuln", "alpine_secdb_v3.18")), "--db", db],
                          "importing feeds"),
        "lab-generate": (["lab", "generate", str(SCENARIO), "-o", str(tmp_path / "lab.pcap"), "--duration", "5"],
                         "generating lab.pcap"),
        "report": (["report", "-f", "table", "-o", str(tmp_path / "r.txt"), "--db", db], "building the report"),
        "kb-import": (["kb", "import", "p0f", str(shared("fingerprints", "p0f", "p0f.fp")), "-o",
                       str(tmp_path / "p0f.yaml")], "converting p0f.fp"),
        "firmware-analyze": (["firmware", "analyze", str(b.zeek_conn_log(tmp_path / "blob.bin", 3)), "--no-vulns"],
                             "analysing blob.bin"),
    }[command]
    assert main(argv) == 0, terminal.getvalue()
    assert shown in terminal.getvalue()
