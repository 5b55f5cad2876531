"""Held C&C sessions: a device keeping a long, nearly silent TCP session open to an outside host on a
port no device cloud uses.

Id ``detect.c2.session`` (ATT&CK T1071 Application Layer Protocol, T1571 Non-Standard Port). Needs no
learned normal. IoT bots hold their C&C connection open and idle between commands: Mirai's bot
sends a 2-byte keep-alive a minute on tcp/23 or its variant's port (``bot/main.c``), Gafgyt answers
its server's PING, IRC bots (Muhstik, Kaiten) sit in a channel on 6667 or an odd port. A flow from an
internal host to an outside host's port outside :data:`~iotwarden.detect.base.SERVICE_PORTS` that
lasted ``min_duration_s`` or more, carried data both ways, and averaged at most ``max_rate`` payload
bytes a second is such a session. Device clouds hold sessions like this too, but on web, MQTT and
push ports (kept out); a streaming or bulk session is not quiet.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import (
    DURATION,
    ENTRIES,
    SECONDS,
    SERVICE_PORTS,
    Detector,
    Options,
    Range,
    external,
    flow_domain,
    initiator,
    is_internal,
    site_host,
)
from iotwarden.hooks import Context
from iotwarden.model import Flow

SESSION = "detect.c2.session"


@dataclass(frozen=True)
class SessionOptions(Options):
    min_duration_s: float = 600.0  # a session held at least this long (ten Mirai keep-alives)
    max_rate: float = 16.0  # payload bytes a second, both ways, at most: idle but for keep-alives
    realert_s: float = 86400.0  # the same device, host and port is reported again after this long
    max_sessions: int = 100_000  # (device, host, port) reported, remembered (LRU)
    bounds: ClassVar[dict[str, Range]] = {"min_duration_s": SECONDS, "max_rate": (0.0, 1e12), "realert_s": DURATION,
                                          "max_sessions": ENTRIES}


class SessionDetector(Detector):
    name: ClassVar[str] = "detect.c2_session"
    ids: ClassVar[tuple[str, ...]] = (SESSION,)
    defaults: ClassVar[Options] = SessionOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._raised: OrderedDict[tuple[str, str, int], float] = OrderedDict()

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # flow() judges only sessions with payload both ways: a scan's empty probes are passed over here
        for flow in flows:
            if flow.payload_ab and flow.payload_ba:
                self.flow(ctx, flow)

    def flow(self, ctx: Context, flow: Flow) -> None:
        o: SessionOptions = self.options
        duration = flow.duration
        if (flow.ip_proto != 6 or flow.b_port in SERVICE_PORTS or duration < o.min_duration_s
                or not flow.payload_ab or not flow.payload_ba or not is_internal(flow.a_ip)
                or not external(flow.b_ip)):
            return
        rate = (flow.payload_ab + flow.payload_ba) / duration
        if rate > o.max_rate:
            return
        key = (site_host(flow.a_ip, flow_domain(flow)), flow.b_ip, flow.b_port)  # the device within its domain
        last = self._raised.get(key)
        if last is not None and flow.last_seen - last < o.realert_s:
            return
        self._raised[key] = flow.last_seen
        self._raised.move_to_end(key)
        if len(self._raised) > o.max_sessions:
            self._raised.popitem(last=False)
        self.raise_alert(ctx, SESSION, title=f"{flow.a_ip} holds a quiet session to {flow.b_ip}:{flow.b_port} "
                         f"({duration / 60:.0f} min, {rate:.1f} B/s)", severity="high",
                         subject=initiator(ctx, flow), ts=flow.first_seen,
                         key=f"{flow.b_ip}:{flow.b_port}", mitre=("T1071", "T1571"), src_ip=flow.a_ip,
                         dst_ip=flow.b_ip, evidence={"duration_s": round(duration, 3), "bytes_per_s": round(rate, 3),
                                                     "port": flow.b_port}, flows=[flow])
