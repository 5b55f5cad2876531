"""``iotwarden sensor`` and ``iotwarden worker``: bad options and NATS being away are one line with exit
code 2; a sensor run and a worker run store the capture."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from iotwarden.bus.jetstream import NatsLink
from iotwarden.cli.main import main
from iotwarden.store import Store
from iotwarden.store.schema import DeviceRow
from tests.natsutil import NATS_URL, cleanup, nats_link, new_site
from tests.services.test_worker import DEMO

__all__ = ["nats_link"]


@pytest.mark.parametrize(("args", "message"), [
    (["sensor", str(DEMO), "--site", "a b"], "invalid site name"),
    (["sensor", str(DEMO), "--site", "hq", "--nats", "http://x"], "invalid NATS URL"),
    (["sensor", str(DEMO), "--site", "hq", "--nats", "nats://127.0.0.1:1"], "cannot reach NATS"),
    (["worker", "--db", "sqlite://", "--nats", "nats://127.0.0.1:1"], "cannot reach NATS"),
])
def test_bad_options_and_no_server_are_one_line(args: list[str], message: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.nats
def test_sensor_then_worker_store_the_capture(nats_link: NatsLink, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    site, db = new_site(), tmp_path / "w.db"
    try:
        assert main(["sensor", str(DEMO), "--site", site, "--nats", NATS_URL]) == 0
        assert "complete" in capsys.readouterr().err
        assert main(["worker", "--db", str(db), "--site", site, "--nats", NATS_URL, "--idle-exit", "1.5"]) == 0
        assert "1 runs ended" in capsys.readouterr().err
        with Store(f"sqlite:///{db}") as store, store.session() as session:
            assert int(session.scalar(select(func.count()).select_from(DeviceRow)) or 0) > 0
    finally:
        cleanup(nats_link, site, f"iotwarden-worker-{site}")
