"""PacketBatch: a columnar block of packets addressed by offsets into one buffer."""

from __future__ import annotations

import numpy as np

from iotwarden.engine.batch import LINKTYPE_ETHERNET, PacketBatch


def test_packets_are_slices_of_the_shared_buffer() -> None:
    data = np.frombuffer(b"AAAABBBBBB", dtype=np.uint8)
    batch = PacketBatch(data=data, offsets=np.array([0, 4], dtype=np.int64), caplen=np.array([4, 6], dtype=np.int32),
                        wirelen=np.array([4, 60], dtype=np.int32), ts=np.array([1.0, 2.0]),
                        linktype=np.full(2, LINKTYPE_ETHERNET, dtype=np.uint16))
    assert len(batch) == 2
    second = batch.data[batch.offsets[1] : batch.offsets[1] + batch.caplen[1]].tobytes()
    assert second == b"BBBBBB" and batch.wirelen[1] > batch.caplen[1]
