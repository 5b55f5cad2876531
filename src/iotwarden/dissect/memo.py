"""Bounded memo of pure dissection results: parse a repeated payload once, replay fresh copies.

Keys are bytes (the content the result depends on); values are stored frozen with :mod:`marshal`
and every replay thaws a new, unshared object tree, so callers may mutate what they get.
"""

from __future__ import annotations

import marshal
from typing import Any

# Defaults (STYLE 7), overridable per memo: entries and bytes (keys + frozen values) kept at most;
# past either, the least recently used entries are dropped first
MEMO_ENTRIES = 4096
MEMO_BYTES = 16 * 1024 * 1024
# a key or frozen value larger than this is never kept (one huge message must not flush the memo)
MEMO_MAX_ITEM = 16 * 1024


def freeze(value: Any) -> bytes | None:
    """``value`` (JSON-compatible: dict, list, tuple, str, int, float, bool, None, bytes) as bytes;
    None when it holds anything else."""
    try:
        return marshal.dumps(value)
    except ValueError:  # an object marshal cannot write: not memoisable
        return None


def thaw(frozen: bytes) -> Any:
    """A fresh copy of a frozen value. Only ever fed bytes that :func:`freeze` made in this
    process, never input from the wire or from disk (marshal is not safe on untrusted data)."""
    return marshal.loads(frozen)  # noqa: S302 - see above: our own bytes, same interpreter


class Memo:
    """Least-recently-used map from key bytes to frozen values, bounded by entries and bytes.

    A plain dict keeps insertion order: a hit moves its key to the end, eviction pops the front.
    ``hits``, ``misses`` and ``evictions`` count what happened, for tests and benchmarks.
    """

    __slots__ = ("_data", "evictions", "hits", "max_bytes", "max_entries", "misses", "size")

    def __init__(self, max_entries: int = MEMO_ENTRIES, max_bytes: int = MEMO_BYTES) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("memo limits must not be negative")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: dict[bytes, bytes] = {}
        self.size = 0  # bytes held: keys plus frozen values
        self.hits = self.misses = self.evictions = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.max_bytes > 0

    def get(self, key: bytes) -> bytes | None:
        """The frozen value under ``key`` (now the most recently used), or None (a miss)."""
        data = self._data
        frozen = data.pop(key, None)
        if frozen is None:
            self.misses += 1
            return None
        data[key] = frozen
        self.hits += 1
        return frozen

    def put(self, key: bytes, frozen: bytes) -> None:
        """Keep ``frozen`` under ``key``, dropping the least recently used entries to stay in bounds."""
        cost = len(key) + len(frozen)
        if not self.enabled or len(key) > MEMO_MAX_ITEM or len(frozen) > MEMO_MAX_ITEM:
            return
        data = self._data
        old = data.pop(key, None)
        if old is not None:
            self.size -= len(key) + len(old)
        data[key] = frozen
        self.size += cost
        while len(data) > self.max_entries or self.size > self.max_bytes:
            victim = next(iter(data))
            self.size -= len(victim) + len(data.pop(victim))
            self.evictions += 1

    def clear(self) -> None:
        self._data.clear()
        self.size = 0

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._data), "bytes": self.size, "hits": self.hits, "misses": self.misses,
                "evictions": self.evictions}


def memoised(memo: Memo, key: bytes | None, compute: Any, *args: Any) -> Any:
    """``compute(*args)``, served from ``memo`` under ``key`` when seen before (a fresh copy each time).

    ``key`` None skips the memo. Exceptions from ``compute`` propagate and nothing is kept, so a
    malformed input is parsed (and rejected) every time it comes.
    """
    if key is None or not memo.enabled:
        return compute(*args)
    frozen = memo.get(key)
    if frozen is not None:
        return thaw(frozen)
    value = compute(*args)
    frozen = freeze(value)
    if frozen is not None:
        memo.put(key, frozen)
    return value
