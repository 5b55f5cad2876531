"""Peer: scapy's PcapReader on the first N packets (scapy is too slow for the whole capture)."""

from __future__ import annotations

import json
import sys
import time

from scapy.layers.inet import IP, TCP, UDP
from scapy.utils import PcapReader


def main(path: str, limit: int) -> None:
    start = time.perf_counter()
    packets = 0
    flows: set[tuple[str, str, int, int, int]] = set()
    with PcapReader(path) as reader:
        for pkt in reader:
            packets += 1
            if IP in pkt:
                ip = pkt[IP]
                l4 = ip.payload
                ports = (l4.sport, l4.dport) if isinstance(l4, TCP | UDP) else (0, 0)
                flows.add((ip.src, ip.dst, *ports, ip.proto))
            if packets >= limit:
                break
    print(json.dumps({"packets": packets, "flows": len(flows), "loop_seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
