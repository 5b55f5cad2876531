"""NATS connection checks: a bad URL or site is one clear line before any connection; a server that is
not there is one line; the records stream is created with its retention limits."""

from __future__ import annotations

import pytest

from iotwarden.bus.jetstream import (
    STREAM,
    STREAM_MAX_AGE_S,
    STREAM_MAX_BYTES,
    BusError,
    NatsLink,
    check_site,
    check_url,
    records_subject,
    redact,
)
from tests.natsutil import nats_link

__all__ = ["nats_link"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:4222", "nats://", "nats://host:99999", "127.0.0.1:4222"])
def test_a_bad_url_is_refused_with_one_line(url: str) -> None:
    with pytest.raises(BusError, match="invalid NATS URL"):
        check_url(url)


def test_site_names_are_one_subject_token() -> None:
    assert records_subject(check_site("hq-1")) == "iotwarden.hq-1.records"
    assert records_subject(None) == "iotwarden.*.records"
    for bad in ("", "a.b", "a b", "x" * 65, "*", ">"):
        with pytest.raises(BusError, match="invalid site name"):
            check_site(bad)


def test_credentials_are_hidden_in_messages() -> None:
    assert redact("nats://user:secret@10.0.0.1:4222") == "nats://10.0.0.1:4222"
    assert redact("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"


def test_a_server_that_is_not_there_is_one_line() -> None:
    with pytest.raises(BusError, match=r"cannot reach NATS at nats://127\.0\.0\.1:1: .*") as caught:
        NatsLink("nats://127.0.0.1:1", name="test").connect()
    assert "\n" not in str(caught.value)


@pytest.mark.nats
def test_the_records_stream_has_its_retention_limits(nats_link: NatsLink) -> None:
    info = nats_link.ensure_stream()
    assert info.config.name == STREAM and info.config.subjects == [records_subject(None)]
    assert info.config.max_bytes == STREAM_MAX_BYTES and info.config.max_age == STREAM_MAX_AGE_S
    assert nats_link.ensure_stream().config.name == STREAM  # a second call finds it
