"""risk.p2p.exposed: a camera that logs in to CS2/iLnkP2P P2P servers (the real NKU Xiaobai captures)."""

from __future__ import annotations

from tests.conftest import shared
from tests.risk.harness import analyse, found

ID = "risk.p2p.exposed"
XIAOBAI = ("pcaps", "nku_lifecycle", "pcaps", "xiaobai_Y2camera_lifecycle")
XIAOBAI_IP = "192.168.1.165"


def test_the_xiaobai_camera_logging_in_to_its_p2p_servers_is_exposed() -> None:
    ctx, _ = analyse(shared(*XIAOBAI, "xiaobai_Y2camera_idle_local.pcap"))
    (finding,) = found(ctx, ID).values()
    assert finding.severity == "high"
    assert XIAOBAI_IP in ctx.devices[finding.subject].ips
    assert finding.evidence["p2p_servers"]  # the relays it logs in to


def test_no_p2p_login_no_finding() -> None:
    ctx, _ = analyse(shared(*XIAOBAI, "xiaobai_Y2camera_speak_local.pcap"))  # no udp/32100 in it
    assert found(ctx, ID) == {}
    ctx, _ = analyse(shared("pcaps", "nku_lifecycle", "pcaps", "xiaodu_plug", "xiaodu_plug.pcap"))
    assert found(ctx, ID) == {}
