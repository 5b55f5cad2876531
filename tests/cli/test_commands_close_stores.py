"""The commands that open a store close it themselves, on success and on a refusal, so SQLite folds its write-ahead
log into the database file then and there (the exit hook store/db.py close_open_stores only catches what is left):
identity (cli/identity.py), vulndb and firmware analyze (cli/firmware.py), the golden hashes (cli/firmware_sign.py),
the OTA campaigns (cli/firmware_ota.py), and serve (cli/serve.py), whose store lives as long as the server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import iotwarden.cli.firmware
import iotwarden.cli.identity
import iotwarden.cli.serve  # noqa: F401 - registers the commands (cli.main imports them only when one runs)
from iotwarden.cli.main import main
from iotwarden.errors import ConfigError
from iotwarden.store import db as store_db

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[store_db.Store]]]:
    """Every Store made, and those closed, while the test runs."""
    seen: dict[str, list[store_db.Store]] = {"made": [], "closed": []}
    init, close = store_db.Store.__init__, store_db.Store.close

    def made(self: store_db.Store, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        seen["made"].append(self)

    def closed(self: store_db.Store) -> None:
        seen["closed"].append(self)
        close(self)

    monkeypatch.setattr(store_db.Store, "__init__", made)
    monkeypatch.setattr(store_db.Store, "close", closed)
    yield seen


def _left_open(seen: dict[str, list[store_db.Store]]) -> int:
    return sum(1 for s in seen["made"] if not any(s is c for c in seen["closed"]))


def _run(seen: dict[str, list[store_db.Store]], argv: list[str], code: int = 0) -> None:
    before = len(seen["made"])
    assert main(argv) == code, argv
    assert len(seen["made"]) > before, f"{argv}: opened no store"
    assert _left_open(seen) == 0, f"{argv}: left its store open"


def test_the_identity_commands_close_their_store(stores: dict[str, list[store_db.Store]], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOTWARDEN_CA_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("IOTWARDEN_DB", str(tmp_path / "id.db"))
    monkeypatch.chdir(tmp_path)
    _run(stores, ["identity", "init", "--ca-dir", "ca", "--organization", "Example"])
    _run(stores, ["identity", "issue", "cam-01", "--ca-dir", "ca", "--out", "dev", "--mac", "00:11:22:33:44:55"])
    _run(stores, ["identity", "list", "-f", "json"])
    _run(stores, ["identity", "expiring", "--days", "100", "-f", "json"])
    _run(stores, ["identity", "enroll-token", "cam-02"])
    _run(stores, ["identity", "revoke", "ffff", "--ca-dir", "ca"], 2)  # no such certificate: refused, closed
    _run(stores, ["identity", "crl", "--ca-dir", "ca"])
    _run(stores, ["identity", "mqtt-config", "--ca-dir", "ca", "--out", "mqtt", "--port", "18883"])
    served: list[str] = []

    def serve(coro: Any) -> None:  # the EST server, stopped at once
        coro.close()
        served.append("est")
        assert _left_open(stores) == 1  # the store is open while the server runs

    monkeypatch.setattr(asyncio, "run", serve)
    _run(stores, ["identity", "est-serve", "--ca-dir", "ca", "--port", "18443"])
    assert served == ["est"]


def test_the_vulndb_and_firmware_commands_close_their_store(stores: dict[str, list[store_db.Store]],
                                                            tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "fw.db")]
    image, key = tmp_path / "fw.bin", tmp_path / "k"
    image.write_bytes(b"\x7fELF not really firmware" * 64)
    _run(stores, ["vulndb", "stats", *db])
    _run(stores, ["vulndb", "import", str(tmp_path / "missing.json"), *db], 2)  # a file named fails: exit 2, closed
    _run(stores, ["firmware", "analyze", str(image), "--format", "json", *db])
    _run(stores, ["firmware", "golden", "add", "--model", "cam", "--version", "1.0", "--image", str(image), *db])
    _run(stores, ["firmware", "verify-hash", "0" * 64, "--model", "cam", "--version", "1.0", *db], 1)
    assert main(["firmware", "keygen", str(key)]) == 0
    assert main(["firmware", "sign", str(image), "--key", str(key), "--vendor", "acme.example", "--model", "cam",
                 "--version", "1.0", "--sequence", "1", "-o", str(tmp_path / "1.suit")]) == 0
    _run(stores, ["firmware", "release", "add", str(tmp_path / "1.suit"), "--uri", "http://127.0.0.1:1/1.bin", *db])
    _run(stores, ["firmware", "device", "enroll", "mac:02:00:00:00:00:01", "--model", "cam", "--version", "0.9",
                  *db])
    _run(stores, ["firmware", "campaign", "create", "c1", "--release", "1", *db])
    _run(stores, ["firmware", "campaign", "status", "c1", *db])
    _run(stores, ["firmware", "campaign", "start", "nosuch", *db], 2)  # refused: closed all the same


def test_serve_closes_its_store_when_the_server_stops(stores: dict[str, list[store_db.Store]], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    running: list[int] = []

    def run(app: Any, **kwargs: Any) -> None:
        running.append(_left_open(stores))
        raise KeyboardInterrupt  # as a Ctrl-C ends it

    monkeypatch.setattr(uvicorn, "run", run)
    assert main(["serve", "--port", "18080", "--db", str(tmp_path / "s.db")]) != 0  # "interrupted"
    assert running == [1]  # open while the server runs...
    assert len(stores["made"]) == 1 and _left_open(stores) == 0  # ...closed as it stops


def test_serve_closes_its_store_when_the_console_cannot_be_made(
        stores: dict[str, list[store_db.Store]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import iotwarden.api

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConfigError("the console cannot be made")

    monkeypatch.setattr(iotwarden.api, "create_app", refuse)
    assert main(["serve", "--port", "18080", "--db", str(tmp_path / "s.db")]) == 2  # one line, no server
    assert len(stores["made"]) == 1 and _left_open(stores) == 0


MONITOR_PLAYBOOK = """
playbooks:
  - name: tag-scanners
    trigger: {detector: "detect.scan.*"}
    actions:
      - tag_device: {tag: scanner}
"""


def test_monitor_closes_its_store_when_the_responder_or_the_monitor_cannot_be_made(
        stores: dict[str, list[store_db.Store]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import iotwarden.cli.monitor  # registers the command
    import iotwarden.services.monitor

    (tmp_path / "pb.yaml").write_text(MONITOR_PLAYBOOK)
    args = ["monitor", str(tmp_path), "--once", "--db", f"sqlite:///{tmp_path / 'm.db'}"]
    # a refused --allow is read by the responder, once the store is open: refused, closed
    _run(stores, [*args, "--playbooks", str(tmp_path / "pb.yaml"), "--allow", "not-a-network"], 2)

    def refuse(*a: Any, **kw: Any) -> None:
        raise ConfigError("the analyzers cannot be made")

    monkeypatch.setattr(iotwarden.services.monitor, "Monitor", refuse)  # the command imports it when it runs
    _run(stores, args, 2)
    _run(stores, [*args, "--playbooks", str(tmp_path / "pb.yaml")], 2)
