"""The alert pipeline: deduplication and aggregation, severity, suppression rules and lifecycle.

Detectors put raw detections in ``ctx.alerts``; the pipeline (the last analyzer) drains them once per
tick: a detection whose (detector id, subject, key) has an open alert seen within ``window_s`` adds
to that alert (count, time span, highest severity, bounded evidence), else it opens a new alert.
Suppression rules (YAML) mark matching alerts ``suppressed``: kept and stored, never exported.
Subscribers (the monitor's printer and exporters) hear each new alert once. At ``done``
``ctx.alerts`` holds every aggregated alert of the run.
"""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import yaml

from iotwarden import inputfile
from iotwarden.errors import ConfigError, describe
from iotwarden.hooks import Context
from iotwarden.model.alert import ALERT_STATUSES, Alert
from iotwarden.model.epoch import showable
from iotwarden.model.finding import SEVERITIES

WINDOW_S = 3600.0  # repeats within this long of an alert's last sighting aggregate into it
MAX_OPEN = 10_000  # open alert groups kept for aggregation; the least recently seen are retired
MAX_EVIDENCE = 16  # flows and observations kept per alert (the first ones: they show how it began)
MAX_RAW_PER_TICK = 100_000  # raw detections drained per tick; past it they are counted and dropped
MAX_KEPT = 100_000  # alerts listed in ``alerts`` for the run's end; a long monitor run keeps the newest
MAX_SUPPRESSION_BYTES = 4 << 20  # a suppression rules file larger than this is refused before it is read
TRANSITIONS = {"new": {"acknowledged", "closed"}, "acknowledged": {"closed"}, "closed": set()}
Subscriber = Callable[[Alert], None]


@dataclass(frozen=True, slots=True)
class Suppression:
    """Silence alerts matching every given criterion: ``detector`` (a glob over ids), ``device``
    (a device key), ``cidr`` (the alert's source or destination address), until ``until`` (epoch)."""

    detector: str = "*"
    device: str | None = None
    cidr: str | None = None
    until: float | None = None
    reason: str = ""

    def matches(self, alert: Alert, now: float) -> bool:
        if self.until is not None and now > self.until:
            return False
        if not fnmatch.fnmatchcase(alert.id, self.detector):
            return False
        if self.device is not None and alert.subject != self.device:
            return False
        if self.cidr is not None:
            net = ipaddress.ip_network(self.cidr, strict=False)
            addrs = [a for a in (alert.src_ip, alert.dst_ip) if a]
            return any(_in(a, net) for a in addrs)
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"detector": self.detector, "device": self.device, "cidr": self.cidr, "until": self.until,
                "reason": self.reason}


