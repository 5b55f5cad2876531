"""The local NATS server (JetStream) for tests marked ``nats``: a connected link, unique site names, and
cleanup of what a test left on the server (its consumers and messages)."""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator

import pytest

from iotwarden.bus.jetstream import STREAM, BusError, NatsLink, records_subject

NATS_URL = "nats://127.0.0.1:4222"


def _reason() -> str | None:
    try:
        socket.create_connection(("127.0.0.1", 4222), timeout=2).close()
    except OSError as exc:
        return f"NATS is not running at {NATS_URL} ({exc.strerror}); .ci/run starts it"
    return None


@pytest.fixture
def nats_link() -> Iterator[NatsLink]:
    """A link to the local NATS server with the records stream in place; skipped when NATS is down."""
    reason = _reason()
    if reason:
        pytest.skip(reason)
    try:
        link = NatsLink(NATS_URL, name="iotwarden tests").connect()
        link.ensure_stream()
    except BusError as exc:
        pytest.skip(str(exc))
    try:
        yield link
    finally:
        link.close()


def new_site() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def cleanup(link: NatsLink, site: str, *durables: str) -> None:
    """Remove the test's consumers and its site's messages from the shared stream."""
    js = link.jetstream()
    for durable in durables:
        with contextlib.suppress(Exception):  # already gone
            link.call(js.delete_consumer(STREAM, durable))
    link.call(js.purge_stream(STREAM, subject=records_subject(site)))
