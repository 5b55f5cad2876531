"""What a source yields: packet batches (for the engine) or records already decoded (Zeek logs)."""

from __future__ import annotations

from dataclasses import dataclass, field

from iotwarden.engine.batch import PacketBatch
from iotwarden.model import Flow, Observation


@dataclass(slots=True)
class RecordBatch:
    """Observations and closed flows read from a log source, in time order."""

    observations: list[Observation] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    last_ts: float | None = None
    records: int = 0  # log lines read (parsed or not)
    skipped: int = 0  # malformed log lines counted and skipped


SourceItem = PacketBatch | RecordBatch
