"""NATS for the synchronous parts of iotwarden (sensor, worker, console bus): one nats-py connection driven
by an asyncio loop in a background thread, the URL and site-name checks, the subjects, and the JetStream
stream sensors publish to (created when missing, bounded by :data:`STREAM_MAX_BYTES` and
:data:`STREAM_MAX_AGE_S`). A lost connection is retried every :data:`RECONNECT_WAIT_S`; how long it has
been lost is :meth:`NatsLink.down_for`, which sensor and worker hold against :data:`OUTAGE_LIMIT_S`.
nats-py (and its aiohttp) is imported when a link connects, not with this module, whose constants and checks
the CLI reads when it lists its commands.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from iotwarden.bus.limits import OUTAGE_LIMIT_S as OUTAGE_LIMIT_S  # noqa: PLC0414 - re-exported, as before it moved
from iotwarden.errors import IotwardenError, describe

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext
    from nats.js.api import StreamInfo

log = logging.getLogger(__name__)
T = TypeVar("T")

STREAM = "IOTWARDEN"  # the JetStream stream of every site's records
RECORDS_PREFIX = "iotwarden"  # records of site S on subject "iotwarden.S.records"
EVENTS_PREFIX = "iotwarden.events"  # console events (core NATS, not stored): "iotwarden.events.<topic>"
STREAM_MAX_BYTES = 8 * 1024**3  # retention limit of the stream: past it the oldest messages go first
STREAM_MAX_AGE_S = 7 * 86400.0  # a message older than this is discarded even if never consumed
DUPLICATE_WINDOW_S = 300.0  # a batch a sensor publishes again within this window is stored once (Nats-Msg-Id)
CONNECT_TIMEOUT_S = 3.0  # the first connection; later ones are reconnects, retried forever
RECONNECT_WAIT_S = 1.0  # pause between two reconnect attempts
PENDING_BYTES = 8 * 1024 * 1024  # publishes the client buffers while reconnecting; past it a publish fails
CALL_TIMEOUT_S = 10.0  # a request to the server (stream info, publish ack, fetch) waits at most this long
SITE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # one NATS subject token
SCHEMES = ("nats", "tls")


class BusError(IotwardenError):
    """NATS cannot be reached or refused a request (bad URL, server down, JetStream disabled)."""


def check_url(url: str) -> str:
    """``url`` when it is a usable NATS URL (``nats://HOST:PORT`` or ``tls://``), else :class:`BusError`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BusError(f"invalid NATS URL {url!r}: {exc}") from None
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise BusError(f"invalid NATS URL {url!r}: expected nats://HOST:PORT (or tls://HOST:PORT)")
    if port is not None and not 0 < port < 65536:
        raise BusError(f"invalid NATS URL {url!r}: port must be 1-65535")
    return url


def check_site(site: str) -> str:
    """``site`` when it can name a subject token (letters, digits, ``_``, ``-``; 1-64), else :class:`BusError`."""
    if not SITE_PATTERN.fullmatch(site):
        raise BusError(f"invalid site name {site!r}: use 1-64 letters, digits, '_' or '-'")
    return site


def records_subject(site: str | None) -> str:
    """The subject of one site's records; every site's (a wildcard) when ``site`` is None."""
    return f"{RECORDS_PREFIX}.{check_site(site) if site is not None else '*'}.records"


def redact(url: str) -> str:
    """``url`` without credentials, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    return parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host).geturl()


class NatsLink:
    """One NATS connection for synchronous callers: its asyncio loop runs in a daemon thread; :meth:`call`
    runs a coroutine there and waits for its result. Reconnects are retried forever (counted in
    :attr:`disconnects`; :meth:`down_for` says for how long the server has been away, so a caller can
    give up); publishes while disconnected are buffered up to :data:`PENDING_BYTES`."""

    def __init__(self, url: str, *, name: str, no_echo: bool = False, pending_bytes: int = PENDING_BYTES) -> None:
        self.url = check_url(url)
        self.name, self.no_echo, self.pending_bytes = name, no_echo, pending_bytes
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"nats {name}", daemon=True)
        self.nc: Client | None = None
        self.disconnects = 0
        self.errors = 0
        self.last_error: str | None = None
        self._closing = False
        self._down_since: float | None = None  # time.monotonic() when the connection was lost; None: up

    def connect(self) -> NatsLink:
        """Connect (:data:`CONNECT_TIMEOUT_S`); :class:`BusError` with the reason when it cannot."""
        self._thread.start()
        try:
            self.nc = self.call(self._connect(), CONNECT_TIMEOUT_S * 3)
        except BusError:
            self._stop_loop()
            raise
        except Exception as exc:  # noqa: BLE001 - nats-py raises many kinds; each becomes one line
            self._stop_loop()
            reason = self.last_error or str(exc) or type(exc).__name__
            raise BusError(f"cannot reach NATS at {redact(self.url)}: {reason}") from None
        return self

    async def _connect(self) -> Client:
        async def disconnected() -> None:
            if self._closing:
                return
            self.disconnects += 1
            if self._down_since is None:
                self._down_since = time.monotonic()
            log.warning("NATS %s: disconnected, reconnecting", redact(self.url))

        async def reconnected() -> None:
            self._down_since = None
            log.warning("NATS %s: reconnected", redact(self.url))

        async def error(exc: Exception) -> None:
            self.errors += 1
            self.last_error = describe(exc)
            log.debug("NATS %s: %s", redact(self.url), self.last_error)

        import nats  # noqa: PLC0415 - nats-py and aiohttp (~0.1 s): only once a link connects

        nc = await nats.connect(
            servers=[self.url], name=self.name, connect_timeout=int(CONNECT_TIMEOUT_S),
            reconnect_time_wait=int(RECONNECT_WAIT_S), max_reconnect_attempts=1, allow_reconnect=True,
            no_echo=self.no_echo, pending_size=self.pending_bytes, disconnected_cb=disconnected,
            reconnected_cb=reconnected, error_cb=error,
        )
        # the first connection is tried once (a wrong URL is one clear line at once); once connected,
        # reconnects go on forever (a server restart is waited out)
        nc.options["max_reconnect_attempts"] = -1
        return nc

    @property
    def client(self) -> Client:
        if self.nc is None:
            raise BusError("not connected to NATS")
        return self.nc

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def down_for(self) -> float:
        """Seconds since the connection was lost and not yet regained (0.0 while connected)."""
        since = self._down_since
        return 0.0 if since is None else time.monotonic() - since

    def outage_error(self, limit: float, away_s: float, what: str) -> BusError:
        """The one line a sensor or worker stops with once NATS has been away ``away_s`` seconds, longer
        than ``limit``; ``what`` says what that leaves undone."""
        reason = f" (last error: {self.last_error})" if self.last_error else ""
        return BusError(f"NATS at {redact(self.url)} away for {away_s:.0f} s, longer than the outage limit of "
                        f"{limit:g} s (--outage-limit); {what}{reason}")

    def jetstream(self) -> JetStreamContext:
        return self.client.jetstream(timeout=CALL_TIMEOUT_S)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run ``coro`` on the connection's loop and wait up to ``timeout`` seconds for its result
        (TimeoutError past it; the coroutine's own exceptions pass through)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def submit(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the connection's loop without waiting (errors are counted)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        future.add_done_callback(self._count)

    def _count(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.errors += 1
            self.last_error = str(future.exception()) or type(future.exception()).__name__

    def ensure_stream(self) -> StreamInfo:
        """The records stream, created when missing (see :func:`ensure_stream`)."""
        try:
            return self.call(ensure_stream(self.jetstream()))
        except BusError:
            raise
        except Exception as exc:  # noqa: BLE001 - JetStream off, no permission, timeout: one line
            raise BusError(f"NATS at {redact(self.url)}: cannot use JetStream stream {STREAM}: "
                           f"{str(exc) or type(exc).__name__} (is the server started with -js?)") from None

    def close(self) -> None:
        """Flush what is buffered (briefly) and disconnect; safe to call twice. While the server is away
        there is nothing to flush to: the connection is closed at once, its buffer dropped."""
        self._closing = True
        if self.nc is not None and not self.nc.is_closed:
            for step in (self.nc.flush, self.nc.close) if self.nc.is_connected else (self.nc.close,):
                try:
                    self.call(step(), CALL_TIMEOUT_S)
                except Exception:
                    log.debug("NATS close step failed", exc_info=True)
        self._stop_loop()

    def _stop_loop(self) -> None:
        if self._thread.is_alive():
            # tasks nats-py leaves behind (a subscription's reader after a close while reconnecting) end
            # here, not at garbage collection on a closed loop (a traceback on stderr at exit)
            try:
                self.call(_cancel_tasks(), CALL_TIMEOUT_S)
            except Exception:  # best effort: the loop stops anyway
                log.debug("NATS tasks did not end", exc_info=True)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(CALL_TIMEOUT_S)
        if not self._thread.is_alive() and not self.loop.is_closed():
            self.loop.close()

    def __enter__(self) -> NatsLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _cancel_tasks() -> None:
    """Cancel every other task of the running loop and wait for them to end."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def ensure_stream(js: JetStreamContext) -> StreamInfo:
    """The :data:`STREAM` stream over every site's records subject; created when missing with the
    retention limits above (file storage, the oldest messages discarded first)."""
    from nats.js.api import DiscardPolicy, StorageType, StreamConfig  # noqa: PLC0415 - as in _connect
    from nats.js.errors import NotFoundError  # noqa: PLC0415

    try:
        return await js.stream_info(STREAM)
    except NotFoundError:
        pass
    config = StreamConfig(name=STREAM, subjects=[records_subject(None)], max_bytes=STREAM_MAX_BYTES,
                          max_age=STREAM_MAX_AGE_S, duplicate_window=DUPLICATE_WINDOW_S,
                          storage=StorageType.FILE, discard=DiscardPolicy.OLD,
                          description="iotwarden sensor records (Observations and closed Flows)")
    return await js.add_stream(config)
