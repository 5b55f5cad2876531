"""Regenerate the bundled demo capture: ``python -m iotwarden.lab.make_demo [OUTDIR]``.

The demo is enterprise-attack.yaml cut to :data:`DEMO_DURATION` seconds. Generation is
deterministic, so a test regenerates it and compares bytes: the shipped file is never stale.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from iotwarden.lab.generator import generate, load_scenario

LAB_DIR = Path(__file__).resolve().parent
SCENARIO = LAB_DIR / "scenarios" / "enterprise-attack.yaml"
CAPTURES = LAB_DIR / "captures"
DEMO_DURATION = 240.0  # seconds: every attack of the scenario, and under 3 MB
DEMO_PCAP, DEMO_TRUTH = "demo.pcap", "demo.truth.json"


def make_demo(outdir: Path = CAPTURES) -> dict[str, Any]:
    """Write demo.pcap and demo.truth.json into ``outdir``; returns the generation summary."""
    outdir.mkdir(parents=True, exist_ok=True)
    return generate(load_scenario(SCENARIO), outdir / DEMO_PCAP, outdir / DEMO_TRUTH, duration=DEMO_DURATION)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else CAPTURES
    result = make_demo(outdir)
    sys.stdout.write(f"{outdir / DEMO_PCAP}: {result['packets']} packets, {result['bytes']} bytes\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