def _in(addr: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(addr) in net
    except ValueError:
        return False


def _until(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        ts = float(value)
    elif isinstance(value, datetime):
        ts = (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{where}.until: an ISO 8601 time or epoch seconds, got {value!r}") from None
        ts = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    if not showable(ts):  # NaN never expired (now > NaN is false), as a rule past the year 9999 never does
        raise ConfigError(f"{where}.until: a time within the years 1 to 9999, got {value!r}")
    return ts


def parse_suppressions(data: Any, source: str = "suppressions") -> list[Suppression]:
    """Rules from parsed YAML: a list of mappings (or ``{suppressions: [...]}``); errors name the entry.

    A mapping with other keys is refused, not read as no rules: a misspelt key would silence nothing, and
    ``alerts suppress --rules`` would write its one rule over the file (a policy or scenario named by mistake)."""
    if isinstance(data, dict):
        other = sorted(str(k) for k in set(data) - {"suppressions"})
        if other:
            raise ConfigError(f"{source}: unknown keys {', '.join(other)} (expected 'suppressions')")
        data = data.get("suppressions", [])
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(f"{source}: expected a list of suppression rules")
    out = []
    for i, entry in enumerate(data):
        where = f"{source}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        unknown = set(entry) - {"detector", "device", "cidr", "until", "reason"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        cidr = entry.get("cidr")
        if cidr is not None:
            try:
                ipaddress.ip_network(str(cidr), strict=False)
            except ValueError:
                raise ConfigError(f"{where}.cidr: not a network: {cidr!r}") from None
        if not any(entry.get(k) for k in ("detector", "device", "cidr")):
            raise ConfigError(f"{where}: name at least one of detector, device, cidr")
        out.append(Suppression(str(entry.get("detector") or "*"), entry.get("device"),
                               str(cidr) if cidr is not None else None, _until(entry.get("until"), where),
                               str(entry.get("reason", ""))))
    return out


def load_suppressions(path: Path) -> list[Suppression]:
    """Suppression rules from a YAML file (at most MAX_SUPPRESSION_BYTES); ConfigError naming what is wrong."""
    try:
        text = inputfile.read_text(path, MAX_SUPPRESSION_BYTES)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read suppression rules {path}: {describe(exc)}") from None
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {describe(exc)}") from None
    return parse_suppressions(data, str(path))


def transition(alert: Alert, status: str) -> None:
    """Move an alert along its lifecycle new -> acknowledged -> closed (new -> closed allowed)."""
    if status not in ALERT_STATUSES:
        raise ConfigError(f"unknown alert status {status!r}: one of {', '.join(ALERT_STATUSES)}")
    if status != alert.status and status not in TRANSITIONS[alert.status]:
        raise ConfigError(f"alert {alert.uid or alert.id} is {alert.status}; cannot become {status}")
    alert.status = status


def alert_uid(alert: Alert) -> str:
    """Stable id of one alert instance: its group and the time it opened."""
    text = f"{alert.id}|{alert.subject}|{alert.key}|{alert.first_seen:.6f}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class AlertPipeline:
    """Analyzer "alerts": aggregates ``ctx.alerts`` into alerts and tells subscribers of new ones."""

    name: ClassVar[str] = "alerts"

    def __init__(self, suppressions: Iterable[Suppression] = (), *, window_s: float = WINDOW_S,
                 max_open: int = MAX_OPEN) -> None:
        self.suppressions = list(suppressions)
        self.window_s, self.max_open = window_s, max_open
        self._open: OrderedDict[tuple[str, str, str], Alert] = OrderedDict()
        self.alerts: list[Alert] = []  # the run's alerts in the order they opened (newest MAX_KEPT)
        self._dirty: dict[str, Alert] = {}  # opened or changed since the last take_dirty()
        self.subscribers: list[Subscriber] = []
        self.dropped = 0  # raw detections dropped by MAX_RAW_PER_TICK
        self.retired = 0  # groups retired from aggregation by ``max_open``

    def subscribe(self, fn: Subscriber) -> None:
        self.subscribers.append(fn)

    def take_dirty(self) -> list[Alert]:
        """The alerts opened or updated since the last call (what a long run must store again)."""
        out, self._dirty = list(self._dirty.values()), {}
        return out

    def on_tick(self, ctx: Context, ts: float) -> None:
        self.drain(ctx)

    def done(self, ctx: Context) -> None:
        self.drain(ctx)
        ctx.alerts[:] = self.alerts

    def drain(self, ctx: Context) -> list[Alert]:
        """Fold the raw detections waiting in ``ctx.alerts`` in; returns the alerts opened."""
        raw = [a for a in ctx.alerts if not a.uid]
        ctx.alerts[:] = [a for a in ctx.alerts if a.uid]  # after done(): the aggregated ones stay
        if len(raw) > MAX_RAW_PER_TICK:
            self.dropped += len(raw) - MAX_RAW_PER_TICK
            raw = raw[:MAX_RAW_PER_TICK]
        opened = []
        for det in sorted(raw, key=lambda a: a.first_seen):
            alert = self.add(det, ctx.now or det.last_seen)
            if alert is not None:
                opened.append(alert)
        for alert in opened:
            if not alert.suppressed:
                for fn in self.subscribers:
                    fn(alert)
        return opened

    def add(self, det: Alert, now: float) -> Alert | None:
        """Aggregate one detection; returns the alert when it opened a new one."""
        current = self._open.get(det.group)
        if current is not None and current.status != "closed" and det.first_seen - current.last_seen <= self.window_s:
            _merge(current, det)
            self._open.move_to_end(det.group)
            self._dirty[current.uid] = current
            return None
        det.flows, det.observations = det.flows[:MAX_EVIDENCE], det.observations[:MAX_EVIDENCE]
        det.uid = alert_uid(det)
        det.suppressed = any(rule.matches(det, now) for rule in self.suppressions)
        self._open[det.group] = det
        self._open.move_to_end(det.group)
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)
            self.retired += 1
        self.alerts.append(det)
        if len(self.alerts) > MAX_KEPT:
            del self.alerts[: len(self.alerts) - MAX_KEPT]
        self._dirty[det.uid] = det
        return det


def _merge(into: Alert, det: Alert) -> None:
    into.count += det.count
    into.first_seen = min(into.first_seen, det.first_seen)
    into.last_seen = max(into.last_seen, det.last_seen)
    if SEVERITIES.index(det.severity) > SEVERITIES.index(into.severity):
        into.severity, into.title = det.severity, det.title
    into.flows.extend(det.flows[: max(0, MAX_EVIDENCE - len(into.flows))])
    into.observations.extend(det.observations[: max(0, MAX_EVIDENCE - len(into.observations))])
    for k, v in det.evidence.items():
        if isinstance(v, int | float) and not isinstance(v, bool) and isinstance(into.evidence.get(k), int | float):
            into.evidence[k] = max(into.evidence[k], v)
        else:
            into.evidence.setdefault(k, v)
