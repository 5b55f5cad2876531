"""``iotwarden firmware release|device|campaign``: a campaign driven from the command line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from iotwarden.cli import main as cli
from tests.firmware.conftest import make_rootfs, make_squashfs


@pytest.fixture(scope="module")
def squashfs_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image of the real Debian component binaries (../shared/data)."""
    return make_squashfs(make_rootfs(tmp_path_factory.mktemp("fw")))


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_campaign_lifecycle(tmp_path: Path, squashfs_image: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(tmp_path / "ota.db")]
    key = tmp_path / "k"
    assert cli.main(["firmware", "keygen", str(key)]) == 0
    for version, seq in (("1.0", 1), ("2.0", 2)):
        assert cli.main(["firmware", "sign", str(squashfs_image), "--key", str(key), "--vendor", "acme.example",
                         "--model", "cam", "--version", version, "--sequence", str(seq),
                         "-o", str(tmp_path / f"{version}.suit")]) == 0
        assert cli.main(["firmware", "release", "add", str(tmp_path / f"{version}.suit"),
                         "--uri", f"http://127.0.0.1:1/{version}.bin", *db]) == 0
    for i in range(4):
        assert cli.main(["firmware", "device", "enroll", f"mac:02:00:00:00:00:0{i}", "--model", "cam",
                         "--version", "1.0", "--zone", "lab", *db]) == 0
    st = _json(["firmware", "campaign", "create", "c1", "--release", "2", "--stages", "50,100", *db], capsys)
    assert st["targets"] == 4 and st["state"] == "draft"
    assert _json(["firmware", "campaign", "start", "c1", *db], capsys)["stage"] == 0
    digest = hashlib.sha256(squashfs_image.read_bytes()).hexdigest()
    for i in range(2):
        out = _json(["firmware", "campaign", "checkin", f"mac:02:00:00:00:00:0{i}", "healthy", "--sha256", digest,
                     "--version", "2.0", *db], capsys)
        assert out["golden"] == "match"
    st = _json(["firmware", "campaign", "advance", "c1", *db], capsys)
    assert st["stage"] == 1 and st["counts"] == {"healthy": 2, "pending": 2}
    st = _json(["firmware", "campaign", "rollback", "c1", "--key", str(key), *db], capsys)
    assert st["state"] == "rolled_back" and st["counts"] == {"cancelled": 2, "revert": 2}
    assert _json(["firmware", "campaign", "status", "c1", *db], capsys)["state"] == "rolled_back"
    capsys.readouterr()
    assert cli.main(["firmware", "campaign", "status", "nope", *db]) == 2
    assert "no campaign 'nope'" in capsys.readouterr().err
