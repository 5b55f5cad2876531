"""Deliveries to dissectors (engine/delivery.py): one call's rejection counted as a malformed message only once the
flow is confirmed, a crash always; the first dissector to reject an unconfirmed flow is its failed service; a flow
no prober claimed is finished once both directions were probed."""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.engine.dispatch import Dispatcher, DispatchLimits
from iotwarden.engine.flowdispatch import FINISHED, UNDECIDED, FlowDispatch
from iotwarden.errors import ParseError
from iotwarden.model import CaptureStats, Observation

PKT = Packet(1.0, b"bad")


class Picky(Dissector):
    name = "picky"
    udp_ports: ClassVar[tuple[int, ...]] = (9999,)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if pkt.payload == b"bad":
            raise ParseError("malformed")
        if pkt.payload == b"crash":
            raise KeyError("bug")
        return [pkt.observation(self.name, "ok", {})]


class Other(Picky):
    name = "other"


def _dispatcher() -> Dispatcher:
    return Dispatcher([Picky()], DispatchLimits(probe_window=4, tcp_max_ooo_segments=8, tcp_max_ooo_bytes=1 << 16),
                      CaptureStats())


def test_a_rejection_is_a_parse_error_only_once_the_flow_is_confirmed_a_crash_always() -> None:
    disp, d = _dispatcher(), Picky()
    assert disp._call(d, PKT, {}, None, confirmed=False) is None
    assert (dict(disp.stats.parse_errors), dict(disp.stats.rejected_before_confirmation)) == ({}, {"picky": 1})
    assert disp._call(d, PKT, {}, None, confirmed=True) is None
    assert dict(disp.stats.parse_errors) == {"picky": 1}
    assert disp._call(d, Packet(1.0, b"crash"), {}, None, confirmed=False) is None
    assert (disp.stats.parse_errors["picky"], disp.stats.analyzer_errors["dissect.picky"]) == (2, 1)
    assert [o.kind for o in disp._call(d, Packet(1.0, b"good"), {}, None) or []] == ["ok"]


def test_the_first_dissector_rejecting_an_unconfirmed_flow_is_its_failed_service() -> None:
    fd = FlowDispatch()
    Dispatcher._rejected(fd, Picky())
    Dispatcher._rejected(fd, Other())
    assert fd.failed == "picky"
    named = FlowDispatch(app="dns")
    Dispatcher._rejected(named, Picky())
    assert named.failed is None


def test_a_flow_no_prober_claimed_is_finished_once_both_directions_were_probed() -> None:
    disp, fd = _dispatcher(), FlowDispatch()
    fd.probed.add(True)
    disp._probed_out(fd, 7)
    assert (fd.t2, disp.changed) == (UNDECIDED, {7: UNDECIDED})
    fd.probed.add(False)
    disp._probed_out(fd, 7)
    assert (fd.t2, disp.changed) == (FINISHED, {7: FINISHED})
