"""Peer: NFStream flow metering on one meter (single core); ``plain`` disables nDPI dissection."""

from __future__ import annotations

import json
import sys
import time

from nfstream import NFStreamer


def main(path: str, mode: str) -> None:
    start = time.perf_counter()
    dissections = 0 if mode == "plain" else 20
    streamer = NFStreamer(source=path, statistical_analysis=False, n_dissections=dissections, n_meters=1)
    flows = packets = 0
    for flow in streamer:
        flows += 1
        packets += flow.bidirectional_packets
    print(json.dumps({"packets": packets, "flows": flows, "loop_seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
