"""``iotwarden report``: HTML to a file, JSON per docs/schemas/report.md, terminal tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import iotwarden.cli.report  # noqa: F401 - registers the command until cli/main.py imports it
from iotwarden.cli.main import main
from tests.report.conftest import lab_db  # noqa: F401 - the shared store fixture


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_html_report_to_a_file(capsys: pytest.CaptureFixture[str], lab_db: str, tmp_path: Path) -> None:  # noqa: F811
    page = tmp_path / "r.html"
    code, _, err = run(capsys, "report", "--db", lab_db, "-o", str(page))
    assert code == 0
    assert "devices" in err and "fleet risk score" in err
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and 'id="network-map"' in text


def test_html_needs_an_output_file(capsys: pytest.CaptureFixture[str], lab_db: str) -> None:  # noqa: F811
    code, out, err = run(capsys, "report", "--db", lab_db)
    assert code == 2
    assert "needs -o FILE" in err and out == ""


def test_json_report_follows_the_schema(capsys: pytest.CaptureFixture[str], lab_db: str) -> None:  # noqa: F811
    code, out, _ = run(capsys, "report", "--db", lab_db, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["schema"] == "iotwarden.report/1"
    assert set(report) == {"schema", "generated_at", "source", "summary", "devices", "findings", "network"}
    assert {"risk_score", "risk_band", "vendor", "device_type", "category"} <= set(report["devices"][0])


def test_table_report(capsys: pytest.CaptureFixture[str], lab_db: str) -> None:  # noqa: F811
    code, out, _ = run(capsys, "report", "--db", lab_db, "-f", "table")
    assert code == 0
    assert "Summary" in out and "Devices by risk" in out and "risk.credentials.default" in out


def test_unreadable_database_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "report", "--db", str(tmp_path / "missing" / "x.db"), "-f", "json")
    assert code == 2
    assert err.startswith("error:") and "Traceback" not in err
