"""A run's checkpoints write differences: however a run is cut into checkpoints, the store ends as
``iotwarden analyze`` leaves it (no NATS needed: the sensor's messages are made and fed in-process)."""

from __future__ import annotations

from pathlib import Path

from iotwarden.services.feed import Feed
from iotwarden.services.records import Encoder, decode, tick_of
from iotwarden.services.runstate import RunState
from iotwarden.store import Store
from iotwarden.store import writer as w
from tests.services.test_worker import DEMO, expected, state

__all__ = ["expected"]


def _messages() -> list[bytes]:
    enc = Encoder("hq", "run", str(DEMO), max_bytes=32 * 1024)
    feed = Feed(DEMO, "capture")
    out = [p for b in feed.batches()
           for _, p in enc.batch(b.observations, b.flows, tick=tick_of(b.ts, b.flows), packets=b.packets)]
    return [*out, *(p for _, p in enc.batch([], [], tick=None, end=True, stats={"status": "complete"}))]


def test_checkpoint_after_every_message_adds_up_to_analyze(tmp_path: Path, expected: dict[str, object]) -> None:
    run = RunState("hq", "run")
    with Store(f"sqlite:///{tmp_path / 'w.db'}") as store:
        for payload in _messages():
            run.feed(decode(payload))
            with store.transaction() as session:
                row = w.begin_capture(session, path="nats://hq/run", sha256=None, size=0, fmt="nats")
                run.checkpoint(session, row.id)
        assert run.ended and run.gaps == 0
        assert state(store) == expected


def test_a_gap_in_the_sequence_is_counted() -> None:
    msgs = _messages()
    run = RunState("hq", "run")
    run.feed(decode(msgs[0]))
    run.feed(decode(msgs[3]))
    assert run.gaps == 2 and run.next_seq == 4
