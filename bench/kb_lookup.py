"""Knowledge-base load and lookup speed, as ratios against a peer run in the same process (issue #3).

The OUI registry against scapy's manuf database (its vendor lookup, ``conf.manufdb``): load time and 10,000
lookups of addresses in one block. Rule matching (``KnowledgeBase.match``) has no peer: its figure is lookups
per second of texts never seen before (memo misses), printed for comparison between revisions.

    python bench/kb_lookup.py [--lookups N] [--repeat R]

The tests pin the structure that makes these fast (prefix tables, a bounded memo: tests/kb/test_oui.py,
tests/kb/test_index.py), never a wall-clock figure.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable


def best(fn: Callable[[], object], repeat: int) -> float:
    """The best of ``repeat`` runs of ``fn``, in seconds of CPU time."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lookups", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()

    from scapy.data import load_manuf
    from scapy.libs.manuf import DATA as MANUF_DATA  # type: ignore[import-untyped]

    from iotwarden.kb.index import KnowledgeBase
    from iotwarden.kb.oui import OuiRegistry

    macs = [f"00:40:8c:{i % 256:02x}:{i // 256 % 256:02x}:00" for i in range(a.lookups)]
    ours_load = best(OuiRegistry.load, a.repeat)
    peer_load = best(lambda: load_manuf(MANUF_DATA), a.repeat)
    registry, manuf = OuiRegistry.load(), load_manuf(MANUF_DATA)
    ours_look = best(lambda: [registry.lookup(m) for m in macs], a.repeat)
    peer_look = best(lambda: [manuf._get_manuf(m) for m in macs], a.repeat)
    print(f"OUI load: {ours_load:.3f} s, scapy manuf {peer_load:.3f} s (ratio {ours_load / peer_load:.2f})")
    print(f"OUI {a.lookups} lookups: {ours_look:.3f} s, scapy manuf {peer_look:.3f} s "
          f"(ratio {ours_look / max(peer_look, 1e-9):.2f})")

    kb_load = best(KnowledgeBase.load, a.repeat)
    print(f"rules load: {kb_load:.3f} s")
    round_ = iter(range(10**9))

    def lookups() -> None:
        r = next(round_)  # fresh texts each round: memo misses
        kb = KnowledgeBase.load()
        for i in range(a.lookups // 4):
            kb.match("dhcp.vendor_class", f"MSFT 5.{r}.{i}")
            kb.match("tls.sni", f"host{r}-{i}.ring.com")
            kb.match("snmp.sys_object_id", f"1.3.6.1.4.1.9.1.{r}{i}")
            kb.match("http.server", f"Boa/0.{r}.{i}")

    spent = best(lookups, a.repeat) - kb_load
    print(f"rule matching: {a.lookups} lookups in {max(spent, 0):.3f} s "
          f"({a.lookups / max(spent, 1e-9):,.0f} lookups/s)")


if __name__ == "__main__":
    main()
