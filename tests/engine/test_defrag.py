"""The IP reassembly table (engine/defrag.py) on its own: pieces in any order and with copies give the payload once,
hostile pieces never raise and stay within the table's bounds, and each reason a datagram is given up; pieces
waiting for their first are claimed, handed back or dropped with it. The engine's use of it is
tests/engine/test_fragments.py's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.engine.defrag import MAX_PACKET, Reassembler


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
    assert len(r) == 0 and r.held == 0 and not r.dropped


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
