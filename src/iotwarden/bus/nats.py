"""The console's event bus across processes: the in-process bus's interface (publish, subscribe), with each
event also sent on core NATS (``iotwarden.events.<topic>``) and every other process's events delivered to
the local subscribers. Events are live notices, not records: a console that is down misses them (what
they announce is in the store), so they are not kept in JetStream.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription

from iotwarden.bus.inprocess import MAX_SUBSCRIBERS, QUEUE_SIZE, Event, InProcessBus
from iotwarden.bus.jetstream import EVENTS_PREFIX, BusError, NatsLink

log = logging.getLogger(__name__)
MAX_EVENT_BYTES = 64 * 1024  # an event larger than this (sent or received) is dropped and counted
TOPIC_PATTERN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


class NatsBus(InProcessBus):
    """An :class:`InProcessBus` whose events also travel over NATS between processes (``serve --nats``
    shows what workers on other hosts store). The connection does not echo this process's own events
    back; they reach local subscribers directly."""

    def __init__(self, url: str, *, name: str = "iotwarden bus", max_subscribers: int = MAX_SUBSCRIBERS,
                 queue_size: int = QUEUE_SIZE) -> None:
        super().__init__(max_subscribers=max_subscribers, queue_size=queue_size)
        self.link = NatsLink(url, name=name, no_echo=True).connect()
        self.received = 0  # events that came from other processes
        self.malformed = 0  # received messages that were not events (counted, dropped)
        self.send_errors = 0  # events that could not be sent (too large, client buffer full)
        self._sub: NatsSubscription | None = None
        try:
            self._sub = self.link.call(self.link.client.subscribe(f"{EVENTS_PREFIX}.>", cb=self._on_message))
        except Exception as exc:  # noqa: BLE001 - a refused subscription is one line
            self.link.close()
            raise BusError(f"cannot subscribe to console events on NATS: {exc}") from None

    async def _on_message(self, msg: Msg) -> None:
        topic = msg.subject[len(EVENTS_PREFIX) + 1:]
        try:
            if len(msg.data) > MAX_EVENT_BYTES or not topic or not set(topic) <= TOPIC_PATTERN_CHARS:
                raise ValueError("not an event")
            data = json.loads(msg.data)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply
            self.malformed += 1
            return
        self.received += 1
        super().publish(topic, data)

    def publish(self, topic: str, data: dict[str, Any]) -> Event:
        """Deliver to this process's subscribers and send to the others'; never blocks on NATS."""
        event = super().publish(topic, data)
        payload = json.dumps(data, separators=(",", ":"), default=str).encode()
        if len(payload) > MAX_EVENT_BYTES or not set(topic) <= TOPIC_PATTERN_CHARS:
            self.send_errors += 1
            return event
        try:
            self.link.submit(self.link.client.publish(f"{EVENTS_PREFIX}.{topic}", payload))
        except (BusError, RuntimeError):  # closed: local delivery still happened
            self.send_errors += 1
        return event

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until what was published has reached the server (tests, a worker before it exits)."""
        self.link.call(self.link.client.flush(timeout=int(max(1, timeout))), timeout + 1)

    def close(self) -> None:
        self.link.close()
