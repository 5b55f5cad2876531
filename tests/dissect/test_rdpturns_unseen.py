"""An RDP client's AUTHENTICATE lost whole with a record of the client's read after it (its close_notify alert as it
leaves, the server's answer not sent or not captured): the client bytes the capture never held between its last
record read and that record's header are more than an alert can be, so they held the AUTHENTICATE's turn, counted
when that header is read (dissect/rdpturns.py ``_unseen``), as ``closed`` counts it from a FIN when no record
follows (review of 41f4be9). Before, the turn was counted only when the client's FIN or RST came before anything
told the hole (the server's FIN's ACK, the capture's end): lost with both FINs, the server's alone, or no close."""

from __future__ import annotations

import pytest

from iotwarden.dissect.rdpturns import MAX_ALERT_RECORD
from iotwarden.lab import proto_tls
from tests.dissect.test_rdp_loss import NLA, PORT, SEGMENT
from tests.dissect.test_rdpturns import CLOSINGS, PROBE, _turns
from tests.engine.losscheck import session

AUTHENTICATE = 9  # NLA's message (one segment) holding the client's AUTHENTICATE
ALERT = (True, proto_tls.record(21, bytes(26)))  # a close_notify under an AEAD suite (RFC 8446 §6.1)


@pytest.mark.parametrize("closing", [*CLOSINGS, None])
@pytest.mark.parametrize("batch", [None, 1])
def test_an_authenticate_lost_whole_before_the_client_s_alert_is_counted(closing: str | None,
                                                                          batch: int | None) -> None:
    whole = _turns(session(NLA, PORT, acks=True))
    messages = [*NLA[: AUTHENTICATE + 1], ALERT]
    got = _turns(session(messages, PORT, (AUTHENTICATE,), acks=True, batch=batch, close=closing is not None,
                         closing=CLOSINGS[closing] if closing else None))
    assert got == whole, (closing, batch)


@pytest.mark.parametrize("closing", ["server fin", "server rst", None])
def test_unseen_client_bytes_no_larger_than_an_alert_count_no_turn(closing: str | None) -> None:
    # the bound: client bytes of an alert's size at most never held, then a record read (an alert), count no turn
    challenged = _turns(session(NLA, PORT, acks=True))[:1]
    lost_alert = (True, proto_tls.record(21, bytes(MAX_ALERT_RECORD - 5)))
    messages = [*PROBE[:AUTHENTICATE], lost_alert, ALERT]
    got = _turns(session(messages, PORT, (AUTHENTICATE,), acks=True, close=closing is not None,
                         closing=CLOSINGS[closing] if closing else None))
    assert got == challenged, closing


def test_an_authenticate_read_whole_then_its_alert_counts_once() -> None:
    assert _turns(session([*NLA[: AUTHENTICATE + 1], ALERT], PORT, acks=True)) == _turns(
        session(NLA, PORT, acks=True))


@pytest.mark.parametrize("closing", ["both fins", "server fin"])
def test_a_probe_whose_negotiate_header_and_alert_were_lost_makes_no_attempt(closing: str) -> None:
    # segments of 100 bytes: the NEGOTIATE's first (its record header) and the probe's close_notify lost. The
    # NEGOTIATE's tail, read as application data, is client bytes known (rdpturns._held): the server's FIN then
    # acknowledges one alert's bytes more, no AUTHENTICATE (before: measured from the client's Finished, 156 bytes
    # more, a made-up attempt)
    challenged = _turns(session(NLA, PORT, acks=True))[:1]
    negotiate_head, alert = 15, 21
    assert _turns(session(PROBE, PORT, (negotiate_head, alert), segment=SEGMENT, acks=True,
                          closing=CLOSINGS[closing])) == challenged
    # the NEGOTIATE lost whole (its turn counted from the server's ACK), the probe's alert read: no attempt either
    assert _turns(session([*PROBE, ALERT], PORT, (negotiate_head, negotiate_head + 1), segment=SEGMENT, acks=True,
                          closing=CLOSINGS[closing])) == challenged
