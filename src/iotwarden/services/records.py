"""The records a sensor sends a worker (schema ``iotwarden.records/1``, docs/adr/0005): one engine batch's
Observations and closed Flows in their ``to_dict`` forms as compact JSON, cut into messages of at most
``max_bytes``; decoding checks every field's type so a malformed message or record is counted, never fed.

A message: ``{"schema", "site", "run", "seq", "source", "packets", "tick", "end", "stats",
"observations": [...], "flows": [...]}``. ``run`` names one sensor input (a capture file, a Zeek folder,
a live interface), ``seq`` counts its messages from 0, ``tick`` is the capture time the analyzers advance
to after the message (only on a batch's last message), ``end`` closes the run (then ``stats`` holds the
run's CaptureStats) and ``packets`` is how many packets (or log records) were read since the previous message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from iotwarden.errors import ParseError
from iotwarden.model import Flow, Observation

SCHEMA = "iotwarden.records/1"
MAX_MESSAGE_BYTES = 1024 * 1024  # NATS's default max_payload; a sensor uses the smaller of this and the server's
ENVELOPE_RESERVE = 2048  # bytes of a message kept for its envelope (site, run, source, stats are bounded)
MAX_SOURCE_LEN = 256  # characters of the source name carried in each message
MAX_STATS_BYTES = 256 * 1024  # an end message's stats larger than this are cut to the counters
MSG_ID_HEADER = "Nats-Msg-Id"  # JetStream de-duplication (within the stream's duplicate window)

_FLOW_INTS = ("vlan", "ip_proto", "a_port", "b_port", "pkts_ab", "pkts_ba", "bytes_ab", "bytes_ba", "payload_ab",
              "payload_ba", "tcp_flags_ab", "tcp_flags_ba")
_OBS_OPTIONAL_STR = ("src_mac", "dst_mac", "src_ip", "dst_ip")
_OBS_OPTIONAL_INT = ("src_port", "dst_port", "ip_proto", "vlan")
MAX_VNIS = 2  # the outermost and innermost VNI (engine/decode.py VNI_FIELD)


@dataclass(slots=True)
class RecordMessage:
    """One decoded message; ``observations`` and ``flows`` hold the records that passed the checks."""

    site: str
    run: str
    seq: int
    source: str = ""
    packets: int = 0
    tick: float | None = None
    end: bool = False
    stats: dict[str, Any] = field(default_factory=dict)
    observations: list[Observation] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    malformed: int = 0  # records of the message that failed the checks (skipped)

    @property
    def msg_id(self) -> str:
        """The message's identity across redeliveries and republishing: site, run and sequence number."""
        return f"{self.site}:{self.run}:{self.seq}"


def tick_of(ts: float | None, flows: list[Flow]) -> float | None:
    """The capture time analyzers advance to after a batch: its last packet's, or for a batch without
    one (end of input) the last closed flow's (the rule ``services.analyze`` follows)."""
    if ts is not None:
        return ts
    return max(f.last_seen for f in flows) if flows else None


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), default=str, allow_nan=False)


def _envelope(site: str, run: str, seq: int, *, source: str, packets: int, tick: float | None, end: bool,
              stats: dict[str, Any] | None) -> str:
    head = {"schema": SCHEMA, "site": site, "run": run, "seq": seq, "source": source[:MAX_SOURCE_LEN],
            "packets": packets, "tick": tick, "end": end}
    if stats:
        text = _dumps(stats)
        head["stats"] = stats if len(text) <= MAX_STATS_BYTES else {
            k: v for k, v in stats.items() if isinstance(v, int | float | bool | None)}
    return _dumps(head)[:-1]  # open: the record lists follow


