"""CaptureStats: what was read and what could not be parsed, per protocol."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class CaptureStats:
    packets: int = 0
    bytes: int = 0  # wire bytes (original frame length)
    flows: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    truncated: bool = False  # the input ended inside a record
    # packets the capture kept only the first bytes of (a record's captured length below its original length:
    # a snap length, tcpdump -s; pcap format draft-ietf-opsawg-pcap §5 CapLen/OrigLen), and the longest such
    # captured length: the capture's effective snap length
    snapped: int = 0
    snaplen: int = 0
    protocols: Counter[str] = field(default_factory=Counter)  # packets dissected, per dissector
    parse_errors: Counter[str] = field(default_factory=Counter)  # malformed messages, per dissector
    # a flow's bytes a dissector rejected before it confirmed the flow: another protocol on its port, per
    # dissector (engine/delivery.py Delivery._reject_count); not malformed messages of that protocol
    rejected_before_confirmation: Counter[str] = field(default_factory=Counter)
    decode_errors: Counter[str] = field(default_factory=Counter)  # header decode problems, per reason
    # packets read inside a tunnel, per outermost encapsulation removed (engine/decode.py TUNNELS)
    tunnels: Counter[str] = field(default_factory=Counter)
    analyzer_errors: Counter[str] = field(default_factory=Counter)  # crashes caught, per analyzer
    observations: int = 0

    def merge(self, other: CaptureStats) -> None:
        self.packets += other.packets
        self.bytes += other.bytes
        self.flows += other.flows
        self.observations += other.observations
        self.truncated = self.truncated or other.truncated
        self.snapped += other.snapped
        self.snaplen = max(self.snaplen, other.snaplen)
        for ts in (other.first_ts,):
            if ts is not None and (self.first_ts is None or ts < self.first_ts):
                self.first_ts = ts
        for ts in (other.last_ts,):
            if ts is not None and (self.last_ts is None or ts > self.last_ts):
                self.last_ts = ts
        self.protocols.update(other.protocols)
        self.parse_errors.update(other.parse_errors)
        self.rejected_before_confirmation.update(other.rejected_before_confirmation)
        self.decode_errors.update(other.decode_errors)
        self.tunnels.update(other.tunnels)
        self.analyzer_errors.update(other.analyzer_errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "packets": self.packets,
            "bytes": self.bytes,
            "flows": self.flows,
            "observations": self.observations,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "truncated": self.truncated,
            "snapped": self.snapped,
            "snaplen": self.snaplen,
            "protocols": dict(sorted(self.protocols.items())),
            "parse_errors": dict(sorted(self.parse_errors.items())),
            "rejected_before_confirmation": dict(sorted(self.rejected_before_confirmation.items())),
            "decode_errors": dict(sorted(self.decode_errors.items())),
            "tunnels": dict(sorted(self.tunnels.items())),
            "analyzer_errors": dict(sorted(self.analyzer_errors.items())),
        }
