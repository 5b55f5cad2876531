"""The dissection memo: bounded LRU by entries and bytes, fresh copies on every replay, errors never kept."""

from __future__ import annotations

import pytest

from iotwarden.dissect.memo import MEMO_MAX_ITEM, Memo, freeze, memoised, thaw
from iotwarden.errors import ParseError


def test_a_miss_then_hits_serve_the_kept_value() -> None:
    memo = Memo(max_entries=4, max_bytes=1 << 20)
    assert memo.get(b"k") is None
    memo.put(b"k", freeze({"a": 1}) or b"")
    assert thaw(memo.get(b"k") or b"") == {"a": 1}
    assert memo.stats() == {"entries": 1, "bytes": 1 + len(freeze({"a": 1}) or b""), "hits": 1, "misses": 1,
                            "evictions": 0}


def test_the_entry_limit_drops_the_least_recently_used() -> None:
    memo = Memo(max_entries=3, max_bytes=1 << 20)
    for key in (b"a", b"b", b"c"):
        memo.put(key, b"v")
    assert memo.get(b"a") == b"v"  # "a" is now the most recent: "b" is the oldest
    memo.put(b"d", b"v")
    assert len(memo) == 3
    assert memo.evictions == 1
    assert memo.get(b"b") is None
    assert [memo.get(k) for k in (b"a", b"c", b"d")] == [b"v", b"v", b"v"]


def test_the_byte_limit_counts_keys_and_values() -> None:
    memo = Memo(max_entries=100, max_bytes=30)
    memo.put(b"k1", b"x" * 8)  # 10 bytes
    memo.put(b"k2", b"x" * 8)  # 20
    memo.put(b"k3", b"x" * 8)  # 30: still within
    assert (len(memo), memo.size, memo.evictions) == (3, 30, 0)
    memo.put(b"k4", b"x" * 8)  # 40: the oldest goes
    assert (len(memo), memo.size, memo.evictions) == (3, 30, 1)
    assert memo.get(b"k1") is None


def test_replacing_a_key_keeps_the_size_exact() -> None:
    memo = Memo(max_entries=10, max_bytes=1000)
    memo.put(b"k", b"12345")
    memo.put(b"k", b"12")
    assert (len(memo), memo.size) == (1, 3)


def test_items_over_the_item_limit_are_never_kept() -> None:
    memo = Memo(max_entries=10, max_bytes=1 << 30)
    memo.put(b"k" * (MEMO_MAX_ITEM + 1), b"v")
    memo.put(b"k", b"v" * (MEMO_MAX_ITEM + 1))
    assert len(memo) == 0


def test_zero_limits_turn_the_memo_off() -> None:
    memo = Memo(max_entries=0)
    assert not memo.enabled
    memo.put(b"k", b"v")
    assert len(memo) == 0
    with pytest.raises(ValueError, match="negative"):
        Memo(max_entries=-1)


def test_every_replay_is_a_fresh_unshared_copy() -> None:
    memo = Memo()
    value = {"answers": [{"name": "a.local", "data": ["x=1"]}], "ttl": 1.5, "raw": b"\x00", "pair": (1, None)}
    first = memoised(memo, b"key", lambda: value)
    assert first is value  # a miss hands back what was computed
    second = memoised(memo, b"key", lambda: pytest.fail("a hit must not compute"))
    third = memoised(memo, b"key", lambda: pytest.fail("a hit must not compute"))
    assert second == third == value
    second["answers"][0]["data"].append("mutated")
    second["new"] = True
    assert third["answers"][0]["data"] == ["x=1"]
    assert thaw(memo.get(b"key") or b"") == value


def test_errors_are_not_kept_so_a_repeat_is_rejected_again() -> None:
    memo = Memo()
    calls: list[int] = []

    def bad() -> dict[str, int]:
        calls.append(1)
        raise ParseError("malformed")

    for _ in range(2):
        with pytest.raises(ParseError):
            memoised(memo, b"key", bad)
    assert len(calls) == 2
    assert len(memo) == 0


def test_a_none_key_or_an_unfreezable_value_skips_the_memo() -> None:
    memo = Memo()
    assert memoised(memo, None, lambda: {"a": 1}) == {"a": 1}
    assert freeze({"obj": object()}) is None
    memoised(memo, b"k", lambda: {"obj": object()})
    assert len(memo) == 0
    assert memo.misses == 1
