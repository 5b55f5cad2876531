"""The in-process event bus: publishers in any thread, subscribers with bounded queues (sync or asyncio).

A slow subscriber never slows a publisher: when its queue is full the oldest event is dropped and
counted on the subscription. Topics are dotted names ("inventory.device", "alert.created").
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_SUBSCRIBERS = 64  # open subscriptions (SSE clients, workers); one more is refused
QUEUE_SIZE = 1000  # events buffered per subscription before the oldest is dropped


class BusFull(Exception):
    """Refused: the bus already has :data:`MAX_SUBSCRIBERS` subscriptions."""


@dataclass(frozen=True, slots=True)
class Event:
    """One published event; ``seq`` increases by one per event on a bus (SSE ``id:``)."""

    seq: int
    topic: str
    data: dict[str, Any]
    ts: float


@dataclass(eq=False)
class Subscription:
    """Events of the topics (prefixes) it asked for, oldest first; close it when done."""

    bus: InProcessBus
    prefixes: tuple[str, ...]
    maxsize: int
    dropped: int = 0
    _queue: deque[Event] = field(default_factory=deque)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _waker: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def wants(self, topic: str) -> bool:
        return not self.prefixes or any(topic == p or topic.startswith(p + ".") for p in self.prefixes)

    def _put(self, event: Event) -> None:
        with self._cond:
            if len(self._queue) >= self.maxsize:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(event)
            self._cond.notify()
            waker = self._waker
        if waker is not None:
            loop, flag = waker
            with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed: it reads no more
                loop.call_soon_threadsafe(flag.set)

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: forever); None on timeout."""
        with self._cond:
            if not self._queue:
                self._cond.wait(timeout)
            return self._queue.popleft() if self._queue else None

    def drain(self) -> list[Event]:
        with self._cond:
            out = list(self._queue)
            self._queue.clear()
            return out

    async def aget(self, timeout: float) -> Event | None:
        """Asyncio flavour of :meth:`get` for the running loop (SSE handlers)."""
        with self._cond:
            if self._queue:
                return self._queue.popleft()
            if self._waker is None:
                self._waker = (asyncio.get_running_loop(), asyncio.Event())
            flag = self._waker[1]
            flag.clear()
        try:
            await asyncio.wait_for(flag.wait(), timeout)
        except TimeoutError:
            return None
        with self._cond:
            return self._queue.popleft() if self._queue else None

    def close(self) -> None:
        self.bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessBus:
    """Publish/subscribe inside one process; thread-safe."""

    def __init__(self, *, max_subscribers: int = MAX_SUBSCRIBERS, queue_size: int = QUEUE_SIZE) -> None:
        self.max_subscribers = max_subscribers
        self.queue_size = queue_size
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._seq = itertools.count(1)
        self.published = 0

    def subscribe(self, topics: Iterable[str] = ()) -> Subscription:
        """A subscription to the topics (a topic also matches its dotted children); none: everything."""
        with self._lock:
            if len(self._subs) >= self.max_subscribers:
                raise BusFull(f"the bus already has {self.max_subscribers} subscribers")
            sub = Subscription(self, tuple(topics), self.queue_size)
            self._subs.append(sub)
            return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def publish(self, topic: str, data: dict[str, Any]) -> Event:
        with self._lock:
            event = Event(next(self._seq), topic, data, time.time())
            self.published += 1
            targets = [s for s in self._subs if s.wants(topic)]
        for sub in targets:
            sub._put(event)
        return event