@dataclass(slots=True)
class Encoder:
    """Cuts one sensor run's batches into messages of at most ``max_bytes``, numbering them from 0.

    A record larger than a message can carry, or holding a value JSON cannot (NaN), is dropped and
    counted in :attr:`dropped`.
    """

    site: str
    run: str
    source: str
    max_bytes: int = MAX_MESSAGE_BYTES
    seq: int = 0
    dropped: int = 0

    def batch(self, observations: Iterable[Observation], flows: Iterable[Flow], *, tick: float | None,
              packets: int = 0, end: bool = False, stats: dict[str, Any] | None = None) -> list[tuple[str, bytes]]:
        """(message id, payload) of each message of one batch, in order; always at least one when ``end``."""
        budget = self.max_bytes - ENVELOPE_RESERVE - (min(len(_dumps(stats)), MAX_STATS_BYTES) if stats else 0)
        parts: list[tuple[list[str], list[str]]] = [([], [])]
        size = 0
        for index, records in ((0, (o.to_dict() for o in observations)), (1, (f.to_dict() for f in flows))):
            for record in records:
                try:
                    text = _dumps(record)
                except ValueError:  # NaN or infinity somewhere: not JSON
                    text = ""
                if not text or len(text) + 1 > budget:
                    self.dropped += 1
                    continue
                if size + len(text) + 1 > budget:
                    parts.append(([], []))
                    size = 0
                parts[-1][index].append(text)
                size += len(text) + 1
        if not end and parts == [([], [])] and tick is None and not packets:
            return []
        out = []
        for i, (obs, fls) in enumerate(parts):
            last = i == len(parts) - 1
            head = _envelope(self.site, self.run, self.seq, source=self.source, packets=packets if last else 0,
                             tick=tick if last else None, end=end and last, stats=stats if end and last else None)
            payload = f'{head},"observations":[{",".join(obs)}],"flows":[{",".join(fls)}]}}'.encode()
            out.append((f"{self.site}:{self.run}:{self.seq}", payload))
            self.seq += 1
        return out


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _observation(item: Any) -> Observation:
    if not isinstance(item, dict):
        raise ParseError("observation is not an object")
    if not _number(item.get("ts")) or not isinstance(item.get("proto"), str) or not isinstance(item.get("kind"), str):
        raise ParseError("observation needs ts, proto and kind")
    if item.get("subject", "src") not in ("src", "dst") or not isinstance(item.get("fields", {}), dict):
        raise ParseError("observation subject or fields malformed")
    for name in _OBS_OPTIONAL_STR:
        if item.get(name) is not None and not isinstance(item[name], str):
            raise ParseError(f"observation {name} is not text")
    for name in _OBS_OPTIONAL_INT:
        if item.get(name) is not None and not _int(item[name]):
            raise ParseError(f"observation {name} is not an integer")
    vni = item.get("vni")  # VXLAN/Geneve VNIs, outermost first: at most two are kept (engine/decode.py)
    if vni is not None and not (isinstance(vni, list) and len(vni) <= MAX_VNIS and all(_int(v) for v in vni)):
        raise ParseError("observation vni is not a list of integers")
    return Observation.from_dict(item)


def _flow(item: Any) -> Flow:
    if not isinstance(item, dict):
        raise ParseError("flow is not an object")
    if not all(_int(item.get(n, 0)) for n in _FLOW_INTS) or not _int(item.get("ip_proto")):
        raise ParseError("flow counters must be integers")
    if not isinstance(item.get("a_ip"), str) or not isinstance(item.get("b_ip"), str):
        raise ParseError("flow addresses must be text")
    if not _number(item.get("first_seen")) or not _number(item.get("last_seen")):
        raise ParseError("flow times must be numbers")
    if not all(item.get(n) is None or isinstance(item[n], str) for n in ("a_mac", "b_mac", "app", "end_reason")):
        raise ParseError("flow MACs, app and end reason must be text")
    if not isinstance(item.get("extra", {}), dict) or not _int(item.get("a_port")) or not _int(item.get("b_port")):
        raise ParseError("flow ports or extra malformed")
    return Flow.from_dict(item)


def decode(payload: bytes) -> RecordMessage:
    """A message's records; :class:`ParseError` when the envelope is not one (records failing their
    checks are skipped and counted in ``malformed``)."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ParseError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ParseError(f"not an {SCHEMA} message")
    site, run, seq = doc.get("site"), doc.get("run"), doc.get("seq")
    if not isinstance(site, str) or not isinstance(run, str) or not _int(seq) or seq < 0 or not run:
        raise ParseError("site, run and seq are required")
    tick, packets, stats = doc.get("tick"), doc.get("packets", 0), doc.get("stats", {})
    if (tick is not None and not _number(tick)) or not _int(packets) or packets < 0 or not isinstance(stats, dict):
        raise ParseError("tick, packets or stats malformed")
    obs, flows = doc.get("observations", []), doc.get("flows", [])
    if not isinstance(obs, list) or not isinstance(flows, list):
        raise ParseError("observations and flows must be lists")
    msg = RecordMessage(site=site, run=run, seq=seq, source=str(doc.get("source", ""))[:MAX_SOURCE_LEN],
                        packets=packets, tick=float(tick) if tick is not None else None, end=doc.get("end") is True,
                        stats=stats)
    for item in obs:
        try:
            msg.observations.append(_observation(item))
        except (ParseError, TypeError, ValueError):
            msg.malformed += 1
    for item in flows:
        try:
            msg.flows.append(_flow(item))
        except (ParseError, TypeError, ValueError):
            msg.malformed += 1
    return msg


