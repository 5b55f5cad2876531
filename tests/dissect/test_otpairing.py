"""Request/answer pairing of the OT stream dissectors: in order within one key, bounded, not shifted by a lost
segment (dissect/otpairing.py)."""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.base import Packet
from iotwarden.dissect.otpairing import GAVE_UP_S, STATE_KEY, PairedResyncOnGap, Pending, pending

SIZE = 12  # every request and answer here: one segment of 12 bytes


def segment(to_server: bool, seq: int | None = None, ack: int | None = None) -> Packet:
    """A segment of SIZE payload bytes at ``seq`` acknowledging ``ack`` (None: numbers unknown)."""
    return Packet(ts=1.0, payload=bytes(SIZE), ip_proto=6, to_server=to_server, tcp_seq=seq, tcp_ack=ack)


def ask(table: Pending, key: Any, what: Any, seq: int | None = None, ack: int | None = None) -> None:
    table.request(segment(True, seq, ack), key, what)


def answer(table: Pending, key: Any, seq: int | None = None, ack: int | None = None) -> Any:
    """What an answer of ``key`` in one segment is paired with, the segment then read (as the dissectors do)."""
    pkt = segment(False, seq, ack)
    paired = table.answer(pkt, key, SIZE)
    table.delivered(pkt)
    return paired


def test_answers_pair_in_order_within_a_key_and_by_key_across_keys() -> None:
    table = Pending(8)
    for key, what in [(0, "read 100"), (0, "write 10"), (7, "read 7"), (0, "read 300")]:
        ask(table, key, what)
    assert [answer(table, key) for key in (7, 0, 0, 0, 0)] == ["read 7", "read 100", "write 10", "read 300", None]
    assert not table


def test_an_answer_is_never_paired_with_a_request_the_server_had_not_received() -> None:
    # the client's first request (bytes 1000-1011) was lost; the second (1012-1023) was read. The first's answer
    # acknowledges 1012: the second had not reached the server, so that answer is not its
    table = Pending(8)
    ask(table, 0, "second", seq=1012, ack=5000)
    assert answer(table, 0, seq=5000, ack=1012) is None and 0 in table
    assert answer(table, 0, seq=5012, ack=1024) == "second"
    # sequence numbers wrap (RFC 9293 §3.4): 2**32 - 4 + 12 ends at 8
    ask(table, 0, "wrapped", seq=2**32 - 4, ack=5024)
    assert answer(table, 0, seq=5024, ack=2**32 - 4) is None
    assert answer(table, 0, seq=5036, ack=8) == "wrapped"
    # an answer or a request without numbers (a dissector fed directly) is paired as before
    ask(table, 0, "no numbers")
    assert answer(table, 0, seq=5048, ack=1) == "no numbers"


def test_a_hole_in_the_answers_direction_forgets_the_requests_whose_answers_it_may_have_held() -> None:
    d, state = PairedResyncOnGap(), dict[str, Any](buf_c2s=b"\x50", buf_s2c=b"\xd0")
    table = pending(state, 8)
    for key, what in [(None, "first"), (None, "second"), (4, "serial 4"), (5, "serial 5")]:
        ask(table, key, what)
    d.gap(state, True)  # the requests' direction: its partial frame goes, the requests stay
    assert "buf_c2s" not in state and len(table) == 4 and state[STATE_KEY] is table
    d.gap(state, False)  # two requests of one key: which answers the hole held is unknown, both are forgotten
    assert "buf_s2c" not in state
    assert answer(table, 5) == "serial 5"  # one alone of its key: its answer is its own
    assert None not in table and len(table) == 1
    ask(table, 4, "serial 4 again")  # its key sent again first: the hole held the first's answer
    ask(table, None, "third")
    assert answer(table, 4) == "serial 4 again" and answer(table, None) == "third"
    assert not table
    # roles as the requests went: requests sent by the flow's responder make the initiator's holes the answers'
    ask(table, None, "from the responder")
    table.requests_to_server = False
    d.gap(state, False)
    assert not table.hole
    d.gap(state, True)
    assert table.hole


