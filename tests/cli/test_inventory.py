"""``iotwarden inventory import-approved FILE.csv``, ``inventory shadow`` and ``inventory approved``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import iotwarden.cli.inventory  # noqa: F401 - registers its commands (cli.main imports it only when its command runs)
from iotwarden.cli.main import main
from tests.services import builders as b


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'inv.db'}"
    assert main(["analyze", str(b.second_capture(tmp_path / "cap.pcap")), "--db", url, "-f", "json"]) == 0
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_approved_reports_the_shadow_devices(capsys: pytest.CaptureFixture[str], db: str,
                                                    tmp_path: Path) -> None:
    csv = tmp_path / "approved.csv"
    csv.write_text(f"mac,owner,location\n{b.CAMERA_MAC},Facilities,Lobby\n{b.ROUTER_MAC},IT,Rack 1\n")
    capsys.readouterr()
    code, out, _ = run(capsys, "inventory", "import-approved", str(csv), "--db", db, "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["schema"], doc["imported"], doc["shadow"]) == ("iotwarden.shadow/1", 2, [f"mac:{b.PRINTER_MAC}"])
    code, out, _ = run(capsys, "findings", "--db", db, "--check", "inventory.shadow_device", "-f", "json")
    assert code == 0
    assert b.PRINTER_MAC in out
    code, out, _ = run(capsys, "inventory", "shadow", "--db", db)
    assert code == 0
    assert "1 device(s) not in the approved inventory (2 entries)" in out
    code, out, _ = run(capsys, "inventory", "approved", "--db", db, "-f", "json")
    assert [e["location"] for e in json.loads(out)["entries"]] == ["Lobby", "Rack 1"]


def test_a_bad_row_is_one_error_line_with_its_line_number(capsys: pytest.CaptureFixture[str], db: str,
                                                          tmp_path: Path) -> None:
    csv = tmp_path / "approved.csv"
    csv.write_text("mac,owner\n00:40:8c:12:34:56,IT\n,Facilities\n")
    capsys.readouterr()
    code, out, err = run(capsys, "inventory", "import-approved", str(csv), "--db", db)
    assert (code, out) == (2, "")
    assert "approved inventory line 3: needs at least one of mac, ip, hostname" in " ".join(err.split())
    assert "Traceback" not in err


def test_shadow_without_an_approved_inventory_says_how_to_import_one(capsys: pytest.CaptureFixture[str],
                                                                     db: str) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "inventory", "shadow", "--db", db)
    assert code == 0
    assert "import-approved" in out
