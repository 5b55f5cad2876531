"""``iotwarden flows``: filters by device, protocol, port and a limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.cli.main import main
from tests.services import builders as b


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["analyze", str(b.zeek_conn_log(tmp_path / "conn.log", 30)), "--db", url, "-f", "json"]) == 0
    return url


def flows(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["flows", *argv, "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "iotwarden.flows/1"
    return doc["flows"]  # type: ignore[no-any-return]


def test_flows_are_listed_newest_first_up_to_the_limit(capsys: pytest.CaptureFixture[str], db: str) -> None:
    listed = flows(capsys, "--db", db, "--limit", "5")
    assert len(listed) == 5
    assert [f["first_seen"] for f in listed] == sorted((f["first_seen"] for f in listed), reverse=True)


def test_filters(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert len(flows(capsys, "--db", db, "--device", "10.1.0.3")) == 1
    assert len(flows(capsys, "--db", db, "--proto", "tcp")) == 30
    assert len(flows(capsys, "--db", db, "--proto", "http")) == 30
    assert flows(capsys, "--db", db, "--proto", "udp") == []
    assert len(flows(capsys, "--db", db, "--port", "80")) == 30
    assert flows(capsys, "--db", db, "--port", "443") == []


def test_table_output(capsys: pytest.CaptureFixture[str], db: str) -> None:
    capsys.readouterr()
    assert main(["flows", "--db", db, "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "Flows (2)" in out
    assert f"{b.WEB_IP}:80" in out


def test_a_bad_port_is_a_usage_error(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert main(["flows", "--db", db, "--port", "70000"]) == 2
