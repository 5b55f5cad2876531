"""Per-device behavioural baselines with a learning and an enforcing phase.

:class:`Novelty` learns the items a device uses (destinations, peers, ports/protocols, hours of the
day) while learning, then reports new ones while enforcing. Drift never floods: a new item is
reported once and learned after ``promote_after`` sightings, and items unused for ``forget_after``
seconds are forgotten. :class:`Rate` keeps an exponentially weighted mean and variance of a per-device
quantity (bytes per bucket) with a warm-up, for spike tests. Both bound what they keep.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

LEARN_S = 3600.0  # default learning phase of a device: its first hour on the wire
MAX_DEVICES = 100_000  # devices one baseline tracks; the least recently active are dropped
MAX_ITEMS = 512  # items kept per device (LRU: the longest unused go first)


@dataclass(slots=True)
class _Profile:
    start: float
    last: float
    items: OrderedDict[Hashable, float] = field(default_factory=OrderedDict)  # item -> last used
    pending: dict[Hashable, int] = field(default_factory=dict)  # new items -> sightings while enforcing


class Novelty:
    """Which items each device uses; ``check`` says whether an item is new for an enforcing device."""

    def __init__(self, *, learn_s: float = LEARN_S, promote_after: int = 1, forget_after: float = 7 * 86400.0,
                 max_devices: int = MAX_DEVICES, max_items: int = MAX_ITEMS) -> None:
        self.learn_s, self.promote_after, self.forget_after = learn_s, promote_after, forget_after
        self.max_devices, self.max_items = max_devices, max_items
        self._profiles: OrderedDict[str, _Profile] = OrderedDict()
        self.dropped_devices = 0
        # the device :meth:`_profile` made last (most recently used) and its profile: asked again
        # before another is (a scan's probes all come from one device), it is already last
        self._last: tuple[str, _Profile] | None = None

    def __len__(self) -> int:
        return len(self._profiles)

    def touch(self, device: str, ts: float) -> _Profile:
        """Note that ``device`` is active at ``ts`` (its learning phase runs from the first touch);
        its profile (``start``: when its learning began)."""
        last = self._last
        if last is not None and last[0] == device:
            prof = last[1]  # the most recently used already: nothing to move
        else:
            known = self._profiles.get(device)
            if known is None:
                if len(self._profiles) >= self.max_devices:
                    self._profiles.popitem(last=False)
                    self.dropped_devices += 1
                prof = self._profiles[device] = _Profile(ts, ts)
            else:
                prof = known
                self._profiles.move_to_end(device)
            self._last = (device, prof)
        # min() and max() without the calls: every flow of a device comes here
        if ts < prof.start:  # noqa: PLR1730 - a comparison costs less than a call, per flow
            prof.start = ts
        if ts > prof.last:  # noqa: PLR1730 - as above
            prof.last = ts
        return prof

    _profile = touch  # one call, not two: detectors touch a device for every flow

    def remember(self, device: str, item: Hashable, ts: float) -> None:
        """Learn ``item`` for ``device`` whatever the phase."""
        self._learn(self._profile(device, ts), item, ts)

    def learning(self, device: str, ts: float) -> bool:
        prof = self._profiles.get(device)
        return prof is None or ts - prof.start < self.learn_s

    def known(self, device: str, item: Hashable) -> bool:
        prof = self._profiles.get(device)
        return prof is not None and item in prof.items

    def check(self, device: str, item: Hashable, ts: float) -> bool:
        """Record that ``device`` used ``item`` at ``ts``; True when that is news worth an alert:
        the device is enforcing, the item is neither learned nor already reported."""
        prof = self._profile(device, ts)
        seen = prof.items.get(item)
        if seen is not None and ts - seen <= self.forget_after:
            prof.items[item] = max(seen, ts)
            prof.items.move_to_end(item)
            return False
        if ts - prof.start < self.learn_s:
            self._learn(prof, item, ts)
            return False
        sightings = prof.pending.get(item, 0) + 1
        if sightings >= self.promote_after:
            prof.pending.pop(item, None)
            self._learn(prof, item, ts)
        elif len(prof.pending) < self.max_items:
            prof.pending[item] = sightings
        return sightings == 1

    def _learn(self, prof: _Profile, item: Hashable, ts: float) -> None:
        prof.items[item] = ts
        prof.items.move_to_end(item)
        while len(prof.items) > self.max_items:
            prof.items.popitem(last=False)


@dataclass(slots=True)
class _Stat:
    mean: float = 0.0
    var: float = 0.0
    n: int = 0


class Rate:
    """EWMA mean and variance of one number per device (e.g. bytes sent per bucket).

    ``score`` returns the z-score of a new value against the history before it (None during the
    warm-up of ``warmup`` values), then folds the value in with weight ``alpha``.
    """

    def __init__(self, *, alpha: float = 0.1, warmup: int = 12, max_devices: int = MAX_DEVICES) -> None:
        self.alpha, self.warmup, self.max_devices = alpha, warmup, max_devices
        self._stats: OrderedDict[str, _Stat] = OrderedDict()

    def __len__(self) -> int:
        return len(self._stats)

    def mean(self, device: str) -> float:
        st = self._stats.get(device)
        return st.mean if st else 0.0

    def score(self, device: str, value: float) -> float | None:
        st = self._stats.get(device)
        if st is None:
            if len(self._stats) >= self.max_devices:
                self._stats.popitem(last=False)
            st = self._stats[device] = _Stat()
        else:
            self._stats.move_to_end(device)
        z = None
        if st.n >= self.warmup:
            z = (value - st.mean) / math.sqrt(st.var + 1e-9)
        if st.n == 0:
            st.mean = value
        else:
            diff = value - st.mean
            incr = self.alpha * diff
            st.mean += incr
            st.var = (1 - self.alpha) * (st.var + diff * incr)
        st.n += 1
        return z
