"""What tier 2 is told of each packet (engine/flowpackets.py): its flow, direction and tier-2 state, and the payload
packets and bytes its flow and direction carried before it, earlier batches included, however the capture is cut
into batches. Expected values are computed by hand."""

from __future__ import annotations

import numpy as np

from iotwarden.engine.decode import decode
from iotwarden.engine.flowpackets import packet_view
from iotwarden.engine.flowtable import FlowTable
from iotwarden.engine.segments import SegmentRules
from tests.sources.capbuild import ACK, PSH, SYN, batch_of, ethernet, tcp, udp

C, S = "10.0.0.5", "10.0.0.80"


def test_a_segments_packets_count_on_from_what_the_table_held() -> None:
    i64 = np.int64
    pf = packet_view(np.array([5, 6, 7]), np.array([True, False, True]), np.array([True, True, False]),
                     np.array([3, 7, 0], dtype=i64), sfirst=np.array([0]), sid=np.array([0, 0, 0]),
                     uid=np.array([42], dtype=i64), init_low=np.array([True]), t2=np.array([1], dtype=np.int8),
                     prior=(np.array([2], dtype=i64), np.array([1], dtype=i64)),
                     prior_pay=(np.array([10], dtype=i64), np.array([4], dtype=i64)),
                     isn=(np.array([100], dtype=i64), np.array([200], dtype=i64)))
    assert pf.idx.tolist() == [5, 6, 7] and pf.uid.tolist() == [42] * 3 and pf.t2.tolist() == [1] * 3
    assert pf.to_server.tolist() == [True, False, True] and pf.isn.tolist() == [100, 200, 100]
    assert pf.ord_dir.tolist() == [2, 1, 3] and pf.ord_flow.tolist() == [3, 4, 5]
    assert pf.pay_dir.tolist() == [10, 4, 13]


def test_each_packet_knows_the_payload_bytes_its_direction_carried_before_it_across_batches() -> None:
    # what probing accumulates on (engine/dispatch.py PROBE_BYTES): per direction, earlier batches included
    frames = [(1.0, ethernet(tcp(C, S, 40000, 7, SYN, 0))),
              (1.1, ethernet(tcp(C, S, 40000, 7, PSH | ACK, 1, b"abc"))),
              (1.2, ethernet(tcp(S, C, 7, 40000, PSH | ACK, 9, b"0123456"))),
              (1.3, ethernet(tcp(C, S, 40000, 7, PSH | ACK, 4, b"de"))),
              (1.4, ethernet(udp(C, S, 5000, 6000, b"x" * 10))), (1.5, ethernet(udp(S, C, 6000, 5000, b"y"))),
              (1.6, ethernet(tcp(C, S, 40000, 7, PSH | ACK, 6, b"f"))),
              (1.7, ethernet(tcp(S, C, 7, 40000, PSH | ACK, 16, b"789")))]
    for cut in (len(frames), 3, 1):
        table = FlowTable(SegmentRules(60.0, 60.0, 3600.0, 1.0), 100)
        seen: list[tuple[float, int, int]] = []
        for lo in range(0, len(frames), cut):
            batch = batch_of(frames[lo : lo + cut])
            h = decode(batch)
            pf, _ = table.update(h, batch.ts, batch.wirelen.astype(np.int64), batch.data)
            seen += [(float(batch.ts[i]), int(o), int(p))
                     for i, o, p in zip(pf.idx, pf.ord_dir, pf.pay_dir, strict=True)]
        assert sorted(seen) == [(1.0, 0, 0), (1.1, 0, 0), (1.2, 0, 0), (1.3, 1, 3), (1.4, 0, 0), (1.5, 0, 0),
                                (1.6, 2, 5), (1.7, 1, 7)], cut
