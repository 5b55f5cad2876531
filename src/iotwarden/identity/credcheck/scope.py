"""The scope of active credential checks: which targets may be contacted at all (an explicit CIDR
list, no implicit loopback, OT devices excluded unless allowed) and how fast (a per-host rate limit).

Every check asks :meth:`Scope.admit` before it creates a socket; a refusal raises :class:`OutOfScope`.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from iotwarden.errors import ConfigError, IdentityError

SERVICES = ("telnet", "ssh", "http", "mqtt")
DEFAULT_PORTS = {"telnet": 23, "ssh": 22, "http": 80, "mqtt": 1883}
PROTECTED_CATEGORIES = ("ot", "medical")  # never checked unless the operator allows them explicitly
MAX_SCOPE_NETWORKS = 1024  # CIDR entries in one scope
DEFAULT_MIN_INTERVAL_S = 1.0  # at least this long between two login attempts on one host
DEFAULT_MAX_ATTEMPTS = 20  # login attempts per host and run (account lock-outs stay unlikely)
MAX_TRACKED_HOSTS = 65_536  # hosts whose attempt history the limiter keeps


class OutOfScope(IdentityError):
    """The target may not be contacted: outside the scope, a protected category or over its budget."""


@dataclass(frozen=True, slots=True)
class Target:
    """One discovered service. ``host`` must be an IP address literal (no name resolution)."""

    host: str
    port: int
    service: str
    device_key: str | None = None
    category: str | None = None  # the classifier's category: iot, ot, it, network, medical, building


class Scope:
    """Networks that may be checked. Loopback is in scope only when listed (tests list 127.0.0.1/32)."""

    def __init__(self, networks: Iterable[str], *, allow_categories: Iterable[str] = ()) -> None:
        nets = []
        for text in networks:
            try:
                nets.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                raise ConfigError(f"scope entry {text!r} is not a network (CIDR) or address") from None
        if not nets:
            raise ConfigError("an empty scope allows nothing: give at least one CIDR")
        if len(nets) > MAX_SCOPE_NETWORKS:
            raise ConfigError(f"more than {MAX_SCOPE_NETWORKS} scope entries")
        self.networks = nets
        self.allowed_categories = {c.lower() for c in allow_categories}

    def admit(self, target: Target) -> None:
        """Return if ``target`` may be contacted, else raise :class:`OutOfScope` (no I/O happens here)."""
        if target.service not in SERVICES:
            raise OutOfScope(f"unknown service {target.service!r}: one of {', '.join(SERVICES)}")
        if not 0 < target.port < 65536:
            raise OutOfScope(f"port {target.port} out of range")
        try:
            addr = ipaddress.ip_address(target.host)
        except ValueError:
            raise OutOfScope(f"{target.host!r} is not an IP address: names are not resolved for checks") from None
        if not any(addr in net for net in self.networks if net.version == addr.version):
            raise OutOfScope(f"{addr} is outside the configured scope")
        category = (target.category or "").lower()
        if category in PROTECTED_CATEGORIES and category not in self.allowed_categories:
            raise OutOfScope(f"{addr} is classified {category.upper()}: not checked unless allowed explicitly")


class RateLimiter:
    """Spaces login attempts on one host by ``min_interval_s`` and caps them at ``max_attempts``."""

    def __init__(self, *, min_interval_s: float = DEFAULT_MIN_INTERVAL_S, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if min_interval_s < 0 or max_attempts < 1:
            raise ConfigError("rate limit: min_interval_s >= 0 and max_attempts >= 1")
        self.min_interval_s = min_interval_s
        self.max_attempts = max_attempts
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, host: str) -> None:
        """Wait until ``host`` may be tried again; :class:`OutOfScope` once its budget is spent."""
        with self._lock:
            used = self._count.get(host, 0)
            if used >= self.max_attempts:
                raise OutOfScope(f"{host}: {self.max_attempts} login attempts spent for this run")
            if host not in self._count and len(self._count) >= MAX_TRACKED_HOSTS:
                raise OutOfScope(f"more than {MAX_TRACKED_HOSTS} hosts in one run")
            last = self._last.get(host)
            wait = 0.0 if last is None else last + self.min_interval_s - self.clock()
            if wait > 0:
                self.sleep(wait)
            self._last[host] = self.clock()
            self._count[host] = used + 1

    def attempts(self, host: str) -> int:
        return self._count.get(host, 0)