def test_a_request_sent_once_its_client_had_the_hole_is_no_answer_of_the_hole() -> None:
    # a poller sending transaction id 1 each time, its answers one segment each: the answer to A (server bytes
    # 5000-5011) was lost, and the engine told the hole only once B, which acknowledges 5012, was read
    table = Pending(8)
    ask(table, 1, "A", seq=1000, ack=5000)
    ask(table, 1, "B", seq=1012, ack=5012)
    table.answers_lost()
    assert answer(table, 1, seq=5012, ack=1024) == "B" and not table
    # without that acknowledgment both may have had their answer in the hole: neither is paired
    ask(table, 1, "C", seq=1024, ack=5024)
    ask(table, 1, "D", seq=1036, ack=5024)
    table.answers_lost()
    assert answer(table, 1, seq=5036, ack=1048) is None and not table


def test_a_request_acknowledging_answers_never_read_marks_the_requests_before_it() -> None:
    # the capture lost the answers' direction's first segment (5000-5011, A's answer): the engine tells no hole, but
    # B acknowledges it. Before, every later answer of the key was paired with the request before its own
    table = Pending(8)
    ask(table, 1, "A", seq=1000, ack=5000)
    ask(table, 1, "B", seq=1012, ack=5012)
    assert answer(table, 1, seq=5012, ack=1024) == "B"
    ask(table, 1, "C", seq=1024, ack=5024)
    assert answer(table, 1, seq=5024, ack=1036) == "C" and not table
    # a capture that recorded D's answer after E (two queues merged): E marks D, whose answer still pairs with it
    ask(table, 1, "D", seq=1036, ack=5036)
    ask(table, 1, "E", seq=1048, ack=5048)
    assert answer(table, 1, seq=5036, ack=1048) == "D"
    assert answer(table, 1, seq=5048, ack=1060) == "E" and not table
    # and F's answer recorded after G, F's bytes lost: that answer is not G's (its ACK short of G's end)
    ask(table, 1, "G", seq=1072, ack=5072)
    assert answer(table, 1, seq=5060, ack=1072) is None
    assert answer(table, 1, seq=5072, ack=1084) == "G" and not table


def test_counted_answers_are_forgotten_at_a_hole_in_the_answers_direction() -> None:
    table = Pending(2)
    for what in range(3):
        ask(table, 1, what)
    table.answers_lost()  # the hole may have held the answer counted to be paired with none
    assert not table.forgotten and answer(table, 1) is None and not table
    ask(table, 1, "after")
    assert answer(table, 1) == "after"


def test_requests_dropped_for_room_are_paired_with_none_up_to_the_limit() -> None:
    table = Pending(4)
    for what in range(5):  # one key: the first, dropped for room, is counted
        ask(table, None, what)
    assert len(table) == 4 and table.forgotten == {None: 1}
    assert [answer(table, None) for _ in range(5)] == [None, 1, 2, 3, 4]
    assert not table.forgotten
    for key in range(5):  # keys of their own: the answer of the one dropped finds nothing, counts nothing
        ask(table, key, key)
    assert not table.forgotten and 0 not in table and 4 in table
    assert answer(table, 0) is None and answer(table, 1) == 1
    # past the limit of counted keys, no answer is paired any more: the table stays bounded
    table = Pending(4)
    for key in range(7):  # each key twice: the first of each dropped with its twin remembered, counted
        for _ in range(2):
            ask(table, key, key)
    assert table.unpaired and not table.forgotten and len(table) == 4
    assert answer(table, 6) is None


def test_the_flow_state_holds_one_table() -> None:
    state: dict[str, Any] = {}
    assert pending(state, 3) is pending(state, 3) is state[STATE_KEY]
    assert pending(state, 3).limit == 3


