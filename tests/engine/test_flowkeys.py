"""Flow keys (engine/flowkeys.py): both directions of a conversation share one key, the lower endpoint first; VLAN,
protocol and ports tell flows apart; grouping keeps each flow's packets in capture order, and keys that share a
hash are grouped by the exact key. The flow table's use of them is tests/engine/test_flowtable.py's."""

from __future__ import annotations

import numpy as np
import pytest

from iotwarden.engine.core import Engine
from iotwarden.engine.decode import decode
from iotwarden.engine.flowkeys import canonical, group, key_bytes
from iotwarden.model import Flow
from tests.sources.capbuild import batch_of, ethernet, udp

C, S = "10.0.0.5", "10.0.0.80"


def _keys(frames: list[bytes]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    h = decode(batch_of([(float(i), f) for i, f in enumerate(frames)]))
    key, lh, *_ = canonical(h, np.flatnonzero(h.ipver > 0))
    return key, lh


def test_both_directions_share_one_key_the_lower_endpoint_first() -> None:
    key, lh = _keys([ethernet(udp(S, C, 53, 1000, b"a")), ethernet(udp(C, S, 1000, 53, b"q"))])
    one, two = key_bytes(key)
    assert one == two and lh.tolist() == [False, True]  # 10.0.0.5 is the lower address


def test_vlan_protocol_and_ports_tell_flows_apart() -> None:
    key, _ = _keys([ethernet(udp(C, S, 1000, 53)), ethernet(udp(C, S, 1000, 53), vlans=(10,)),
                    ethernet(udp(C, S, 1001, 53))])
    assert len(set(key_bytes(key))) == 3


def test_grouping_keeps_each_flows_packets_in_capture_order() -> None:
    key, _ = _keys([ethernet(udp(C, S, 1000 + i % 3, 53)) for i in range(9)])
    order, gstart, ks = group(key)
    flows = np.split(order, np.flatnonzero(gstart)[1:])
    assert sorted(f.tolist() for f in flows) == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    assert key_bytes(ks) == [key_bytes(key)[i] for i in order.tolist()]  # the key columns in that order


def test_hash_collisions_fall_back_to_exact_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iotwarden.engine.flowkeys._mix", lambda x: x * 0)  # every key collides
    frames = [(float(i), ethernet(udp(C, S, 1000 + i % 4, 53, b"q"))) for i in range(12)]
    engine = Engine([])
    flows: list[Flow] = engine.process(batch_of(frames)).flows + engine.flush().flows
    assert sorted((f.a_port, f.packets) for f in flows) == [(1000, 3), (1001, 3), (1002, 3), (1003, 3)]
