"""The in-process bus: topic prefixes, ordering, bounded queues that drop the oldest, a subscriber limit,
and delivery across threads to blocking and asyncio readers."""

from __future__ import annotations

import asyncio
import threading

import pytest

from iotwarden.bus.inprocess import BusFull, InProcessBus


def test_a_subscriber_gets_its_topics_and_their_children_in_order() -> None:
    bus = InProcessBus()
    with bus.subscribe(["alert"]) as sub:
        bus.publish("alert.created", {"id": 1})
        bus.publish("inventory.devices", {"count": 3})
        bus.publish("alerting.other", {})  # a different topic that merely shares the prefix text
        bus.publish("alert", {"id": 2})
        events = sub.drain()
    assert [(e.topic, e.data) for e in events] == [("alert.created", {"id": 1}), ("alert", {"id": 2})]
    assert events[0].seq < events[1].seq


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    bus = InProcessBus(queue_size=3)
    sub = bus.subscribe()
    for i in range(5):
        bus.publish("inventory.devices", {"i": i})
    assert [e.data["i"] for e in sub.drain()] == [2, 3, 4]
    assert sub.dropped == 2


def test_the_number_of_subscribers_is_bounded_and_closing_frees_a_place() -> None:
    bus = InProcessBus(max_subscribers=2)
    first = bus.subscribe()
    bus.subscribe()
    with pytest.raises(BusFull):
        bus.subscribe()
    first.close()
    bus.subscribe()
    assert bus.subscribers == 2


def test_a_blocking_reader_wakes_when_another_thread_publishes() -> None:
    bus = InProcessBus()
    sub = bus.subscribe()
    threading.Timer(0.05, bus.publish, args=("capture.finished", {"path": "x"})).start()
    event = sub.get(timeout=5)
    assert event is not None and event.topic == "capture.finished"
    assert sub.get(timeout=0.01) is None


def test_an_asyncio_reader_wakes_when_another_thread_publishes() -> None:
    bus = InProcessBus()
    sub = bus.subscribe()

    async def read() -> list[str | None]:
        first = await sub.aget(0.01)  # nothing yet: times out
        threading.Timer(0.05, bus.publish, args=("alert.created", {"id": 7})).start()
        second = await sub.aget(5)
        return [first and first.topic, second and second.topic]

    assert asyncio.run(read()) == [None, "alert.created"]