def test_a_request_its_client_gave_up_on_is_no_answer_s() -> None:
    # a poller that waits for each answer and sends one key: its first request went unanswered and it sent the
    # next past its response timeout. Before, every later answer was paired with the request before its own
    table = Pending(8)

    def ask_at(ts: float, what: str) -> None:
        table.request(Packet(ts=ts, payload=bytes(SIZE), ip_proto=6, to_server=True), 0, what)

    ask_at(10.0, "unanswered")
    ask_at(10.0 + GAVE_UP_S, "second")
    assert answer(table, 0) == "second" and not table
    ask_at(12.0, "third")
    assert answer(table, 0) == "third"
    # requests sent back to back (pipelined) are all awaited, whatever the answers' delay, and other keys stay
    ask_at(20.0, "7 first")
    table.request(Packet(ts=20.0, payload=bytes(SIZE), ip_proto=6, to_server=True), 7, "key 7")
    ask_at(20.0 + GAVE_UP_S / 2, "7 second")
    assert [answer(table, 0), answer(table, 0)] == ["7 first", "7 second"]
    ask_at(30.0, "given up")
    ask_at(30.1, "pipelined")
    ask_at(31.0, "retry")  # both before it given up on
    assert answer(table, 0) == "retry" and answer(table, 7) == "key 7" and not table


def test_after_holes_in_both_directions_an_answer_past_the_requests_read_is_no_marked_request_s() -> None:
    # a poller that waits for each answer, one key for all: B's answer lost (told), then C (its request) and C's
    # answer lost, D's request lost; D's answer acknowledges client bytes never read, so it answers a request the
    # capture lost, sent after B's answer came. Before, it was paired with B, the one marked alone of its key
    table = Pending(8)
    ask(table, 0, "A", seq=1000, ack=5000)
    assert answer(table, 0, seq=5000, ack=1012) == "A"
    ask(table, 0, "B", seq=1012, ack=5012)
    table.answers_lost()
    assert answer(table, 0, seq=5036, ack=1036) is None and not table
    ask(table, 0, "E", seq=1036, ack=5048)
    assert answer(table, 0, seq=5048, ack=1048) == "E"
    # keys of their own: the requests lost had other keys, so an answer of B's key is B's
    table = Pending(8)
    ask(table, 1, "A", seq=1000, ack=5000)
    assert answer(table, 1, seq=5000, ack=1012) == "A"
    ask(table, 2, "B", seq=1012, ack=5012)
    table.answers_lost()
    assert answer(table, 2, seq=5036, ack=1036) == "B"


def test_a_request_read_after_the_answer_that_acknowledged_it_awaits_nothing() -> None:
    # a SPAN port that recorded B's answer before B (one key, a poller that waits for each answer): the answer
    # acknowledges B's bytes, not read yet. Before, B then awaited an answer and took C's, and every later answer
    # the request before its own
    table = Pending(8)
    ask(table, 0, "A", seq=1000, ack=5000)
    assert answer(table, 0, seq=5000, ack=1012) == "A"
    assert answer(table, 0, seq=5012, ack=1024) is None  # B's
    ask(table, 0, "B", seq=1012, ack=5012)
    assert not table
    ask(table, 0, "C", seq=1024, ack=5024)
    assert answer(table, 0, seq=5024, ack=1036) == "C"
    # a lost request's answer acknowledges bytes never read: the requests read next are later ones, awaited
    assert answer(table, 0, seq=5036, ack=1048) is None
    ask(table, 0, "D", seq=1048, ack=5048)
    assert answer(table, 0, seq=5048, ack=1060) == "D" and not table


