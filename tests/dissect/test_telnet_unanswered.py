"""A Telnet password whose verdict the capture will never give (the server's answer lost in a hole, the capture ending
after the password, a client that leaves after one try) was sent in cleartext all the same: a login whose result is
'unknown', stamped at the password's line, as FTP's unanswered PASS (dissect/ftp.py ``ending``). Built connections go
through the default engine (tests/engine/losscheck.session)."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect.base import Packet
from iotwarden.dissect.telnet import TelnetDissector
from iotwarden.model import Observation
from tests.dissect.test_telnet_order import EXCHANGE, LOGINS, PORT, _logins, _said
from tests.engine.losscheck import session

PASSWORD = 3  # EXCHANGE's first password line ("wrong"), the fourth segment
VERDICT = 4  # the server's "Login incorrect" after it


@pytest.mark.parametrize("acks", [True, False])
@pytest.mark.parametrize("close", [True, False])
@pytest.mark.parametrize("batch", [None, 1])
def test_a_capture_ending_after_the_password_reads_the_login_unknown(acks: bool, close: bool,
                                                                    batch: int | None) -> None:
    got = [o for o in session(EXCHANGE[: PASSWORD + 1], PORT, acks=acks, close=close, batch=batch)
           if o.kind == "login_attempt"]
    assert _logins(got) == [("admin", "wrong", "unknown")]
    assert got[0].ts == 1.0 + 6 / 1000  # the password's frame (after the handshake and three segments)
    assert got[0].src_ip == "192.168.1.10" and got[0].subject == "dst"  # the client, about the server


@pytest.mark.parametrize("acks", [True, False])
@pytest.mark.parametrize("close", [True, False])
def test_a_verdict_lost_before_the_client_left_reads_the_login_unknown(acks: bool, close: bool) -> None:
    # a guesser trying one pair and leaving: its verdict segment lost, nothing typed after it
    assert _logins(session(EXCHANGE[: VERDICT + 1], PORT, (VERDICT,), acks=acks, close=close)) == [
        ("admin", "wrong", "unknown")]


def test_a_verdict_read_leaves_nothing_unanswered() -> None:
    for acks in (True, False):
        assert _logins(session(EXCHANGE, PORT, acks=acks)) == LOGINS
        assert _logins(session(EXCHANGE[: VERDICT + 1], PORT, acks=acks)) == LOGINS[:1]


def test_a_verdict_captured_after_the_client_s_fin_is_still_read() -> None:
    # a SPAN port merging two uplinks recorded the client's FIN before the server's verdict it acknowledged: the FIN
    # says nothing of the attempt, the verdict read after it is its result, and the flow's end adds nothing
    d, state = TelnetDissector(), dict[str, Any]()
    out = _said(d, state, False, b"login: ", seq=5000, ack=1000)
    out += _said(d, state, True, b"root\r\n", seq=1000, ack=5007)
    out += _said(d, state, False, b"Password: ", seq=5007, ack=1006)
    out += _said(d, state, True, b"pw\r\n", seq=1006, ack=5017)
    fin = Packet(ts=2.0, payload=b"", src_ip="10.0.0.1", src_port=50000, dst_ip="10.0.0.2", dst_port=PORT,
                 ip_proto=6, to_server=True, tcp_seq=1010, tcp_ack=5036)
    out += d.closing(fin, state)
    assert _attempts(out) == []
    out += _said(d, state, False, b"\r\nLogin incorrect\r\n", seq=5017, ack=1010)
    assert _attempts(out) == [("root", "pw", "failure")] and d.ending(state) == []


def test_the_flow_s_end_tells_an_unanswered_password_once() -> None:
    d, state = TelnetDissector(), dict[str, Any]()
    _said(d, state, False, b"Password: ", seq=5000, ack=1000)
    _said(d, state, True, b"pw\r\n", seq=1000, ack=5010)
    ended = d.ending(state)
    assert _attempts(ended) == [(None, "pw", "unknown")] and d.ending(state) == []
    # a hole (which ends Telnet's flow) tells it the same, once
    d, state = TelnetDissector(), dict[str, Any]()
    _said(d, state, False, b"Password: ", seq=5000, ack=1000)
    _said(d, state, True, b"pw\r\n", seq=1000, ack=5010)
    told = d.gap(state, False)
    assert told is not None and _attempts(told) == [(None, "pw", "unknown")] and state["done"]
    assert d.ending(state) == []


def _attempts(out: list[Observation]) -> list[tuple[Any, ...]]:
    return [(o.fields["username"], o.fields["password"], o.fields["result"]) for o in out
            if o.kind == "login_attempt"]


@pytest.mark.parametrize("batch", [None, 1, 3])
def test_a_verdict_captured_after_the_client_s_fin_is_read_wherever_batches_are_cut(batch: int | None) -> None:
    # the client typed on having "Login incorrect" (its ACK covers it), then closed; a SPAN port merging two uplinks
    # recorded its FIN before that verdict. The FIN says nothing of the verdict: read after it, it is the result
    # (before: 'unknown' when a batch ended between the FIN and the verdict); never read, the flow's end makes the
    # attempt 'unknown'
    from iotwarden.dissect import default_dissectors
    from iotwarden.engine.core import Engine
    from tests.sources.capbuild import ACK, FIN, PSH, SYN, batch_of, ethernet, tcp

    client, server = "192.168.1.10", "192.168.1.20"
    seq = {True: 1000, False: 5000}

    def frame(to_server: bool, flags: int, payload: bytes = b"") -> bytes:
        a, b, sport, dport = (client, server, 40000, PORT) if to_server else (server, client, PORT, 40000)
        made = ethernet(tcp(a, b, sport, dport, flags, seq[to_server], payload, ack=seq[not to_server]),
                        src=1 if to_server else 2, dst=2 if to_server else 1)
        seq[to_server] += len(payload) + (flags & FIN)
        return made

    opening = [ethernet(tcp(client, server, 40000, PORT, SYN, 999)),
               ethernet(tcp(server, client, PORT, 40000, SYN | ACK, 4999, ack=1000), src=2, dst=1),
               frame(True, ACK), frame(False, ACK | PSH, b"login: "), frame(True, ACK | PSH, b"root\r\n"),
               frame(False, ACK | PSH, b"root\r\nPassword: "), frame(True, ACK | PSH, b"pw\r\n")]
    verdict = frame(False, ACK | PSH, b"\r\nLogin incorrect\r\nlogin: ")
    typed, client_fin, server_fin = frame(True, ACK | PSH, b"x\r\n"), frame(True, FIN | ACK), frame(False, FIN | ACK)
    for frames, result in (([*opening, typed, client_fin, verdict, server_fin], "failure"),
                           ([*opening, typed, client_fin, server_fin], "unknown")):
        engine, out = Engine(default_dissectors()), list[Observation]()
        size = batch or len(frames)
        for at in range(0, len(frames), size):
            part = [(1.0 + (at + i) / 1000, f) for i, f in enumerate(frames[at:at + size])]
            out += engine.process(batch_of(part)).observations
        out += engine.flush().observations
        assert _attempts(out) == [("root", "pw", result)], (batch, result)
