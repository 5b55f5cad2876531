"""CPU time of `analyze`'s analyzers alone: one input's engine output replayed through the default analyzers.

``analyze`` is start-up (imports, knowledge base, store migration), the engine, the analyzers and the
store; on a shared machine the noise of the whole run hides a change to the analyzers. This reads the
input once through the engine (or the Zeek reader), keeps its batches, then feeds them to fresh default
analyzers ``--repeat`` times the way the analyze service does (observations, flows, a tick per batch,
``done``) and prints the best CPU time of the whole replay, with ``--hooks`` also per analyzer hook (each
hook call timed: adds ~0.3 µs a call, so per-item hooks look dearer than they are). The knowledge base's
match memo is emptied before each replay, as a run starts with it empty. Compare two trees with
``PYTHONPATH=<worktree>/src``:

    python bench/analyzers.py FILE [--repeat 3] [--hooks]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HOOKS = ("load", "on_observation", "on_observations", "on_flow", "on_flows", "on_tick", "done")


def timed(analyzer: Any, hook: str, totals: dict[str, float]) -> Callable[..., Any]:
    """``analyzer.hook`` adding its CPU time to ``totals["<name>.<hook>"]``."""
    fn = getattr(analyzer, hook)
    name = f"{getattr(analyzer, 'name', type(analyzer).__name__)}.{hook}"
    clock = time.process_time

    def call(*args: Any) -> Any:
        start = clock()
        try:
            return fn(*args)
        finally:
            totals[name] += clock() - start

    return call


Batch = tuple[list[Any], list[Any], float | None]  # observations, closed flows, the batch's last time


def replay(batches: list[Batch], hooks: bool) -> tuple[float, dict[str, float], Any]:
    """One replay through fresh default analyzers: (CPU s, per-hook CPU s, the context)."""
    from iotwarden.addons import AddonManager, default_analyzers
    from iotwarden.hooks import Context
    from iotwarden.kb.index import KnowledgeBase
    from iotwarden.services.records import tick_of

    memo = getattr(KnowledgeBase._cached, "_memo", None)  # None before the memo (an older tree)
    if memo is not None:
        memo.clear()  # a run starts with an empty match memo
    totals: dict[str, float] = defaultdict(float)
    analyzers = default_analyzers()
    if hooks:
        for analyzer in analyzers:
            for hook in HOOKS:
                if callable(getattr(analyzer, hook, None)):
                    setattr(analyzer, hook, timed(analyzer, hook, totals))
    ctx = Context()
    manager = AddonManager(ctx, analyzers)
    start = time.process_time()
    manager.load()
    for observations, flows, ts in batches:
        manager.observations(observations)
        manager.flows(flows)
        tick = tick_of(ts, flows)
        if tick is not None:
            manager.tick(tick)
    manager.done()
    return time.process_time() - start, totals, ctx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a capture or a Zeek conn.log")
    parser.add_argument("--repeat", type=int, default=3, help="replays; the best is printed")
    parser.add_argument("--hooks", action="store_true", help="also CPU time per analyzer hook (best of the replays)")
    args = parser.parse_args(argv)
    from iotwarden.services.feed import Feed
    from iotwarden.services.inputs import sniff_format

    feed = Feed(args.file, "zeek" if args.file.is_dir() else sniff_format(args.file) or "capture")  # as analyze
    batches = [(b.observations, b.flows, b.ts) for b in feed.batches()]
    best, per_hook = float("inf"), {}
    for _ in range(max(1, args.repeat)):
        seconds, totals, ctx = replay(batches, args.hooks)
        best = min(best, seconds)
        per_hook = {k: min(v, per_hook.get(k, v)) for k, v in totals.items()}
    print(f"{args.file.name}: analyzers {best:.3f} CPU s (best of {max(1, args.repeat)}); {len(ctx.devices)} devices, "
          f"{len(ctx.findings)} findings, {len(ctx.alerts)} alerts")
    for name, seconds in sorted(per_hook.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{seconds:8.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
