"""A stream dissector's packet safety net (dissect/base.py StreamDissector.max_stream_packets, the bound behind its
byte budget) finishes a flow as the budget does: one that overrides ``ending`` is told then, since nothing it waits
for will reach it (as engine/streamfeed.py ``_spent`` for the budget, 59bb1b2), and told once. Before, the safety net
finished the flow silently: a Telnet password awaiting its verdict was lost instead of reported 'unknown'."""

from __future__ import annotations

import pytest

from iotwarden.dissect.telnet import TelnetDissector
from tests.dissect.test_telnet_order import EXCHANGE, PORT, _logins
from tests.engine.losscheck import session

PASSWORD = 3  # EXCHANGE's first password line


@pytest.mark.parametrize("batch", [None, 1])
def test_a_flow_stopped_by_its_packet_safety_net_tells_what_it_awaited(monkeypatch: pytest.MonkeyPatch,
                                                                        batch: int | None) -> None:
    # the password, then the server's text a byte a segment (a console server behind a serial line) with no verdict
    # in it, until the safety net stops the flow (payload segments handed: the 4 messages, then 8 of the 1-byte ones)
    monkeypatch.setattr(TelnetDissector, "max_stream_packets", 12)
    messages = [*EXCHANGE[: PASSWORD + 1], *[(False, b".")] * 40]
    for close in (True, False):
        got = [o for o in session(messages, PORT, acks=True, close=close, batch=batch)
               if o.kind == "login_attempt"]
        assert _logins(got) == [("admin", "wrong", "unknown")], close  # once, not again at the flow's end
    # within the safety net, the verdict read: as before
    monkeypatch.setattr(TelnetDissector, "max_stream_packets", 12)
    assert _logins(session(EXCHANGE[: PASSWORD + 2], PORT, acks=True, batch=batch)) == [
        ("admin", "wrong", "failure")]
