"""One input through the engine: packet batches then the flush that closes every flow; a damaged
capture keeps what came before the damage and says why."""

from __future__ import annotations

from pathlib import Path

from iotwarden.services.feed import Feed
from tests.services.test_worker import DEMO


def test_a_capture_gives_engine_batches_then_the_flush() -> None:
    feed = Feed(DEMO, "capture")
    batches = list(feed.batches())
    assert len(batches) >= 2 and batches[-1].ts is None and batches[-1].packets == 0
    assert sum(b.packets for b in batches) == feed.stats.packets > 0
    assert sum(len(b.flows) for b in batches) > 0 and feed.error is None
    assert all(f.end_reason == "end" for f in batches[-1].flows)


def test_a_truncated_capture_keeps_what_came_before(tmp_path: Path) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(DEMO.read_bytes()[: DEMO.stat().st_size // 2 + 7])
    feed = Feed(cut, "capture")
    batches = list(feed.batches())
    assert sum(b.packets for b in batches) > 0 and batches[-1].ts is None
    assert feed.stats.truncated or feed.error is not None


def test_not_a_capture_is_an_error_with_nothing_read(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"hello, not a capture" * 10)
    feed = Feed(junk, "capture")
    assert list(feed.batches()) == [] and feed.error is not None
