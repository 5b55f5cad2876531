"""Telnet's login dialogue with the two directions recorded out of order (issue #4: a SPAN port merging two uplinks
records a segment after the other direction's answer to it): a line answers the prompt the client had acknowledged,
and a verdict is the server's text sent after it had the password, so no user name is read as a password and no
verdict is lost or made up. Built connections go through the default engine with real Acknowledgment Numbers and
segments captured late (tests/engine/losscheck.session ``acks``, ``late``)."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect.base import Packet
from iotwarden.dissect.telnet import MAX_HELD, TelnetDissector
from iotwarden.model import Observation
from tests.engine.losscheck import segment_count, session

PORT = 23
# line mode, the server echoing each line: a failed login, then one that succeeds, then a command
EXCHANGE = [(False, b"\xff\xfd\x18router login: "), (True, b"admin\r\n"), (False, b"admin\r\nPassword: "),
            (True, b"wrong\r\n"), (False, b"\r\nLogin incorrect\r\nrouter login: "), (True, b"admin\r\n"),
            (False, b"admin\r\nPassword: "), (True, b"1234\r\n"), (False, b"\r\nLast login: Mon Dec  7\r\nrouter:~$ "),
            (True, b"ls\r\n"), (False, b"ls\r\nfile\r\nrouter:~$ ")]
LOGINS = [("admin", "wrong", "failure"), ("admin", "1234", "success")]
USER_LATE, PASSWORD_LATE = 1, 7  # the client's first user name and last password, each captured after the answer


def _logins(observations: list[Observation]) -> list[tuple[Any, ...]]:
    return [(o.fields["username"], o.fields["password"], o.fields["result"]) for o in observations
            if o.kind == "login_attempt"]


def _within(got: list[tuple[Any, ...]]) -> bool:
    """Every login read is one of LOGINS with at most its user name or password not known, or its verdict."""
    return all(any(u in (None, wu) and p in (None, wp) and r in (wr, "unknown") for wu, wp, wr in LOGINS)
               for u, p, r in got)


def test_a_whole_dialogue_reads_both_logins() -> None:
    assert _logins(session(EXCHANGE, PORT, acks=True)) == LOGINS


def test_a_user_name_captured_after_the_password_prompt_is_no_password() -> None:
    # the echo and "Password:" that answered it were read first: the line answers the prompt it acknowledged
    assert _logins(session(EXCHANGE, PORT, acks=True, late=(USER_LATE,))) == LOGINS


def test_a_verdict_captured_before_the_password_s_line_end_is_its_verdict() -> None:
    assert _logins(session(EXCHANGE, PORT, acks=True, late=(PASSWORD_LATE,))) == LOGINS


def test_any_segment_late_or_lost_reads_no_login_fact_the_whole_dialogue_lacks() -> None:
    count = segment_count(EXCHANGE, None)
    for lost in [(), *((i,) for i in range(count))]:
        for late in range(count):
            got = _logins(session(EXCHANGE, PORT, lost, acks=True, late=(late,)))
            assert _within(got), (lost, late, got)


def test_a_prompt_captured_after_the_line_that_answers_it_names_the_line() -> None:
    # the login prompt, the first password prompt and the last one, each captured after the client's answer:
    # the line waits until the prompt it acknowledged is read (a failed login no longer lost whole)
    for late in (0, 2, 6):
        assert _logins(session(EXCHANGE, PORT, acks=True, late=(late,))) == LOGINS, late


@pytest.mark.parametrize("close", [True, False])
def test_a_verdict_captured_after_the_client_typed_on_is_the_verdict_it_had(close: bool) -> None:
    # "Login incorrect" and the next login prompt captured after the user name typed on, "Last login" and the shell
    # prompt after the command: the client's ACK covered them, so it had them when it typed on (before: 'unknown')
    for late in (4, 8):
        assert _logins(session(EXCHANGE, PORT, acks=True, late=(late,), close=close)) == LOGINS, late


def test_a_verdict_the_client_did_not_have_or_that_is_never_read_is_unknown() -> None:
    # the verdict segment lost: the attempt is 'unknown' once the hole is told (FIN or not), as before
    for close in (True, False):
        assert _logins(session(EXCHANGE, PORT, (4,), acks=True, close=close)) == [("admin", "wrong", "unknown")]
        assert _logins(session(EXCHANGE, PORT, (8,), acks=True, late=(9,), close=close)) == [
            ("admin", "wrong", "failure"), ("admin", "1234", "unknown")]
    # ACKs of 0 say nothing: the order of delivery decides, the client typed on before the verdict was read
    assert _logins(session(EXCHANGE, PORT, acks=False, late=(4,)))[0] == ("admin", "wrong", "unknown")
    assert _logins(session(EXCHANGE, PORT, acks=False, late=(8,)))[1] == ("admin", "1234", "unknown")


def test_a_capture_ending_before_the_text_the_client_had_makes_the_verdict_unknown() -> None:
    # the client typed its next user name having "Login incorrect", which the capture lost, and the capture ends
    # there with no FIN and no later server segment to tell the hole: the flow's end (ending) makes it 'unknown'
    # (before it the attempt was lost); read in one batch or one frame a batch
    for batch in (None, 1):
        assert _logins(session(EXCHANGE[:6], PORT, (4,), acks=True, close=False, batch=batch)) == [
            ("admin", "wrong", "unknown")], batch
    # the second password typed on past the lost "Last login" and shell prompt: the same
    assert _logins(session(EXCHANGE[:10], PORT, (8,), acks=True, close=False)) == [
        ("admin", "wrong", "failure"), ("admin", "1234", "unknown")]
    # a FIN already made it 'unknown': the flow's end adds nothing
    assert _logins(session(EXCHANGE[:6], PORT, (4,), acks=True, close=True)) == [("admin", "wrong", "unknown")]


def test_the_flow_s_end_tells_only_an_attempt_whose_verdict_awaited_what_the_client_had() -> None:
    d, state, out = _typed_on([], 19)
    assert _attempts(out) == []
    ended = d.ending(state)
    assert _attempts(ended) == [("root", "pw", "unknown")] and ended[0].ts == 1.0  # stamped at the typing on
    assert d.ending(state) == []
    # the verdict read: nothing waits
    d, state, out = _typed_on([b"\r\nLogin incorrect\r\n"], 19)
    assert _attempts(out) == [("root", "pw", "failure")] and d.ending(state) == []


def _typed_on(verdict: list[bytes], ahead: int) -> tuple[TelnetDissector, dict[str, Any], list[Observation]]:
    """A login (root / pw), then the client typing ``x`` acknowledging ``ahead`` bytes of server text after the
    password prompt, none of it read yet; then the server's ``verdict`` deliveries, read late."""
    d, state = TelnetDissector(), dict[str, Any]()
    out = _said(d, state, False, b"login: ", seq=5000, ack=1000)
    out += _said(d, state, True, b"root\r\n", seq=1000, ack=5007)
    out += _said(d, state, False, b"Password: ", seq=5007, ack=1006)
    out += _said(d, state, True, b"pw\r\n", seq=1006, ack=5017)
    out += _said(d, state, True, b"x", seq=1010, ack=5017 + ahead)
    server = 5017
    for text in verdict:
        out += _said(d, state, False, text, seq=server, ack=1011)
        server += len(text)
    return d, state, out


