"""The console bus over NATS: an event published in one process reaches the subscribers of another;
malformed messages on the events subject are counted and dropped; local delivery needs no server trip."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from iotwarden.bus.inprocess import InProcessBus
from iotwarden.bus.jetstream import EVENTS_PREFIX, NatsLink
from iotwarden.bus.nats import MAX_EVENT_BYTES, NatsBus
from tests.natsutil import NATS_URL, nats_link

__all__ = ["nats_link"]
pytestmark = pytest.mark.nats

PUBLISHER = f"""
from iotwarden.bus.nats import NatsBus
bus = NatsBus({NATS_URL!r}, name="test publisher")
bus.publish("alert.created", {{"id": 7, "title": "from another process", "marker": MARKER}})
bus.flush()
bus.close()
"""


def _next(sub: object, timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = sub.get(0.2)  # type: ignore[attr-defined]
        if event is not None:
            return event
    return None


def test_events_cross_processes(nats_link: NatsLink) -> None:
    marker = time.time_ns()
    bus = NatsBus(NATS_URL, name="test console")
    try:
        with bus.subscribe(["alert"]) as sub:
            subprocess.run([sys.executable, "-c", PUBLISHER.replace("MARKER", str(marker))], check=True, timeout=60)
            event = _next(sub)
            assert event is not None and event.topic == "alert.created"  # type: ignore[attr-defined]
            assert event.data == {"id": 7, "title": "from another process", "marker": marker}  # type: ignore[attr-defined]
            assert bus.received >= 1
    finally:
        bus.close()


def test_local_events_are_delivered_once_and_malformed_ones_counted(nats_link: NatsLink) -> None:
    bus = NatsBus(NATS_URL, name="test console")
    try:
        with bus.subscribe(["inventory"]) as sub:
            bus.publish("inventory.devices", {"count": 1})
            bus.flush()
            assert sub.get(2.0) is not None
            nats_link.call(nats_link.client.publish(f"{EVENTS_PREFIX}.inventory.devices", b"not json"))
            nats_link.call(nats_link.client.publish(f"{EVENTS_PREFIX}.inventory.devices", b"[1, 2]"))
            nats_link.call(nats_link.client.publish(f"{EVENTS_PREFIX}.inventory.devices",
                                                    b"{}" + b" " * MAX_EVENT_BYTES))
            nats_link.call(nats_link.client.flush())
            deadline = time.monotonic() + 5
            while bus.malformed < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert bus.malformed == 3
            assert sub.get(0.3) is None  # no echo of our own event, nothing from the malformed ones
    finally:
        bus.close()


def test_an_event_nested_past_json_s_recursion_is_counted_malformed_not_raised() -> None:
    """json.loads raises RecursionError (not ValueError) for an event nested thousands deep: another process
    on the bus must not be able to raise out of the subscription callback. No server needed."""
    bus = NatsBus.__new__(NatsBus)  # the callback alone: no connection
    InProcessBus.__init__(bus)
    bus.received = bus.malformed = 0
    deep = SimpleNamespace(subject=f"{EVENTS_PREFIX}.alert.created", data=b"[" * 100_000 + b"]" * 100_000)
    asyncio.run(bus._on_message(deep))  # type: ignore[arg-type]
    assert (bus.malformed, bus.received) == (1, 0)
    good = SimpleNamespace(subject=f"{EVENTS_PREFIX}.alert.created", data=b'{"id": 1}')
    with bus.subscribe(["alert"]) as sub:
        asyncio.run(bus._on_message(good))  # type: ignore[arg-type]
        event = sub.get(1.0)
    assert (bus.malformed, bus.received) == (1, 1) and event is not None and event.data == {"id": 1}
