"""The chain walk that finds record starts: false candidates skipped, missed records stepped over."""

from __future__ import annotations

import numpy as np

from iotwarden.sources.chunks import gather_u32, walk_chain, word_view

# records at 0, 10, 25, 31, 50 (end 60); ``nxt`` maps each true start to the next
TRUE = {0: 10, 10: 25, 25: 31, 31: 50, 50: 60}


def _step(stepped: list[int], end: int):  # type: ignore[no-untyped-def]
    def step(pos: int) -> int | None:  # like the readers' step: None when the record is cut
        stepped.append(pos)
        nxt = TRUE.get(pos)
        return nxt if nxt is not None and nxt <= end else None

    return step


def _walk(cand: list[int], nxt: list[int], end: int = 60) -> tuple[list[int], int, list[int]]:
    stepped: list[int] = []
    cands, nexts = np.array(cand, dtype=np.int64), np.array(nxt, dtype=np.int64)
    starts, stop = walk_chain(0, end, cands, nexts, _step(stepped, end))
    return starts.tolist(), stop, stepped


def test_all_candidates_true_needs_no_python_step() -> None:
    assert _walk(list(TRUE), list(TRUE.values())) == ([0, 10, 25, 31, 50], 60, [])


def test_false_candidates_are_never_reached() -> None:
    cand = [0, 5, 10, 12, 25, 31, 40, 50]
    nxt = [10, 33, 25, 31, 31, 50, 60, 60]
    assert _walk(cand, nxt)[:2] == ([0, 10, 25, 31, 50], 60)


def test_missed_true_records_are_stepped() -> None:
    starts, stop, stepped = _walk([0, 31, 50], [10, 50, 60])
    assert (starts, stop) == ([0, 10, 25, 31, 50], 60)
    assert stepped == [10, 25]


def test_incomplete_last_record_stops_the_walk() -> None:
    starts, stop, _ = _walk([0, 10, 25, 31, 50], [10, 25, 31, 50, 60], end=55)
    assert (starts, stop) == ([0, 10, 25, 31], 50)


def test_word_view_reads_unaligned_words() -> None:
    data = np.frombuffer(bytes(range(16)), dtype=np.uint8)
    assert int(word_view(data, ">u4")[3]) == 0x03040506
    assert gather_u32(data, np.array([1, 9]), 2, big_endian=True).tolist() == [
        [0x01020304, 0x05060708], [0x090A0B0C, 0x0C0D0E0F]]  # past the end: last word
    assert word_view(np.zeros(2, dtype=np.uint8), "<u4").shape == (0,)
