"""CredSSP's encrypted turns in an RDP connection past lost segments and segments a capture recorded late (issues
#3/#4, dissect/rdpturns.py): a hole in a turn costs no turn, a turn lost whole or captured late is counted from the
other side's acknowledgment, and no turn is read that the whole connection does not hold, so detect.bruteforce.rdp
counts the same attempts. The connections of tests/dissect/test_rdp_loss.py go through the default engine with real
Acknowledgment Numbers (tests/engine/losscheck.session ``acks``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.detect.rdp_bruteforce import RdpBruteForceDetector
from iotwarden.dissect.rdpturns import MAX_ALERT_RECORD, record_at
from iotwarden.lab import proto_tls
from iotwarden.model import Observation
from tests.detect.runner import feed, tcp_flow
from tests.dissect.gapfeed import segments
from tests.dissect.test_rdp_loss import NLA, PORT, RNG, SEGMENT, _keys
from tests.engine.losscheck import assert_loss_adds_nothing, segment_count, segments_of, session
from tests.sources.capbuild import ACK, FIN, RST

# the CredSSP turns of NLA: NEGOTIATE, CHALLENGE, AUTHENTICATE and the server's answer ([MS-CSSP] §3.1.5)
CREDSSP = range(7, 11)
# a probe of the server's names (nmap's rdp-ntlm-info): the CHALLENGE read, then the client's close_notify alert
PROBE = [*NLA[:9], (True, proto_tls.record(21, bytes(26)))]


def _turns(observations: list[Observation]) -> list[tuple[int, str | None]]:
    return [(o.fields["turns"], o.src_ip) for o in observations if o.kind == "encrypted_turns"]


def test_a_hole_in_a_credssp_turn_counts_the_same_turns() -> None:
    whole = _turns(session(NLA, PORT, segment=SEGMENT, acks=True))
    assert whole == [(2, "192.168.1.20"), (3, "192.168.1.10")]  # the server's CHALLENGE, the client's AUTHENTICATE
    for lost in (i for m in CREDSSP for i in segments_of(NLA, m, SEGMENT)):
        assert _turns(session(NLA, PORT, (lost,), segment=SEGMENT, acks=True)) == whole, lost


def test_a_turn_lost_whole_or_captured_late_is_counted_from_the_other_side_s_acknowledgment() -> None:
    whole = _turns(session(NLA, PORT, acks=True))
    for message in CREDSSP:  # one segment a message: the whole message lost
        assert _turns(session(NLA, PORT, (message,), acks=True)) == whole, message
    for late in range(2, segment_count(NLA, SEGMENT)):  # a segment captured after the next one
        assert _turns(session(NLA, PORT, segment=SEGMENT, acks=True, late=(late,))) == whole, late
    # the last turn lost whole and nothing after it: the connection's end tells of it (next test)
    assert _turns(session(NLA[:10], PORT, (9,), acks=True)) == whole


# how a connection ends, each (to the server?, TCP flags) as the capture holds it: both FINs, the client's FIN alone
# (its sequence number), the server's FIN or RST alone (its acknowledgment), the client's RST alone
CLOSINGS = {"both fins": ((True, FIN | ACK), (False, FIN | ACK)), "client fin": ((True, FIN | ACK),),
            "server fin": ((False, FIN | ACK),), "server rst": ((False, RST | ACK),),
            "client rst": ((True, RST | ACK),)}


def test_an_authenticate_lost_with_nothing_after_it_is_counted_from_how_the_connection_ends() -> None:
    whole = _turns(session(NLA, PORT, acks=True))
    for name, closing in CLOSINGS.items():
        assert _turns(session(NLA[:10], PORT, (9,), acks=True, closing=closing)) == whole, name
    # its first segment (the record's header) or any other lost, one segment a batch, or the ACKs saying nothing
    # (the client's own sequence number still does)
    for lost in segments_of(NLA, 9, SEGMENT):
        assert _turns(session(NLA[:10], PORT, (lost,), segment=SEGMENT, acks=True)) == whole, lost
        assert _turns(session(NLA[:10], PORT, (lost,), segment=SEGMENT, acks=True, batch=1)) == whole, lost
    assert _turns(session(NLA[:10], PORT, (9,), closing=CLOSINGS["client fin"])) == whole
    # detect.bruteforce.rdp (min_attempts 1) sees the attempt, as with the AUTHENTICATE read
    flow = tcp_flow("192.168.1.10", "192.168.1.20", PORT, 1.0, payload=(1500, 1500), app="rdp")
    made = session(NLA[:10], PORT, (9,), acks=True)
    assert len(feed([RdpBruteForceDetector({"min_attempts": 1})], made, [flow])) == 1


def test_a_close_that_tells_of_no_authenticate_counts_no_turn() -> None:
    challenged = _turns(session(NLA, PORT, acks=True))[:1]
    for name, closing in CLOSINGS.items():
        # a probe that read the CHALLENGE and sent its close_notify, lost: an alert's bytes are no AUTHENTICATE
        assert _turns(session(PROBE, PORT, (9,), acks=True, closing=closing)) == challenged, name
        # the client sent nothing after the CHALLENGE
        assert _turns(session(NLA[:9], PORT, acks=True, closing=closing)) == challenged, name
    # the AUTHENTICATE lost and nothing tells of it: no close captured, the server's close with ACKs of 0 or a RST
    # without ACK, the client's FIN lost
    assert _turns(session(NLA[:10], PORT, (9,), acks=True, close=False)) == challenged
    assert _turns(session(NLA[:10], PORT, (9,), closing=CLOSINGS["server fin"])) == challenged
    assert _turns(session(NLA[:10], PORT, (9,), acks=True, closing=((False, RST),))) == challenged
    # a probe read whole: no attempt
    flow = tcp_flow("192.168.1.10", "192.168.1.20", PORT, 1.0, payload=(1500, 1500), app="rdp")
    for lost in ((), (9,)):
        made = session(PROBE, PORT, lost, acks=True)
        assert not feed([RdpBruteForceDetector({"min_attempts": 1})], made, [flow]), lost


def test_the_close_s_numbers_count_client_bytes_alone_whoever_closes_first() -> None:
    # the client's last record lost whole, one byte more than an alert record can be, or just an alert's size: the
    # server's ACK counts its bytes alone when the server closes first (before: one taken off for a client FIN it
    # never acknowledged, so this AUTHENTICATE went uncounted), and less the client FIN's own number once it
    # acknowledges one the capture showed
    whole = _turns(session(NLA, PORT, acks=True))
    challenged = whole[:1]
    for size, turns in ((MAX_ALERT_RECORD + 1, whole), (MAX_ALERT_RECORD, challenged)):
        last = proto_tls.record(23, bytes(size - 5))
        assert len(last) == size
        messages = [*NLA[:9], (True, last)]
        closings = {**CLOSINGS, "server first": ((False, FIN | ACK), (True, FIN | ACK)),
                    "server fin, client rst": ((False, FIN | ACK), (True, RST | ACK))}
        for name, closing in closings.items():
            assert _turns(session(messages, PORT, (9,), acks=True, closing=closing)) == turns, (size, name)


def test_rdp_password_guesses_are_counted_the_same_with_a_hole_in_a_credssp_turn() -> None:
    # detect.bruteforce.rdp from one connection (min_attempts 1): the turns decide, not the size (a probe
    # of more than min_client_bytes reads the CHALLENGE and stops)
    def alerts(messages: list[tuple[bool, bytes]], lost: tuple[int, ...]) -> int:
        sent = segments(messages, SEGMENT)
        client = sum(len(data or b"") for i, (to_server, data) in enumerate(sent) if to_server and i not in lost)
        server = sum(len(data or b"") for i, (to_server, data) in enumerate(sent) if not to_server and i not in lost)
        flow = tcp_flow("192.168.1.10", "192.168.1.20", PORT, 1.0, payload=(client, server), app="rdp")
        made = session(messages, PORT, lost, segment=SEGMENT, acks=True)
        return len(feed([RdpBruteForceDetector({"min_attempts": 1})], made, [flow]))

    for messages, attempt in ((NLA, 1), (PROBE, 0)):
        assert alerts(messages, ()) == attempt
        for lost in (i for m in range(7, len(messages)) for i in segments_of(messages, m, SEGMENT)):
            assert alerts(messages, (lost,)) == attempt, (len(messages), lost)


def test_with_holes_and_late_segments_no_turn_is_read_that_the_whole_connection_lacks() -> None:
    for messages in (NLA, PROBE):
        assert_loss_adds_nothing(_keys, messages, PORT, segment=SEGMENT, acks=True)
        for late in (15, 17, 21):
            assert_loss_adds_nothing(_keys, messages, PORT, segment=SEGMENT, acks=True, late=(late,))


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=segment_count(NLA, SEGMENT) - 1), max_size=3),
       st.sets(st.integers(min_value=0, max_value=segment_count(NLA, SEGMENT) - 1), max_size=3),
       st.booleans(), st.booleans())
def test_fuzz_segments_lost_and_late_no_turn_is_read_that_the_whole_connection_lacks(
        lost: set[int], late: set[int], acks: bool, probe: bool) -> None:
    assert_loss_adds_nothing(_keys, PROBE if probe else NLA, PORT, [tuple(lost)], segment=SEGMENT, acks=acks,
                             late=tuple(late))


def test_record_at_takes_a_segment_that_begins_with_a_record_header() -> None:
    data = proto_tls.application_data(RNG, 120) + proto_tls.application_data(RNG, 40)
    assert record_at(data) and record_at(data[:7]) and record_at(proto_tls.record(21, bytes(26)))
    assert not record_at(data[1:]) and not record_at(data[:4])
    assert not record_at(b"\x17\x03\x05" + data[3:])  # no such version
    assert not record_at(b"\x18" + data[1:])  # heartbeat: no CredSSP turn
    assert not record_at(data[:125] + b"\x42" + data[126:])  # the next header in the delivery is none