def _attempts(out: list[Observation]) -> list[tuple[Any, ...]]:
    return [(o.fields["username"], o.fields["password"], o.fields["result"]) for o in out
            if o.kind == "login_attempt"]


def test_no_verdict_is_taken_from_text_past_what_the_client_had() -> None:
    # the client had the server's first 2 bytes ("\r\n") when it typed on; "Login incorrect" came after: unknown,
    # whether it comes in its own delivery or in the one that holds those 2 bytes (what of it the client had unknown)
    for verdict in ([b"\r\n", b"Login incorrect\r\nlogin: "], [b"\r\nLogin incorrect\r\nlogin: "]):
        assert _attempts(_typed_on(verdict, 2)[2]) == [("root", "pw", "unknown")], verdict
    # the same text, the client's ACK covering the verdict: failure
    assert _attempts(_typed_on([b"\r\n", b"Login incorrect\r\n"], 19)[2]) == [("root", "pw", "failure")]


def test_a_close_before_the_text_the_client_had_says_nothing_of_the_verdict() -> None:
    # the client's FIN captured before the verdict it acknowledged (a SPAN port merging two uplinks): the verdict read
    # after it is the result; never read, the flow's end makes the attempt 'unknown' (tests/dissect/
    # test_telnet_unanswered.py reads the same through the engine, wherever batches are cut)
    d, state, out = _typed_on([], 19)
    assert _attempts(out) == [] and state["verdict_by"][0] == 5036  # waiting for what the client had
    fin = Packet(ts=2.0, payload=b"", src_ip="10.0.0.1", src_port=50000, dst_ip="10.0.0.2", dst_port=PORT,
                 ip_proto=6, to_server=True, tcp_seq=1011, tcp_ack=5036)
    assert d.closing(fin, state) == []
    assert _attempts(_said(d, state, False, b"\r\nLogin incorrect\r\n", seq=5017, ack=1011)) == [
        ("root", "pw", "failure")]
    assert d.ending(state) == []
    d, state, out = _typed_on([], 19)
    assert d.closing(fin, state) == [] and _attempts(d.ending(state)) == [("root", "pw", "unknown")]


