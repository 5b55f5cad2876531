"""iotwarden's engine alone: read_capture + Engine.process + flush with the default dissectors."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from iotwarden.engine.core import Engine
from iotwarden.sources.capfile import read_capture


def main(path: str) -> None:
    start, cpu = time.perf_counter(), time.process_time()
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
                      "loop_seconds": time.perf_counter() - start, "loop_cpu_seconds": time.process_time() - cpu,
                      "memo": engine.memo.stats()}))


if __name__ == "__main__":
    main(sys.argv[1])
