"""The IP reassembly table (engine/defrag.py) on its own: pieces in any order and with copies give the payload once,
hostile pieces never raise and stay within the table's bounds, and each reason a datagram is given up; pieces
waiting for their first are claimed, handed back or dropped with it. The engine's use of it is
tests/engine/test_fragments.py's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.engine.defrag import COPY_WINDOW_S, MAX_PACKET, MAX_PIECES, Reassembler


def _cut(payload: bytes, sizes: list[int]) -> list[tuple[int, bool, bytes]]:
    """``payload`` in pieces of the given sizes (multiples of 8 but the last): (offset, more, data)."""
    out, at = [], 0
    for size in sizes:
        if at + size >= len(payload):
            break
        out.append((at, True, payload[at : at + size]))
        at += size
    out.append((at, False, payload[at:]))
    return out


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(min_size=1, max_size=3000), units=st.lists(st.integers(1, 64), min_size=1, max_size=40),
       data=st.data())
def test_fuzz_any_order_and_duplicates_give_the_payload_once(payload: bytes, units: list[int],
                                                             data: st.DataObject) -> None:
    pieces = _cut(payload, [u * 8 for u in units])
    order = data.draw(st.permutations(pieces))
    extra = data.draw(st.lists(st.sampled_from(pieces), max_size=5))  # copies, anywhere
    sent = list(order)
    for piece in extra:
        sent.insert(data.draw(st.integers(0, len(sent))), piece)
    r = Reassembler()
    done = [got for offset, more, chunk in sent
            if (got := r.add(1.0, "k", offset, more, chunk, head="h" if offset == 0 else None)) is not None]
    assert done == [(payload, "h")]
    # copies after it completed may wait for the next datagram under its key (they could be its own pieces): never
    # read, and given up uncounted
    assert all(dg.copies is not None and len(dg.copies) == len(dg.pieces) for dg in r._datagrams.values())
    r.flush()
    assert len(r) == 0 and r.held == 0 and not r.dropped and r.heads_lost == 0


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 70000), st.booleans(), st.binary(max_size=300),
                                st.floats(0, 100)), max_size=60))
def test_fuzz_hostile_pieces_never_raise_and_stay_bounded(steps: list[tuple[int, int, bool, bytes, float]]) -> None:
    r = Reassembler(max_datagrams=2, max_bytes=1024)
    ts = 0.0
    for key, offset, more, chunk, dt in steps:
        ts += dt
        got = r.add(ts, key, offset, more, chunk, head=key)
        if got is not None:
            assert got[1] == key and len(got[0]) <= MAX_PACKET
        assert len(r) <= 2 and r.held <= 1024 + 300  # the newest may pass the bound until the oldest goes
        assert r.held == sum(len(p) for dg in r._datagrams.values() for p in dg.pieces.values())
    r.flush()
    assert len(r) == 0 and r.held == 0


def test_a_piece_past_the_end_or_a_second_end_drops_the_datagram() -> None:
    r = Reassembler()
    assert r.add(0.0, "a", 0, True, b"x" * 8, head=1) is None
    assert r.add(0.0, "a", 16, False, b"y" * 8) is None
    assert r.add(0.0, "a", 16, True, b"y" * 16) is None  # past the end the last piece set
    assert r.dropped == {"bad_end": 1} and r.heads_lost == 1 and len(r) == 0


def test_a_non_final_piece_not_a_multiple_of_8_bytes_drops_the_datagram() -> None:
    r = Reassembler()
    assert r.add(0.0, "a", 0, True, b"x" * 10, head=1) is None  # RFC 8200 §4.5
    assert r.dropped == {"bad_length": 1}


def test_a_payload_past_what_an_ip_length_can_say_is_dropped() -> None:
    r = Reassembler()
    assert r.add(0.0, "a", 0, True, b"x" * 8, head=1, limit=65515) is None
    assert r.add(0.0, "a", 65512, False, b"y" * 8) is None  # 65520 bytes: the ping of death's arithmetic
    assert r.add(0.0, "a", 8, True, b"z" * 65504) is None
    assert r.dropped == {"too_big": 1}


def test_the_byte_limit_drops_the_oldest_datagram() -> None:
    r = Reassembler(max_bytes=100)
    r.add(0.0, "old", 0, True, b"x" * 64, head=1)
    r.add(1.0, "new", 0, True, b"y" * 64, head=2)
    assert r.dropped == {"table_full": 1} and len(r) == 1 and r.held == 64
    assert r.add(2.0, "new", 64, False, b"z") == (b"y" * 64 + b"z", 2)


def test_pieces_waiting_for_their_first_are_claimed_released_or_dropped_with_it() -> None:
    # what waits counts its extra bytes against max_bytes until the first piece decides, then nothing
    r = Reassembler()
    assert r.add(0.0, "t", 8, False, b"y" * 8, wait="w1", wait_bytes=50) is None
    assert r.add(0.0, "t", 8, False, b"y" * 8, wait="w2", wait_bytes=50) is None  # a copy waits too
    assert r.held == 8 + 100 and r.released == []
    assert r.add(1.0, "t", 0, True, b"x" * 8, head="tunnel", claim=True) == (b"x" * 8 + b"y" * 8, "tunnel")
    assert r.released == [] and r.held == 0  # claimed: forgotten
    assert r.add(2.0, "p", 8, False, b"y" * 8, wait="w3", wait_bytes=50) is None
    assert r.add(2.0, "p", 0, True, b"x" * 8, head="plain") == (b"x" * 8 + b"y" * 8, "plain")
    assert r.released == ["w3"] and r.held == 0  # not claimed: handed back, counted as any fragment
    r.released.clear()
    assert r.add(3.0, "p", 8, False, b"y" * 8, wait="late") is None  # its datagram is done: handed back at once
    assert r.released == ["late"] and r.late == 1
    r.released.clear()
    r.add(4.0, "lost", 8, False, b"y" * 8, wait="w4", wait_bytes=50)
    r.flush()  # its first never came: given up, what waited handed back
    assert r.released == ["w4"] and r.dropped == {"unfinished": 1} and r.heads_lost == 0 and r.held == 0


# -- a datagram completed, then another under the same key (RFC 4963 §2: the identification wraps on a fast link;
#    stacks that send every fragmented datagram with ID 0 reuse it at once) --------------------------------------

def _send(r: Reassembler, ts: float, payload: bytes, *, reverse: bool = False) -> list[tuple[bytes, object]]:
    """``payload`` cut in 8-byte pieces and given to ``r`` under one key; what they complete (head: its first byte)."""
    pieces = _cut(payload, [8] * 8)
    got = [r.add(ts, "k", offset, more, chunk, head=chunk[:1] if offset == 0 else None)
           for offset, more, chunk in (pieces[::-1] if reverse else pieces)]
    return [g for g in got if g is not None]


@pytest.mark.parametrize("reverse", [False, True])
def test_a_second_datagram_reusing_the_identification_is_read(reverse: bool) -> None:
    one, two = b"A" * 16 + b"tail", b"B" * 16 + b"tail"  # its last piece the first one's, byte for byte
    r = Reassembler()
    assert _send(r, 0.0, one, reverse=reverse) == [(one, b"A")]
    assert _send(r, 1.0, two, reverse=reverse) == [(two, b"B")]  # was: ignored as late copies, lost
    assert r.late == 1  # "tail": held as what may be the second's own piece, which it was
    assert len(r) == 0 and r.held == 0 and not r.dropped


def test_a_piece_past_the_completed_datagrams_end_begins_another() -> None:
    r = Reassembler()
    assert _send(r, 0.0, b"A" * 8 + b"end") == [(b"A" * 8 + b"end", b"A")]
    longer = b"A" * 8 + b"B" * 8 + b"end"  # its first piece the first one's, then more
    assert _send(r, 1.0, longer) == [(longer, b"A")]
    assert not r.dropped


def test_copies_of_a_completed_datagrams_pieces_are_read_once_and_never_counted() -> None:
    r = Reassembler()
    payload = b"A" * 16 + b"tail"
    assert _send(r, 0.0, payload) == [(payload, b"A")]
    # a mirror's copy of every piece (its egress copies, microseconds after the ingress ones): nothing new
    assert _send(r, 0.00002, payload, reverse=True) == []
    assert r.late == 3 and len(r) == 0 and r.held == 0
    assert r.add(0.6, "k", 8, True, b"A" * 8) is None  # a copy of one piece waits for what may follow it
    assert len(r) == 1 and r.head("k") == b"A"  # the completed one's first piece still tells what it was
    r.expire(40.0)  # nothing followed: given up unseen, uncounted
    assert len(r) == 0 and r.held == 0 and not r.dropped and r.heads_lost == 0


@pytest.mark.parametrize("reverse", [False, True])
def test_the_same_datagram_sent_again_past_the_copy_window_is_read_again(reverse: bool) -> None:
    # a stack sending every fragmented datagram with ID 0 retransmits it byte for byte (a SIP request after T1, 500 ms):
    # the host reads both (Linux freed the first's queue), and so does tshark; a mirror's copies come within the window
    r = Reassembler()
    payload = b"A" * 16 + b"tail"
    assert _send(r, 0.0, payload) == [(payload, b"A")]
    assert _send(r, COPY_WINDOW_S / 2, payload, reverse=reverse) == []  # the mirror's copies
    assert _send(r, 0.5, payload, reverse=reverse) == [(payload, b"A")]  # was: taken for copies, never read
    assert _send(r, 0.5 + COPY_WINDOW_S / 2, payload) == []  # the mirror's copies of the second: read once
    assert _send(r, 0.5 + 2 * COPY_WINDOW_S, payload) == [(payload, b"A")]  # a third sending, past the second's window
    assert len(r) == 0 and r.held == 0 and not r.dropped


def test_a_mirror_copy_of_the_last_piece_then_the_datagram_sent_again_is_read() -> None:
    # a mirror copying each piece as it passes leaves only the last piece's copy after the datagram completed: it
    # waits as copies; the datagram sent again a second later joins it and is read, its own copies then read once
    r = Reassembler()
    payload = b"A" * 16 + b"tail"
    pieces = _cut(payload, [8] * 8)
    got = []
    for offset, more, chunk in pieces:  # each piece, then its mirrored copy 10 us later
        for ts in (0.0, 0.00001):
            got.append(r.add(ts, "k", offset, more, chunk, head=chunk[:1] if offset == 0 else None))
    assert [g for g in got if g is not None] == [(payload, b"A")] and len(r) == 1
    got = []
    for offset, more, chunk in pieces:
        for ts in (1.0, 1.00001):
            got.append(r.add(ts, "k", offset, more, chunk, head=chunk[:1] if offset == 0 else None))
    assert [g for g in got if g is not None] == [(payload, b"A")]
    r.flush()
    assert not r.dropped and r.heads_lost == 0


def test_pieces_of_the_next_datagram_must_still_agree() -> None:
    # RFC 5722: a piece saying other bytes for a range another piece of the same datagram holds drops it, also
    # when the datagram reuses a completed one's identification; nothing of the two is spliced
    r = Reassembler()
    assert _send(r, 0.0, b"A" * 16 + b"tail") == [(b"A" * 16 + b"tail", b"A")]
    assert r.add(1.0, "k", 0, True, b"B" * 8, head=b"B") is None
    assert r.add(1.0, "k", 0, True, b"C" * 8, head=b"C") is None
    assert r.dropped == {"overlap_conflict": 1} and r.heads_lost == 1 and len(r) == 0
    # a copy of the completed one's piece, then the next one's own piece for the same range: as any overlap
    assert r.add(2.0, "k", 8, True, b"A" * 8) is None
    assert r.add(2.0, "k", 8, True, b"D" * 8) is None
    assert r.dropped == {"overlap_conflict": 2} and len(r) == 0 and r.held == 0


def test_what_is_kept_of_completed_datagrams_is_bounded() -> None:
    # a digest per piece (at most MAX_PIECES) and per shorter copy it ignored (MAX_PIECES more), for max_datagrams
    # datagrams
    r = Reassembler(max_datagrams=2)
    for key in range(3):
        r.add(0.0, key, 0, True, b"x" * 16, head=key)
        for _ in range(3 * MAX_PIECES):  # an 8-byte copy of the first piece's start, again and again
            assert r.add(0.0, key, 0, True, b"x" * 8) is None
        assert r.add(0.0, key, 16, False, b"end") == (b"x" * 16 + b"end", key)
    assert list(r._done) == [1, 2]
    assert [len(done.digests) for done in r._done.values()] == [2 + MAX_PIECES] * 2
    assert r.add(1.0, 2, 0, True, b"x" * 8) is None and r.late == 1  # the shorter copy is a copy after it too
