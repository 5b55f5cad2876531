"""RecordBatch: what log sources hand the pipeline instead of packets."""

from __future__ import annotations

from iotwarden.model import Flow, Observation
from iotwarden.sources.base import RecordBatch


def test_record_batch_holds_observations_flows_and_counts() -> None:
    batch = RecordBatch(observations=[Observation(ts=1.0, proto="dns", kind="query")],
                        flows=[Flow(0, 17, "10.0.0.1", 5353, "224.0.0.251", 5353, 1.0, 1.0)],
                        last_ts=1.0, records=3, skipped=1)
    assert (len(batch.observations), len(batch.flows), batch.records - batch.skipped) == (1, 1, 2)
