"""C&C call-backs that keep coming: one device opening short, empty connections to one outside host
and port again and again, for minutes, at a human-free pace.

Id ``detect.c2.callback`` (ATT&CK T1071 Application Layer Protocol; T1571 Non-Standard Port when the
port is not a usual service port, :data:`~iotwarden.detect.base.SERVICE_PORTS`). Needs no learned
normal, so a device infected before monitoring started is caught. What it matches is how IoT bots
hold on to their C&C: Mirai's bot reconnects after ``sleep(rand % 10 + 1)`` seconds while its C&C
does not answer and sends its 2-byte keep-alive on the connection (Mirai source,
``bot/main.c: establish_connection``/``teardown_connection``); Gafgyt/Bashlite retries its
hard-coded server every 5 s (``initConnection``); Okiru, Hakai and Kenjiro derive from them. A
connection counts when the initiator's SYN was seen (a new connection, not the tail of a long one),
it carried at most ``max_payload`` bytes each way (unanswered, refused, reset, or a token exchange)
and lasted at most ``max_duration_s``. A connection is one socket: Zeek logs an unanswered SYN's
later retransmissions (Linux: 7, 15, 31 s after the first) as further S0 records of the same source
port (IoT-23 conn.log.labeled, captures 20-1, 42-1 and 44-1), so a record of the source port of the
series' latest attempt, or of one of its earlier attempts still in flight, within
:data:`~iotwarden.detect.series.SOCKET_S` (130 s) of that attempt's start is the same attempt, not a
new one: the kernel retransmits up to 63 s after the first SYN, past ``max_duration_s``, which bounds
one record's length; counting them would turn any connect that times out (a device whose cloud is
down) into a call every 8 s.
``min_connections`` of them to one host and port within
``window_s``, over at least ``min_span_s``, with a median gap between ``min_gap_s`` (floods are
faster) and ``max_gap_s`` make a call-back.
Benign devices reach their clouds with data-carrying sessions (TLS, MQTT) and, when the cloud is
down, back off exponentially to minutes (AWS IoT Device SDK: 1 s doubling to 128 s), which keeps
their median gap above ``max_gap_s`` once at the cap, and before it the later gaps more than
``max_slowdown`` times the earlier ones; bots retry at a fixed, short pace. A loop that goes on is
reported again every ``window_s / 2`` (one aggregated alert, its count growing).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from statistics import median
from typing import ClassVar

from iotwarden.detect.base import (
    BYTES,
    COUNT,
    DURATION,
    ENTRIES,
    SECONDS,
    SERVICE_PORTS,
    SYN,
    Detector,
    Options,
    Range,
    flow_domain,
    initiator,
    is_internal,
    outside,
    site_host,
)
from iotwarden.detect.series import SOCKET_S, Series, Triple, same_socket
from iotwarden.hooks import Context
from iotwarden.model import Flow

CALLBACK = "detect.c2.callback"
EVIDENCE_FLOWS = 8  # latest connections of a series kept to show with its alert


@dataclass(frozen=True)
class CallbackOptions(Options):
    window_s: float = 3600.0  # connections counted within this long of the latest
    min_connections: int = 10  # short connections to one host:port within the window
    min_span_s: float = 120.0  # from the first to the last of them: a loop, not a burst
    min_gap_s: float = 1.0  # median gap between them at least this (a flood is faster)
    max_gap_s: float = 30.0  # and at most this (device SDKs back off to minutes: AWS IoT's cap is 128 s)
    max_slowdown: float = 2.0  # median of the later half of the gaps over the earlier half's, at most
    max_payload: int = 64  # bytes each way a call-back connection carries at most
    max_duration_s: float = 60.0  # a call-back connection lasts at most this (SYN retries included)
    max_series: int = 100_000  # (device, host, port) series tracked (LRU)
    max_connections: int = 64  # start times kept per series
    bounds: ClassVar[dict[str, Range]] = {
        "window_s": SECONDS, "min_connections": COUNT, "min_span_s": DURATION, "min_gap_s": DURATION,
        "max_gap_s": SECONDS, "max_slowdown": (1.0, 1e6), "max_payload": BYTES, "max_duration_s": SECONDS,
        "max_series": ENTRIES, "max_connections": (2, 100_000)}


class CallbackDetector(Detector):
    name: ClassVar[str] = "detect.c2_callback"
    ids: ClassVar[tuple[str, ...]] = (CALLBACK,)
    defaults: ClassVar[Options] = CallbackOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        # per series its Series, or the (start time, source port) of a series of one connection that
        # holds no flow: most are (a scan's targets), and a Series with its two lists costs ~4x the memory
        self._series: OrderedDict[Triple, Series | tuple[float, int]] = OrderedDict()

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # the test of a short connection (a new TCP connection, initiator SYN seen, that carried next
        # to nothing and ended soon) and the series look-up inline, per batch: a scan's probes are
        # each a short connection to a new outside address, so most end here at a new series of one
        o: CallbackOptions = self.options
        table, limit = self._series, o.max_series
        max_payload, max_duration = o.max_payload, o.max_duration_s
        # what _judge does with a new series of one connection: keeps it, raises nothing
        one_is_kept = o.min_connections > 1 and o.window_s >= 0 and o.max_connections >= 1
        # an alert needs min_connections and shows the series' latest EVIDENCE_FLOWS flows: when that
        # is fewer, a series' first flow is never shown, so it is not held (a scan's probes go at once)
        hold_first = o.min_connections <= EVIDENCE_FLOWS
        for flow in flows:
            if (flow.ip_proto != 6 or not flow.tcp_flags_ab & SYN or flow.payload_ab > max_payload
                    or flow.payload_ba > max_payload or flow.last_seen - flow.first_seen > max_duration
                    or not is_internal(flow.a_ip)):
                continue
            # the device within its broadcast domain: two VLANs' 10.0.0.5 call back apart
            key = (site_host(flow.a_ip, domain) if (domain := flow_domain(flow)) else flow.a_ip, flow.b_ip, flow.b_port)
            held = table.get(key)
            if held is None:
                # a series exists only for an outside destination, so only a new one asks; uncached:
                # a scan's targets are each asked once
                if not outside(flow.b_ip):
                    continue
                if one_is_kept:
                    table[key] = (Series([flow.first_seen], [flow], sport=flow.a_port) if hold_first
                                  else (flow.first_seen, flow.a_port))
                    if len(table) > limit:
                        table.popitem(last=False)
                    continue
                series = table[key] = Series()
                if len(table) > limit:
                    table.popitem(last=False)
            else:
                table.move_to_end(key)
                if isinstance(held, tuple):  # a series of one flowless connection becomes a Series
                    series = table[key] = Series([held[0]], [], sport=held[1])
                else:
                    series = held
                if series.times and same_socket(flow, series.sport, series.times[-1], SOCKET_S, series.earlier):
                    continue  # the same socket's SYN retransmitted, logged apart by Zeek
            self._judge(ctx, flow, series)

    def flow(self, ctx: Context, flow: Flow) -> None:
        self.flows(ctx, [flow])

    def _judge(self, ctx: Context, flow: Flow, series: Series) -> None:
        """A short connection added to its series; a call-back raised when the series has become one."""
        o: CallbackOptions = self.options
        series.add(flow, keep_times=o.max_connections, keep_flows=EVIDENCE_FLOWS, within=SOCKET_S)
        now, times = flow.first_seen, series.times
        if times and now - times[0] > o.window_s:  # the oldest are out of the window (a series of one never is)
            del times[:next((i for i, t in enumerate(times) if now - t <= o.window_s), len(times))]
        if len(times) < o.min_connections or times[-1] - times[0] < o.min_span_s:
            return
        if series.raised is not None and now - series.raised < o.window_s / 2:
            # reported within half the window: a loop that goes on is told again twice a window, so each
            # report lands within the pipeline's aggregation window of the one before (WINDOW_S, the same
            # hour by default) and the loop stays one alert whose count grows, not a new alert an hour
            return
        # connects that start within min_gap_s of the one before are one round (a client opening two
        # sockets at once, or happy-eyeballs retries): judged by rounds, a backing-off device with two
        # connects per round does not read as a fixed pace of short gaps; a flood is all such gaps
        gaps = [g for a, b in zip(times, list(times)[1:], strict=False) if (g := b - a) >= o.min_gap_s]
        if not gaps or len(gaps) + 1 < o.min_connections:  # one round is no series
            return
        gap = median(gaps)
        half = len(gaps) // 2
        slowing = half > 0 and median(gaps[half:]) > o.max_slowdown * median(gaps[:half])  # one gap: no trend
        if not o.min_gap_s <= gap <= o.max_gap_s or slowing:
            return  # too fast (a flood), too slow, or slowing down (back-off)
        series.raised = now
        standard = flow.b_port in SERVICE_PORTS
        self.raise_alert(ctx, CALLBACK, title=f"{flow.a_ip} calls {flow.b_ip}:{flow.b_port} back again and again "
                         f"({len(times)} short connections, every {gap:.0f}s)",
                         severity="medium" if standard else "high",
                         subject=initiator(ctx, flow), ts=now,
                         key=f"{flow.b_ip}:{flow.b_port}", mitre=("T1071",) if standard else ("T1071", "T1571"),
                         src_ip=flow.a_ip, dst_ip=flow.b_ip,
                         evidence={"connections": len(times), "median_gap_s": round(gap, 3),
                                   "span_s": round(times[-1] - times[0], 3), "port": flow.b_port},
                         flows=list(series.flows))
