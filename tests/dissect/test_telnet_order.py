"""Telnet's login dialogue with the two directions recorded out of order (issue #4: a SPAN port merging two uplinks
records a segment after the other direction's answer to it): a line answers the prompt the client had acknowledged,
and a verdict is the server's text sent after it had the password, so no user name is read as a password and no
verdict is lost or made up. Built connections go through the default engine with real Acknowledgment Numbers and
segments captured late (tests/engine/losscheck.session ``acks``, ``late``)."""

from __future__ import annotations

from typing import Any

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
