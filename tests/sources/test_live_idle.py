"""A quiet live link's heartbeat (sources/live.IdleBatch), without a real interface: the capture loop read over a
socket pair standing in for the AF_PACKET socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from iotwarden.engine.batch import LINKTYPE_ETHERNET, PacketBatch
from iotwarden.errors import ConfigError
from iotwarden.sources import live
from iotwarden.sources.live import IDLE_TICK_S, IdleBatch, LiveCapture, capture_live


def _capture(sock: socket.socket) -> LiveCapture:
    """A LiveCapture reading ``sock`` (a datagram a frame), as one opened on an Ethernet link would."""
    cap = LiveCapture.__new__(LiveCapture)
    cap.sock, cap.snaplen, cap.linktype, cap.loopback = sock, 65535, LINKTYPE_ETHERNET, False
    sock.setblocking(False)
    return cap


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    yield a, b
    a.close()
    b.close()


FRAME = bytes(12) + b"\x08\x00" + bytes(46)  # an Ethernet frame's worth of bytes


def test_a_quiet_link_hands_over_a_heartbeat_each_idle_s(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    stop = threading.Event()
    got: list[tuple[float, PacketBatch]] = []
    start = time.monotonic()
    for batch in _capture(a).batches(batch_timeout=0.05, stop=stop, idle_s=0.3):
        got.append((time.monotonic() - start, batch))
        if len(got) == 2:
            b.send(FRAME)  # a packet: a batch of it, and the heartbeat waits idle_s from it
        if len(got) == 4:
            stop.set()
    (t1, idle1), (t2, idle2), (t3, packets), (t4, idle3) = got
    assert [type(x) for x in (idle1, idle2, idle3)] == [IdleBatch] * 3 and type(packets) is PacketBatch
    assert len(idle1) == len(idle2) == len(idle3) == 0 and len(packets) == 1
    assert isinstance(idle1, IdleBatch) and abs(idle1.at - time.time()) < 5.0  # the wall clock, as packets' stamps
    assert 0.25 <= t1 < 1.0 and 0.25 <= t2 - t1 < 1.0 and t4 - t3 >= 0.25


def test_without_idle_s_a_quiet_link_hands_over_nothing(pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    stop = threading.Event()
    threading.Timer(0.6, stop.set).start()
    assert list(_capture(a).batches(batch_timeout=0.05, stop=stop)) == []


def test_idle_s_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="idle_s"):
        capture_live("lo", idle_s=0.0)
    assert 0 < IDLE_TICK_S <= 60 and live.POLL_INTERVAL < IDLE_TICK_S
