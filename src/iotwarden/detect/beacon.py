"""C2 beaconing: connections from one host to one destination at regular intervals (flows alone).

Id ``detect.c2.beaconing`` (ATT&CK T1071 Application Layer Protocol, T1573; periodic check-ins are
the C2 pattern of T1029 Scheduled Transfer). For each (source, destination, port) the start times of
the last ``max_intervals`` flows are kept; the series is a beacon when at least ``min_intervals``
intervals have a coefficient of variation (standard deviation / mean, after dropping the longest
``trim`` share: missed check-ins) below ``max_jitter``. Sources are internal hosts. Destinations the
device contacted while learning are its normal heartbeats (cloud services), named by the DNS name
that resolved to them when one was seen, so a service rotating its addresses stays known (a site
address by an answer seen within its broadcast domain: two VLANs may each resolve a name to their own
10.0.0.9; an outside address by any). A
suspicious outside destination is never learned, so a device already compromised when monitoring starts
is still caught: over TCP (the channel of every IoT family documented; periodic UDP to odd ports is
P2P camera relays and NAT keep-alives), a port outside :data:`~iotwarden.detect.base.SERVICE_PORTS`
(T1571; device clouds use web, MQTT and push ports), or an address no DNS answer named when this device's other
destinations were named, or an address the device's HTTP requests name as a literal in ``Host``
(RFC 9110 §7.2: a client names the host it was told to reach) (a hard-coded C&C address, as
Gafgyt/Bashlite and Muhstik carry; only where DNS answers or HTTP headers are visible: pcaps, Zeek
dns.log/http.log, not a bare conn.log).
A connect is one TCP connection attempt: Zeek logs an unanswered SYN's later retransmissions as
further records of the same source port (:func:`~iotwarden.detect.series.same_socket`, the rule
``detect.c2.callback`` counts by), which are no connects; counted, a connect that times out would
beat every 8 s. A beat is one round of connects: a client opening several sockets per poll starts
them within milliseconds to a couple of seconds of each other (RFC 8305 §5, Happy Eyeballs: 250 ms
recommended between attempts, 2 s at most), so connects to one destination starting within
``round_s`` (3 s) of the previous one are one beat, timed by the round's first connect; counted
connect by connect, the long gaps between polls were trimmed as missed check-ins and a device polling
every 200 s with three sockets 2 s apart read as a beacon every 2 s. 3 s stays under the fastest
fixed C&C pace documented (Gafgyt retries every 5 s), so periods under it read as one round. Rounds
are formed when a series is judged, over its start times sorted (flows come as they end, not as they
start), so the order records arrive in never splits one. A series keeps its latest ``max_intervals + 1``
rounds (counted as connects come: a connect ``round_s`` or more from the one before opens a round), at most
``max_connects`` connects: a poll of seven sockets at once is judged as a poll of one is. A TCP connect
begun near the end of the
device's learning phase to a destination learned there is kept as a socket in flight, no beat, so its
SYN retransmissions logged after the phase are no beats either.
A TCP series to an outside host on a port outside SERVICE_PORTS (T1571) whose intervals vary more, up to
``max_wide_jitter``, is a beacon too once it has ``min_wide_intervals`` intervals: a C&C check-in randomised by up
to ±50% (a coefficient of variation of 0.29, 0.26 with the longest fifth trimmed) escaped ``max_jitter``, while
check-ins at random (Poisson) stay near 0.7 once trimmed: of 300 Poisson series of 40 connects to an odd port, the
same 3 are raised with and without this rule (by ``max_jitter`` on a short run), of 300 jittered by ±50% all 300
(162 without).
A slow series to the same kind of destination (TCP, outside, a port outside SERVICE_PORTS) is judged before it
has ``min_intervals``: once it has ``min_slow_intervals`` (2) intervals averaging ``slow_period_s`` (20 min) or more,
it is a beacon when their coefficient of variation is under ``max_slow_jitter`` (0.1): a C&C checking in every 30-50 min
beats three to six times in three hours and never reached seven beats, while no device of the real captures
(../shared/data labeled_locks_cams and nku_lifecycle, 50 device-days, judged with no learning at three beats) has
such a series: the locks' hubs check in every ~30 min over MQTT (1883/8883), the Xiaodu plug over 443
(docs/detection.md, "Measured").
A slow series of two periods is judged the same way from ``min_two_mode_intervals`` (4): a check-in alternating between
two sleeps (30, 45, 30, 45 min) or drawing its sleep from a set of two varies by 0.2 at any length, twice
``max_slow_jitter``, and waited for ``min_intervals`` (its tenth to thirteenth beat); its intervals are a beacon when,
split at the widest step between them sorted, each side holds two or more that vary less than ``max_slow_jitter``.
Intervals at random (Poisson) pass that by chance in 2.3% of series at four intervals, 0.9% at five (the slow rule's
two intervals: 10%). A steady slow check to an outside odd port that is benign (a licence server, lmgrd on 27000,
checked hourly) is, from flows, what a slow C&C is: raised at its third beat, once; the destination then joins the
device's normal, so over days it is one alert, not one a day. More beats would lose the slow C&C that beats three to six
times in a lab day (the recall runs); a site's own such servers are a suppression.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from iotwarden.detect.base import (
    COUNT,
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
    text,
)
from iotwarden.detect.baseline import LEARN_S, Novelty
from iotwarden.detect.c2_download import ip_literal
from iotwarden.detect.series import RECENT_SOCKETS, SOCKET_S, Sockets, earlier_sockets, same_socket
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation

BEACON = "detect.c2.beaconing"
INFRA_PORTS = frozenset({53, 67, 68, 123, 137, 138, 1900, 5353, 5355})  # DNS, DHCP, NTP, NetBIOS, SSDP, mDNS


@dataclass(frozen=True)
class BeaconOptions(Options):
    min_intervals: int = 6  # intervals needed before judging a series
    max_intervals: int = 32  # rounds (beats) kept per series, one more than this
    max_connects: int = 128  # connects kept per series at most (a round of k sockets takes k)
    round_s: float = 3.0  # a connect starting within this of the previous one is the same round (beat)
    max_jitter: float = 0.2  # coefficient of variation of the intervals below which it is a beacon
    trim: float = 0.2  # share of the longest intervals ignored (missed beacons, capture gaps)
    max_wide_jitter: float = 0.3  # the same, to an outside host's port outside SERVICE_PORTS over TCP ...
    min_wide_intervals: int = 12  # ... once the series has this many intervals
    min_slow_intervals: int = 2  # intervals that judge a slow series to such a destination before min_intervals ...
    slow_period_s: float = 1200.0  # ... when they average this long or longer ...
    max_slow_jitter: float = 0.1  # ... and vary less than this (coefficient of variation, untrimmed)
    min_two_mode_intervals: int = 4  # intervals that judge such a slow series of two periods (each taken twice)
    min_period_s: float = 1.0  # faster than this is a stream, not a beacon
    max_period_s: float = 6 * 3600.0
    learn_s: float = LEARN_S  # heartbeats to named or internal destinations during learning are normal
    max_series: int = 200_000  # (source, destination, port) series tracked (LRU)
    max_names: int = 100_000  # resolved addresses remembered (DNS answers; a site one per broadcast domain)
    max_named_devices: int = 100_000  # devices known to reach named destinations (LRU)
    max_literal_hosts: int = 100_000  # (device, address) pairs whose HTTP Host was that address (LRU)
    bounds: ClassVar[dict[str, Range]] = {"min_intervals": (2, COUNT[1]), "max_intervals": (2, 100_000),
                                          "max_connects": (2, 100_000),
                                          "round_s": DURATION, "max_jitter": (0.0, 100.0), "trim": (0.0, 0.9),
                                          "max_wide_jitter": (0.0, 100.0), "min_wide_intervals": (2, COUNT[1]),
                                          "min_slow_intervals": (2, COUNT[1]), "slow_period_s": SECONDS,
                                          "max_slow_jitter": (0.0, 100.0), "min_two_mode_intervals": (4, COUNT[1]),
                                          "min_period_s": SECONDS, "max_period_s": SECONDS, "learn_s": DURATION,
                                          "max_series": ENTRIES, "max_names": ENTRIES, "max_named_devices": ENTRIES,
                                          "max_literal_hosts": ENTRIES}


@dataclass(slots=True)
class Beats:
    """A series of two connects or more: their start times, in the order they came, the latest one's
    source port and the earlier ones still in flight (their later records, SYN retransmissions logged
    apart, are not connects). No times and a socket in ``earlier``: a connect begun in the learning
    phase, which is no beat."""

    times: list[float]
    sport: int
    earlier: Sockets = ()
    rounds: int = 0  # rounds among ``times``, counted as they come (a start round_s or more from the last)


class BeaconDetector(Detector):
    observes = frozenset({"dns", "http"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.c2"
    ids: ClassVar[tuple[str, ...]] = (BEACON,)
    defaults: ClassVar[Options] = BeaconOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        # per series its Beats, or the (start time, source port) of a series of one flow: most are (a
        # scan's targets), and a bounded deque would cost ~10x their memory
        self._series: OrderedDict[tuple[str, str, int], Beats | tuple[float, int]] = OrderedDict()
        # address (a site one within its broadcast domain, site_host) -> a name that resolved to it
        self._names: OrderedDict[str, str] = OrderedDict()
        self._naming: OrderedDict[str, None] = OrderedDict()  # devices seen reaching a named destination
        self._literal: OrderedDict[tuple[str, str], None] = OrderedDict()  # HTTP Host: a bare address
        self.normal = Novelty(learn_s=self.options.learn_s)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto == "http" and obs.kind == "request" and obs.src_ip and obs.dst_ip:
            host = text(obs.fields.get("host"))
            if host and ip_literal(host) and external(obs.dst_ip):
                pair = (site_host(obs.src_ip, obs.domain), obs.dst_ip)  # the device within its broadcast domain
                self._literal[pair] = None
                self._literal.move_to_end(pair)
                if len(self._literal) > self.options.max_literal_hosts:
                    self._literal.popitem(last=False)
            return
        if obs.proto != "dns" or obs.kind != "response":
            return
        answers = obs.fields.get("answers")
        domain = obs.domain
        for answer in answers if isinstance(answers, list) else ():
            if isinstance(answer, dict) and answer.get("type") in ("A", "AAAA") and isinstance(answer.get("data"), str):
                # a site address names a host within its broadcast domain only: two VLANs or VPCs may resolve
                # one name to their own 10.0.0.9, or mean two hosts by one 10.0.0.9 (site_host); outside, global
                at = site_host(answer["data"], domain) if domain else answer["data"]
                self._names[at] = str(answer.get("name", ""))
                self._names.move_to_end(at)
                if len(self._names) > self.options.max_names:
                    self._names.popitem(last=False)

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # per batch, the series look-up inline: a scan's probes each start a new series here
        o: BeaconOptions = self.options
        normal, table, names, naming = self.normal, self._series, self._names, self._naming
        limit, keep, judge_at = o.max_series, o.max_intervals + 1, o.min_intervals + 1
        slow_at, slow_s = min(o.min_slow_intervals + 1, judge_at), o.slow_period_s
        cap, round_s = max(o.max_connects, keep), o.round_s
        one_time = keep >= 1 and judge_at > 1  # a series of one start time: kept as it is, never judged
        touch, learn_s, beats_of = normal.touch, normal.learn_s, self._beats_of
        for flow in flows:
            if not is_internal(flow.a_ip):
                continue
            # a device is its address within its broadcast domain (site_host): two VLANs' 10.0.0.5 are two
            src = site_host(flow.a_ip, domain) if (domain := flow_domain(flow)) else flow.a_ip
            ts, port = flow.first_seen, flow.b_port
            since = ts - touch(src, ts).start
            learning = since < learn_s  # the learning phase runs from the device's first flow
            if flow.ip_proto not in (6, 17) or port in INFRA_PORTS:
                continue
            name = names.get(site_host(flow.b_ip, domain) if domain else flow.b_ip)  # as on_observation keys it
            if name is not None:
                naming[src] = None
                naming.move_to_end(src)
                if len(naming) > o.max_named_devices:
                    naming.popitem(last=False)
            # a suspicious destination is never learned; asked only while learning (a scan's millions
            # of targets would each be classified for nothing), cheap tests first
            if learning and not (
                    flow.ip_proto == 6 and (port not in SERVICE_PORTS or (name is None and (
                        src in naming or (src, flow.b_ip) in self._literal))) and external(flow.b_ip)):
                for item in _items(flow, name):  # contacted while learning: normal, by address and by name
                    normal.remember(src, item, ts)
                if flow.ip_proto == 6 and since > learn_s - SOCKET_S:  # retransmitted after learning: no beat
                    self._learned_socket((src, flow.b_ip, port), flow)
                continue
            key = (src, flow.b_ip, port)
            held = table.get(key)
            if held is None and one_time:
                table[key] = (ts, flow.a_port)
                if len(table) > limit:
                    table.popitem(last=False)
                continue
            beats = held if isinstance(held, Beats) else beats_of(key, held)
            table.move_to_end(key)
            times = beats.times
            if flow.ip_proto == 6 and (times or beats.earlier):
                latest = times[-1] if times else -np.inf  # no times: only a socket begun while learning
                if same_socket(flow, beats.sport, latest, earlier=beats.earlier):
                    continue  # a recent connect's SYN retransmitted, logged apart by Zeek
                beats.earlier = earlier_sockets(beats.sport, latest, beats.earlier, ts)
            if not times or abs(ts - times[-1]) >= round_s:
                beats.rounds += 1
            times.append(ts)
            beats.sport = flow.a_port
            while beats.rounds > keep or len(times) > cap:  # the oldest round goes, connect by connect
                if len(times) == 1 or abs(times[1] - times[0]) >= round_s:
                    beats.rounds -= 1
                del times[0]
            if beats.rounds >= judge_at or (
                    beats.rounds >= slow_at and ts - times[0] >= slow_s * (beats.rounds - 1) and _odd(flow)):
                self._judge(ctx, flow, name, times)

    def flow(self, ctx: Context, flow: Flow) -> None:
        self.flows(ctx, [flow])

    def _beats_of(self, key: tuple[str, str, int], held: object) -> Beats:
        """The series of ``key`` as Beats: a new one (the table bounded by max_series), or one grown from
        a series of one start time, or the one held."""
        table = self._series
        if held is None:
            beats = table[key] = Beats([], -1)
            if len(table) > self.options.max_series:
                table.popitem(last=False)
            return beats
        if isinstance(held, Beats):
            return held
        assert isinstance(held, tuple)  # a series of one: (start, source port)
        beats = table[key] = Beats([held[0]], held[1], rounds=1)
        return beats

    def _learned_socket(self, key: tuple[str, str, int], flow: Flow) -> None:
        """Keep a connect begun near the end of the learning phase as a socket in flight of its series,
        not a beat: its SYN retransmissions, logged apart, may come after the phase has ended."""
        beats = self._beats_of(key, self._series.get(key))
        self._series.move_to_end(key)
        if not same_socket(flow, beats.sport, beats.times[-1] if beats.times else -np.inf, earlier=beats.earlier):
            # newest first, at most RECENT_SOCKETS - 1, as earlier_sockets keeps them (a record of a socket
            # already kept, a retransmission still in the phase, is not added again)
            beats.earlier = (flow.a_port, flow.first_seen, *beats.earlier)[:2 * (RECENT_SOCKETS - 1)]

    def _judge(self, ctx: Context, flow: Flow, name: str | None, times: list[float]) -> None:
        """A series long enough to judge: a beacon raised when its intervals are regular and new."""
        o: BeaconOptions = self.options
        src = site_host(flow.a_ip, domain) if (domain := flow_domain(flow)) else flow.a_ip
        items = _items(flow, name)
        # a destination the device's normal holds is never raised: asked first (a pure look-up), it spares
        # the interval statistics of every regular series the device was seen using while learning (a
        # device's cloud polling, judged at each of its connects)
        if any(self.normal.known(src, item) for item in items):
            return
        starts = np.sort(np.fromiter(times, dtype=np.float64))
        # a round's first connect is its beat: the first start, and each one round_s or more after the
        # start before it (the rest are the round's further sockets)
        beats = np.concatenate((starts[:1], starts[1:][np.diff(starts) >= o.round_s]))
        gaps = np.diff(beats)
        gaps = gaps[gaps > 0]
        if gaps.size < o.min_intervals and not (gaps.size >= o.min_slow_intervals and _odd(flow)):
            return
        kept = np.sort(gaps)[: max(o.min_intervals, round(gaps.size * (1 - o.trim)))]
        period = float(kept.mean())
        if not o.min_period_s <= period <= o.max_period_s:
            return
        jitter = float(kept.std() / period)
        modes = None
        if (gaps.size < o.min_intervals and (period < o.slow_period_s or jitter >= o.max_slow_jitter)) or (
                jitter >= o.max_jitter and not (
                    jitter < o.max_wide_jitter and gaps.size >= o.min_wide_intervals and _odd(flow))):
            # a slow series judged early (min_slow_intervals) is slow and steady, or nothing yet; past min_intervals
            # regular enough, or nothing: either way, a slow series of two periods to such a destination is a beacon
            modes = self._two_modes(gaps, flow)
            if modes is None:
                return
            period, jitter = float(gaps.mean()), float(gaps.std() / gaps.mean())
        for item in items:  # reported once, then part of the normal
            self.normal.remember(src, item, flow.first_seen)
        # the series starts over from this beat, whose start (with the series' source port and its
        # attempts still in flight) tells its socket's later records, SYN retransmissions, from new beats
        del times[:-1]
        self.raise_alert(ctx, BEACON, title=f"{flow.a_ip} beacons to {name or flow.b_ip}:{flow.b_port} every "
                         f"{period:.0f}s", severity="medium" if name else "high",
                         subject=initiator(ctx, flow),
                         ts=flow.first_seen, key=f"{name or flow.b_ip}:{flow.b_port}", mitre=("T1071", "T1029"),
                         src_ip=flow.a_ip, dst_ip=flow.b_ip,
                         evidence={"period_s": round(period, 3), "jitter": round(jitter, 4),
                                   "connections": int(starts.size), "beats": int(gaps.size + 1), "name": name,
                                   **({"periods_s": [round(m, 3) for m in modes]} if modes else {})},
                         flows=[flow])

    def _two_modes(self, gaps: np.ndarray, flow: Flow) -> tuple[float, float] | None:
        """The two periods of a slow series to an outside odd port (``_odd``) whose intervals keep to two values: split
        at the widest step between them sorted, each side two intervals or more varying less than
        ``max_slow_jitter`` and the whole averaging ``slow_period_s`` or more (``min_two_mode_intervals`` at least);
        else None."""
        o: BeaconOptions = self.options
        if gaps.size < o.min_two_mode_intervals or not _odd(flow) or gaps.mean() < o.slow_period_s:
            return None
        ordered = np.sort(gaps)
        cut = int(np.argmax(np.diff(ordered))) + 1
        low, high = ordered[:cut], ordered[cut:]
        if low.size < 2 or high.size < 2 or low.std() >= o.max_slow_jitter * low.mean() or (
                high.std() >= o.max_slow_jitter * high.mean()):
            return None
        return float(low.mean()), float(high.mean())


def _odd(flow: Flow) -> bool:
    """A TCP connection to an outside host's port outside SERVICE_PORTS (T1571): where the wide and slow rules look."""
    return flow.ip_proto == 6 and flow.b_port not in SERVICE_PORTS and external(flow.b_ip)


def _items(flow: Flow, name: str | None) -> list[tuple[str, int]]:
    """What a device's normal holds for a destination: its address and port, and its DNS name and port."""
    return [(flow.b_ip, flow.b_port)] + ([(name, flow.b_port)] if name else [])
