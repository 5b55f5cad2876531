"""One input through the engine, shared by the analyze and sensor use cases: a capture file's packet
batches (engine, then the end-of-input flush that closes every flow) or a Zeek log folder's record
batches, as batches of Observations and closed Flows with the capture time they reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotwarden.errors import CaptureError
from iotwarden.model import CaptureStats, Flow, Observation
from iotwarden.sources.base import RecordBatch, SourceItem

PCAP_RECORD_HEADER = 16  # bytes before each packet in a pcap file (progress estimate)
ZEEK_RECORD_BYTES = 250  # typical length of one Zeek log line (progress estimate)


@dataclass(slots=True)
class Batch:
    """What one source item produced: records, the time of its last packet (None for the final flush)
    and how much input it stood for (packets or log records; an estimate of bytes for progress)."""

    observations: list[Observation]
    flows: list[Flow]
    ts: float | None
    packets: int
    nbytes: int


def source_items(path: Path, fmt: str) -> Iterator[SourceItem]:
    """The source items of one input: RecordBatches from Zeek logs, PacketBatches from a capture."""
    if fmt == "zeek":
        from iotwarden.sources.zeek import read_zeek  # noqa: PLC0415 - only needed for Zeek input

        return iter(read_zeek(path))
    from iotwarden.sources.capfile import read_capture  # noqa: PLC0415

    return iter(read_capture(path))


def new_engine(config: Any = None) -> Any:
    """The packet engine (``config``: an ``EngineConfig``; None: defaults)."""
    from iotwarden.engine.core import Engine  # noqa: PLC0415 - loads every dissector: only for packets

    return Engine(dissectors=None, config=config)


class Feed:
    """Drives one input through the engine. After :meth:`batches` is exhausted, ``error`` holds the
    CaptureError that ended a damaged input early (what came before it was delivered, flows flushed),
    ``records`` the Zeek log records read and ``stats`` the engine's statistics and Zeek parse errors."""

    def __init__(self, path: Path, fmt: str, config: Any = None) -> None:
        self.path, self.fmt, self.config = path, fmt, config
        self.engine: Any = None
        self.records = 0
        self.error: CaptureError | None = None
        self.stats = CaptureStats()

    def batches(self) -> Iterator[Batch]:
        try:
            for item in source_items(self.path, self.fmt):
                if isinstance(item, RecordBatch):
                    self.records += item.records
                    self.stats.parse_errors["zeek"] += item.skipped
                    yield Batch(item.observations, item.flows, item.last_ts, item.records,
                                ZEEK_RECORD_BYTES * item.records)
                    continue
                self.engine = self.engine or new_engine(self.config)
                res = self.engine.process(item)
                yield Batch(res.observations, res.flows, float(item.ts[-1]) if len(item) else None, len(item),
                            int(item.caplen.sum()) + PCAP_RECORD_HEADER * len(item))
        except CaptureError as exc:
            self.error = exc
        if self.engine is not None:  # end of input, or what came before the damage: close every flow
            res = self.engine.flush()
            self.stats.merge(self.engine.stats)
            yield Batch(res.observations, res.flows, None, 0, 0)
