"""The sensor: its outbox is bounded (a file waits for room, a live capture drops the oldest), a capture
becomes one run ended by a message with its capture statistics, and a file that is not a capture is a
failed run with nothing published."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from iotwarden.bus.jetstream import STREAM, NatsLink, records_subject
from iotwarden.services.records import decode
from iotwarden.services.sensor import Outbox, Sensor
from tests.natsutil import cleanup, nats_link, new_site
from tests.services.test_worker import DEMO

__all__ = ["nats_link"]


def test_a_full_outbox_drops_the_oldest_for_live_capture() -> None:
    box = Outbox(max_messages=3, max_bytes=1000)
    for i in range(5):
        box.put((str(i), b"x"), block=False)
    assert len(box) == 3 and box.dropped == 2 and box.peek(0) == ("2", b"x")
    box.put(("big", b"y" * 1000), block=False)  # bytes bound too: everything older goes
    assert len(box) == 1 and box.dropped == 5


def test_a_full_outbox_makes_a_file_wait_for_room() -> None:
    box = Outbox(max_messages=1, max_bytes=1000)
    box.put(("a", b"1"), block=True)
    done = threading.Event()
    waiter = threading.Thread(target=lambda: (box.put(("b", b"2"), block=True), done.set()))
    waiter.start()
    assert not done.wait(0.3)  # waiting: nothing dropped
    box.pop()
    assert done.wait(5) and box.peek(0) == ("b", b"2") and box.dropped == 0
    waiter.join()


@pytest.mark.nats
def test_a_capture_is_one_run_ended_with_its_statistics(nats_link: NatsLink, tmp_path: Path) -> None:
    site = new_site()
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all" * 20)
    try:
        sensor = Sensor(nats_link, site, max_message_bytes=64 * 1024)
        good, bad = sensor.run_paths([DEMO, junk])
        assert sensor.close() == 0
        assert good.status == "complete" and good.packets > 0 and good.messages == sensor.published
        assert bad.status == "failed" and bad.messages == 0 and bad.error
        sub = nats_link.call(nats_link.jetstream().pull_subscribe(records_subject(site), stream=STREAM))
        msgs = [decode(m.data) for m in nats_link.call(sub.fetch(good.messages, timeout=5))]
        assert [m.seq for m in msgs] == list(range(good.messages)) and {m.run for m in msgs} == {good.run}
        assert msgs[-1].end and msgs[-1].stats["status"] == "complete"
        assert msgs[-1].stats["packets"] == good.packets == sum(m.packets for m in msgs)
        assert sum(len(m.flows) for m in msgs) == good.flows
        nats_link.call(sub.unsubscribe())
    finally:
        cleanup(nats_link, site)


@pytest.mark.nats
def test_stop_ends_the_current_file_cleanly(nats_link: NatsLink) -> None:
    site = new_site()
    try:
        sensor = Sensor(nats_link, site, max_message_bytes=64 * 1024)
        sensor.stop()
        assert sensor.run_paths([DEMO]) == []  # stopped before the first input
        sensor.close()
    finally:
        cleanup(nats_link, site)
