"""A NATS server that dies mid-stream (SIGKILL) and comes back on the same store: the sensor and the worker
reconnect by themselves, nothing is lost or stored twice (the store equals ``iotwarden analyze`` on the
same capture) and the worker goes on from its durable consumer's acknowledged position. A server that
stays away longer than the outage limit is one error line and a non-zero exit, never a traceback.

Each test runs its own nats-server (tests/services/nats_server.py), never the shared one on 4222.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import func, select

import iotwarden.services.sensor as sensor_mod
import iotwarden.services.worker as worker_mod
from iotwarden.bus.jetstream import STREAM, NatsLink
from iotwarden.services.sensor import Outbox, RunReport, Sensor
from iotwarden.services.worker import Worker
from iotwarden.store import Store
from iotwarden.store.stream_models import StreamMessageRow
from tests.services.nats_server import NatsServer, nats_server
from tests.services.test_worker import DEMO, expected, state

__all__ = ["expected", "nats_server"]
pytestmark = pytest.mark.slow
SMALL_MESSAGES = 16 * 1024  # the demo capture travels in many messages, so the outage falls mid-run
OUTAGE_S = 2.0  # how long the server stays dead
ACK_WAIT_S = 2.0  # a delivery whose acknowledgement the crash lost comes again this soon (120 s in production)


class GatedOutbox(Outbox):
    """The sensor's outbox, holding the publisher after its ``after``-th published message until the test
    has killed the server: the crash then falls between two messages of the run, deterministically."""

    def __init__(self, after: int, **limits: Any) -> None:
        super().__init__(**limits)
        self.after, self.popped = after, 0
        self.reached, self.go = threading.Event(), threading.Event()

    def pop(self) -> None:
        super().pop()
        self.popped += 1
        if self.popped == self.after:
            self.reached.set()
            self.go.wait(30)


def pending(link: NatsLink, durable: str) -> int:
    """Messages of the consumer not yet acknowledged (delivered or not)."""
    info = link.call(link.jetstream().consumer_info(STREAM, durable))
    return int(info.num_ack_pending + info.num_pending)


def consumer_exists(link: NatsLink, durable: str) -> bool:
    try:
        link.call(link.jetstream().consumer_info(STREAM, durable))
    except NotFoundError:
        return False
    return True


def stream_messages(link: NatsLink) -> int:
    return int(link.call(link.jetstream().stream_info(STREAM)).state.messages)


def wait_for(what: str, done: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sensor_and_worker_ride_out_a_server_crash(nats_server: NatsServer, tmp_path: Path,
                                                   expected: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_mod, "FETCH_BATCH", 4)  # many small checkpoints, one of them cut by the crash
    monkeypatch.setattr(worker_mod, "COMMIT_EVERY_S", 0.0)
    monkeypatch.setattr(worker_mod, "ACK_WAIT_S", ACK_WAIT_S)
    monkeypatch.setattr(sensor_mod, "PUBLISH_TIMEOUT_S", OUTAGE_S / 2)  # publishes time out and are tried again
    site = "hq"
    outbox = GatedOutbox(after=10, max_messages=4)  # a small outbox: the engine waits for room meanwhile
    with NatsLink(nats_server.url, name="test sensor").connect() as sensor_link, \
            NatsLink(nats_server.url, name="test worker").connect() as worker_link, \
            Store(f"sqlite:///{tmp_path / 'w.db'}") as store:
        sensor = Sensor(sensor_link, site, max_message_bytes=SMALL_MESSAGES, outbox=outbox)
        worker = Worker(worker_link, store, site=site)
        reports: list[RunReport] = []
        unsent: list[int] = []

        def run_sensor() -> None:
            reports.extend(sensor.run_paths([DEMO]))
            unsent.append(sensor.close())

        threads = [threading.Thread(target=run_sensor, daemon=True), threading.Thread(target=worker.run, daemon=True)]
        for thread in threads:
            thread.start()
        try:
            assert outbox.reached.wait(20), "the sensor published nothing"
            wait_for("the worker's first checkpoint", lambda: worker.stats.checkpoints > 0)
            stored_before = worker.stats.messages
            nats_server.kill()
            outbox.go.set()
            wait_for("both clients to see the server gone",
                     lambda: sensor_link.disconnects > 0 and worker_link.disconnects > 0)
            time.sleep(OUTAGE_S)
            assert sensor.published == outbox.after and not sensor_link.connected and not worker_link.connected
            nats_server.start()
            threads[0].join(40)
            assert not threads[0].is_alive(), "the sensor did not finish after the server came back"
            [report] = reports
            assert report.status == "complete" and unsent == [0] and sensor.published == report.messages
            # it waited for the server, dropping nothing; a message tried again is stored once (Nats-Msg-Id)
            assert sensor.retries > 0 and outbox.dropped == 0
            wait_for("the worker to store the whole run", lambda: worker.stats.runs_ended == 1, timeout=30)
            # JetStream writes consumer state to disk asynchronously: acknowledgements of the last moments
            # before the crash may be forgotten, and those messages come again after ACK_WAIT_S
            wait_for("every message to be acknowledged", lambda: pending(worker_link, worker.durable) == 0)
        finally:
            worker.stop()
            outbox.go.set()
            for thread in threads:
                thread.join(30)
        assert not threads[1].is_alive()
        # nothing lost, nothing stored twice: the store is what analyze makes of the capture
        assert worker.stats.messages == report.messages and worker.stats.malformed == 0
        assert 0 < stored_before < report.messages  # the crash fell inside the run
        got = state(store)
        for part, value in expected.items():
            assert got[part] == value, part
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(StreamMessageRow)) == report.messages
        # the durable consumer survived the restart and went on from its acknowledged position:
        # every message acknowledged once, none waiting, none fed again from the start
        info = worker_link.call(worker_link.jetstream().consumer_info(STREAM, worker.durable))
        assert info.num_ack_pending == 0 and info.num_pending == 0
        assert info.ack_floor.stream_seq == info.delivered.stream_seq == report.messages
        # messages the restarted server sent again were recognised as stored (stream_messages), never fed
        # again; the run's analyzer state went on where it was (no gap)
        assert worker.stats.gaps == 0 and worker.stats.runs_started == 1


def iotwarden(*args: str) -> subprocess.Popen[str]:
    """The ``iotwarden`` command in its own process (its exit code and stderr are what a user sees)."""
    return subprocess.Popen([sys.executable, "-m", "iotwarden.cli.main", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_server_that_stays_away_past_the_outage_limit_is_one_error_line(nats_server: NatsServer,
                                                                          tmp_path: Path) -> None:
    inputs = tmp_path / "captures"  # several runs: the sensor is still publishing when the server dies
    inputs.mkdir()
    for i in range(6):
        shutil.copy(DEMO, inputs / f"{i}.pcap")
    limit = "2"
    worker = iotwarden("worker", "--nats", nats_server.url, "--db", f"sqlite:///{tmp_path / 'w.db'}", "--site", "hq",
                       "--outage-limit", limit)
    try:
        with NatsLink(nats_server.url, name="test observer").connect() as link:
            wait_for("the worker's consumer", lambda: consumer_exists(link, "iotwarden-worker-hq"))
            sensor = iotwarden("sensor", str(inputs), "--site", "hq", "--nats", nats_server.url,
                               "--outage-limit", limit)
            try:
                wait_for("the sensor's first message", lambda: stream_messages(link) > 0)
                nats_server.kill()
                killed = time.monotonic()
                outputs = {name: proc.communicate(timeout=30) for name, proc in (("sensor", sensor),
                                                                                  ("worker", worker))}
            finally:
                sensor.kill()
        waited = time.monotonic() - killed
    finally:
        worker.kill()
    assert waited < 20  # the limit (2 s) plus reconnect attempts and the last checkpoint, not forever
    for name, proc in (("sensor", sensor), ("worker", worker)):
        err = outputs[name][1]
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert proc.returncode == 2, (name, err)
        assert "Traceback" not in err and len(errors) == 1, (name, err)
        assert re.fullmatch(rf"error: NATS at {re.escape(nats_server.url)} away for \d+ s, longer than the outage "
                            rf"limit of 2 s \(--outage-limit\); {name} stopped, .*", errors[0]), errors[0]


def test_without_an_outage_limit_a_sensor_waits_and_says_what_it_could_not_send(nats_server: NatsServer) -> None:
    with NatsLink(nats_server.url, name="test sensor").connect() as link:
        sensor = Sensor(link, "hq", max_message_bytes=SMALL_MESSAGES, outage_limit_s=0)
        nats_server.kill()
        [report] = sensor.run_paths([DEMO])  # the capture is read whole into the outbox while the server is away
        time.sleep(1.5)  # longer than any limit this test would notice: with 0 the sensor never gives up
        unsent = sensor.close(timeout=0.5)
        assert sensor.failure is None and report.status == "complete"
        assert sensor.published == 0 and unsent == report.messages > 0 and sensor.outbox.dropped == 0
