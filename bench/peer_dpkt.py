"""Peer: a plain dpkt loop decoding Ethernet/IPv4/IPv6/TCP/UDP 5-tuples. Prints one JSON line."""

from __future__ import annotations

import json
import sys
import time

import dpkt


def main(path: str) -> None:
    start = time.perf_counter()
    packets = 0
    flows: set[tuple[bytes, bytes, int, int, int]] = set()
    with open(path, "rb") as fh:  # noqa: PTH123 - mirrors how a dpkt user writes it
        for _, buf in dpkt.pcap.Reader(fh):
            packets += 1
            try:
                ip = dpkt.ethernet.Ethernet(buf).data
            except (dpkt.UnpackError, IndexError):
                continue
            if isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                l4 = ip.data
                sport = getattr(l4, "sport", 0)
                dport = getattr(l4, "dport", 0)
                proto = ip.p if isinstance(ip, dpkt.ip.IP) else ip.nxt
                a, b = (ip.src, sport), (ip.dst, dport)
                lo, hi = (a, b) if a <= b else (b, a)
                flows.add((lo[0], hi[0], lo[1], hi[1], proto))
    print(json.dumps({"packets": packets, "flows": len(flows), "loop_seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(sys.argv[1])