def test_requests_read_after_a_hole_in_their_direction_pair_once_sent_after_an_answer_that_followed_it() -> None:
    # a client sending one key, three requests at a time: the first of a batch (1012-1023) was lost, so the first
    # answer is the lost one's. Before, it took B and the second answer C: each answer the range of another request
    d, state = PairedResyncOnGap(), dict[str, Any]()
    table = pending(state, 8)
    ask(table, 0, "Z", seq=988, ack=4988)
    ask(table, 0, "A", seq=1000, ack=4988)
    assert [answer(table, 0, seq=4988, ack=1012), answer(table, 0, seq=5000, ack=1012)] == ["Z", "A"]
    d.gap(state, True)
    ask(table, 0, "B", seq=1024, ack=5012)
    ask(table, 0, "C", seq=1036, ack=5012)
    assert [answer(table, 0, seq=5012 + 12 * i, ack=1048) for i in range(3)] == [None, None, None] and not table
    # sent once its client had an answer after the hole: the hole's answers are all read, the next is its own
    ask(table, 0, "D", seq=1048, ack=5048)
    ask(table, 0, "E", seq=1060, ack=5048)
    assert [answer(table, 0, seq=5048 + 12 * i, ack=1072) for i in range(2)] == ["D", "E"] and not table.behind
    # keys of their own: a lost request's answer finds no request of its key, nothing is held back
    d, state = PairedResyncOnGap(), dict[str, Any]()
    table = pending(state, 8)
    ask(table, 1, "A", seq=1000, ack=5000)
    d.gap(state, True)
    ask(table, 3, "C", seq=1024, ack=5000)
    assert [answer(table, key, seq=5000 + 12 * i, ack=1036) for i, key in enumerate((1, 2, 3))] == ["A", None, "C"]


def test_a_client_reusing_a_few_keys_in_turn_is_one_that_reuses_keys() -> None:
    # a poller that waits for each answer and keeps one transaction id per polled block (0 and 1 in turn): D's answer
    # lost (told), E (key 0) and its answer lost, F's request (key 1) lost; F's answer acknowledges client bytes never
    # read. At 2569155 only a key equal to the one before it counted as reuse, so F's answer was paired with D
    table = Pending(8)
    for i, (key, what) in enumerate([(0, "A"), (1, "B"), (0, "C")]):
        ask(table, key, what, seq=1000 + 12 * i, ack=5000 + 12 * i)
        assert answer(table, key, seq=5000 + 12 * i, ack=1012 + 12 * i) == what
    ask(table, 1, "D", seq=1036, ack=5036)
    table.answers_lost()
    assert answer(table, 1, seq=5060, ack=1072) is None and not table
    ask(table, 0, "G", seq=1072, ack=5072)
    assert answer(table, 0, seq=5072, ack=1084) == "G"
    # keys counted up repeat none within RECENT_KEYS: the lost requests had keys of their own, D's answer is D's
    table = Pending(8)
    for i, what in enumerate(["A", "B", "C"]):
        ask(table, i, what, seq=1000 + 12 * i, ack=5000 + 12 * i)
        assert answer(table, i, seq=5000 + 12 * i, ack=1012 + 12 * i) == what
    ask(table, 3, "D", seq=1036, ack=5036)
    table.answers_lost()
    assert answer(table, 3, seq=5060, ack=1072) == "D"


def test_requests_sent_once_their_client_had_the_hole_s_bytes_pair_however_many_answers_a_segment_holds() -> None:
    # W's answer (5000-5011) lost; X and Y, sent together once the client had it (their ACK 5012), marked when the hole
    # is told late; their answers come in one 24-byte segment. At 2569155 the first answer was taken to begin at
    # 5036 - 12 = 5024, past X's and Y's ACK, so both stayed marked, shared a key and were forgotten: paired with none
    table = Pending(8)
    ask(table, 0, "W", seq=1000, ack=5000)
    ask(table, 0, "X", seq=1012, ack=5012)
    ask(table, 0, "Y", seq=1024, ack=5012)
    table.answers_lost()
    both = Packet(ts=1.0, payload=bytes(2 * SIZE), ip_proto=6, to_server=False, tcp_seq=5012, tcp_ack=1036)
    table.delivered(both)  # the dissectors tell the delivery before they read its answers
    assert [table.answer(both, 0, SIZE), table.answer(both, 0, SIZE)] == ["X", "Y"] and not table
    # W, sent before its client had the hole, stays forgotten: the hole held its answer
    table = Pending(8)
    ask(table, 0, "V", seq=988, ack=4988)
    ask(table, 0, "W", seq=1000, ack=4988)
    table.answers_lost()
    later = Packet(ts=1.0, payload=bytes(SIZE), ip_proto=6, to_server=False, tcp_seq=5000, tcp_ack=1012)
    table.delivered(later)
    assert table.answer(later, 0, SIZE) is None and not table
