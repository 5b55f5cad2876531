"""iotwarden's engine alone: read_capture + Engine.process + flush with the default dissectors."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from iotwarden.engine.core import Engine
from iotwarden.sources.capfile import read_capture


def main(path: str) -> None:
    start = time.perf_counter()
    engine = Engine()
    flows = observations = 0
    for batch in read_capture(Path(path)):
        result = engine.process(batch)
        flows += len(result.flows)
        observations += len(result.observations)
    result = engine.flush()
    flows += len(result.flows)
    observations += len(result.observations)
    print(json.dumps({"packets": engine.stats.packets, "flows": flows, "observations": observations,
                      "parse_errors": sum(engine.stats.parse_errors.values()),
                      "loop_seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(sys.argv[1])
