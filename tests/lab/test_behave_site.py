"""Site server behaviours, run one at a time on the scenarios' worlds."""

from __future__ import annotations

import dpkt

from iotwarden.dissect.kerberos import parse_message
from iotwarden.lab.behave_site import BEHAVIOURS
from iotwarden.lab.scenario import Scenario
from iotwarden.lab.world import World


def _run(scenario: Scenario, device_id: str, kind: str) -> list[tuple[float, dpkt.ethernet.Ethernet]]:
    world = World(scenario, 3)
    dev = world.devices[device_id]
    act = next(b for b in dev.behaviours if b.kind == kind)
    fn, _ = BEHAVIOURS[kind]
    return [(t, dpkt.ethernet.Ethernet(f)) for t, f in fn(world, dev, act)]


def test_kerberos_logons_of_each_client_on_port_88(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "srv-dc", "kerberos")
    times = [t for t, _ in frames]
    assert times == sorted(times)
    streams: dict[tuple[int, int], bytes] = {}  # each message is one direction of its own connection
    for _, e in frames:
        tcp = e.data.data
        streams[(tcp.sport, tcp.dport)] = streams.get((tcp.sport, tcp.dport), b"") + bytes(tcp.data)
    kinds = [parse_message(r[4:])[0] for r in streams.values() if r]
    assert kinds == ["as_req", "error", "as_req", "as_rep", "tgs_req", "tgs_rep", "tgs_req", "tgs_rep"]
    assert {e.data.data.dport for _, e in frames if e.data.data.data and e.data.data.sport != 88} == {88}
