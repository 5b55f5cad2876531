"""Segment rules on their own: effective idle timeouts and TCP close states."""

from __future__ import annotations

import numpy as np

from iotwarden.engine.segments import TCP_ACK, TCP_FIN, TCP_RST, SegmentRules

RULES = SegmentRules(idle_timeout=120.0, udp_idle_timeout=60.0, active_timeout=1800.0, tcp_close_delay=5.0)


def test_idle_timeout_depends_on_protocol_and_close_state() -> None:
    proto = np.array([6, 17, 1, 6])
    closed = np.array([False, False, False, True])
    assert RULES.idle_for(proto, closed).tolist() == [120.0, 60.0, 120.0, 5.0]


def test_closed_needs_fin_both_ways_or_one_rst_and_only_for_tcp() -> None:
    lh = np.array([TCP_FIN | TCP_ACK, TCP_FIN, TCP_RST, TCP_FIN, TCP_FIN])
    hl = np.array([TCP_FIN | TCP_ACK, TCP_ACK, 0, TCP_FIN, 0])
    proto = np.array([6, 6, 6, 17, 6])
    fin, rst = RULES.closed_state(lh, hl, proto)
    assert fin.tolist() == [True, False, False, False, False]
    assert rst.tolist() == [False, False, True, False, False]