def test_a_line_whose_prompt_is_never_read_or_not_proven_answers_none() -> None:
    # the password prompt lost: the line typed after it is no password (and no user name)
    assert _logins(session(EXCHANGE, PORT, (2,), acks=True)) == []
    assert _logins(session(EXCHANGE, PORT, (6,), acks=True)) == LOGINS[:1]
    # ACKs of 0 say nothing: the order of delivery decides, the late prompt's answer not taken
    assert _logins(session(EXCHANGE, PORT, acks=False, late=(2,))) == LOGINS[1:]
    assert _logins(session(EXCHANGE, PORT, acks=False, late=(6,))) == LOGINS[:1]


def _said(d: TelnetDissector, state: dict[str, Any], to_server: bool, data: bytes, *, seq: int,
          ack: int) -> list[Observation]:
    src, dst = (("10.0.0.1", 50000), ("10.0.0.2", PORT))[:: 1 if to_server else -1]
    pkt = Packet(ts=1.0, payload=data, src_ip=src[0], src_port=src[1], dst_ip=dst[0], dst_port=dst[1], ip_proto=6,
                 to_server=to_server, tcp_seq=seq, tcp_ack=ack)
    return d.feed(pkt, data, state)


@pytest.mark.parametrize("fillers", [MAX_HELD - 2, MAX_HELD - 1])
def test_lines_waiting_for_their_prompts_are_bounded(fillers: int) -> None:
    # the client types a user name, a password and more lines after the verdict, each acknowledging server text the
    # capture records after them; MAX_HELD lines wait at most, the oldest let go beyond (no user name)
    d, state = TelnetDissector(), dict[str, Any]()
    out = _said(d, state, False, b"Welcome\r\n", seq=5000, ack=1000)
    prompts = [b"login: ", b"Password: ", b"\r\nLogin incorrect\r\n"]
    client, server = 1000, 5009
    lines = [(b"root\r\n", server + 7), (b"pw\r\n", server + 17)] + [(b"x\r\n", server + 36)] * fillers
    for line, ack in lines:
        out += _said(d, state, True, line, seq=client, ack=ack)
        client += len(line)
        assert len(state.get("held", ())) <= MAX_HELD
    for prompt in prompts:
        out += _said(d, state, False, prompt, seq=server, ack=client)
        server += len(prompt)
    assert not state["held"]
    user = "root" if len(lines) <= MAX_HELD else None
    assert [(o.fields["username"], o.fields["password"], o.fields["result"]) for o in out
            if o.kind == "login_attempt"] == [(user, "pw", "failure")]


@pytest.mark.parametrize("isn", [(1000, 3_000_000_000), (3_000_000_000, 5000), (2**32 - 20, 2**32 - 60)])
def test_acks_of_0_tell_nothing_wherever_the_sequence_numbers_lie(isn: tuple[int, int]) -> None:
    # a capture built without Acknowledgment Numbers (0 with ACK set): the order of delivery decides, as with the
    # numbers in the lower half; before, 0 lay ahead of a server's numbers past 2^31 (every line waited for a prompt
    # never read: no login) or of a client's (its password's line end taken as acknowledged: success read 'failure')
    assert _logins(session(EXCHANGE, PORT, acks=False, isn=isn)) == LOGINS
    assert _logins(session(EXCHANGE, PORT, acks=True, isn=isn)) == LOGINS
