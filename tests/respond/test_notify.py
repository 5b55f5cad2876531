"""Webhooks: a JSON POST received by a server on 127.0.0.1; retries are bounded and only for answers
worth retrying (429, 5xx) or no answer; a failed delivery is reported, never raised."""

from __future__ import annotations

import hashlib
import hmac
import socket

import pytest

from iotwarden.errors import ConfigError
from iotwarden.respond import notify
from iotwarden.respond.notify import post_json
from tests.respond.conftest import Receiver


def no_sleep(_s: float) -> None:
    return


def test_a_notification_arrives_as_json(receiver: Receiver) -> None:
    got = post_json(receiver.url, {"event": "alert"}, timeout_s=2, retries=0, headers={"X-Token": "t"})
    assert got.ok and got.status == 200 and got.attempts == 1 and got.reply == '{"ok": true}'
    assert receiver.received == [{"schema": "iotwarden.notification/1", "event": "alert"}]
    assert receiver.headers[0]["Content-Type"] == "application/json" and receiver.headers[0]["X-Token"] == "t"


def test_unavailable_answers_are_retried_with_growing_waits(receiver: Receiver) -> None:
    receiver.statuses[:] = [503, 429]
    waits: list[float] = []
    got = post_json(receiver.url, {"n": 1}, timeout_s=2, retries=3, sleep=waits.append)
    assert got.ok and got.attempts == 3 and waits == [notify.BACKOFF_S, notify.BACKOFF_S * 2]


def test_retries_are_bounded(receiver: Receiver) -> None:
    receiver.statuses[:] = [500] * 10
    got = post_json(receiver.url, {"n": 1}, timeout_s=2, retries=2, sleep=no_sleep)
    assert not got.ok and got.attempts == 3 and got.status == 500 and "HTTP 500" in got.error
    assert len(receiver.received) == 3


def test_a_refusal_is_not_retried(receiver: Receiver) -> None:
    receiver.statuses[:] = [401]
    got = post_json(receiver.url, {"n": 1}, timeout_s=2, retries=5, sleep=no_sleep)
    assert not got.ok and got.attempts == 1 and got.status == 401


def test_nobody_listening_is_a_failed_delivery_not_an_exception() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    got = post_json(f"http://127.0.0.1:{port}/", {"n": 1}, timeout_s=1, retries=1, sleep=no_sleep)
    assert not got.ok and got.status is None and got.attempts == 2 and got.error


def test_bad_urls_and_oversized_documents_are_refused() -> None:
    with pytest.raises(ConfigError, match="http:// or https://"):
        post_json("file:///etc/passwd", {}, timeout_s=1, retries=0)
    with pytest.raises(ConfigError, match="larger than"):
        post_json("http://127.0.0.1:9/", {"blob": "x" * notify.MAX_BODY_BYTES}, timeout_s=1, retries=0)


def test_a_secret_signs_the_exact_body_with_hmac_sha256(receiver: Receiver) -> None:
    secret = "0123456789abcdef-site-secret"
    assert post_json(receiver.url, {"event": "alert"}, timeout_s=2, retries=0, secret=secret).ok
    sent = receiver.headers[0][notify.SIGNATURE_HEADER]
    expected = "sha256=" + hmac.new(secret.encode(), receiver.bodies[0], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(sent, expected)
    assert sent != notify.signature("another secret of 16+ chars", receiver.bodies[0])  # the key matters
    assert post_json(receiver.url, {"event": "alert"}, timeout_s=2, retries=0).ok
    assert notify.SIGNATURE_HEADER not in receiver.headers[1]  # no secret: unsigned
