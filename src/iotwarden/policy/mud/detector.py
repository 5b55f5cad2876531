"""Detector ``detect.mud.violation``: a device with a MUD profile (RFC 8520) has a flow no ACE accepts.

Profiles come from the operator (option ``profiles``: a JSON file mapping a device MAC, IP or key to
a MUD file) or from the MUD URL the device announced in DHCP/LLDP, read from the MUD cache (option
``cache_dir``; nothing is fetched here). ATT&CK: T1071 (application-layer traffic the manufacturer
never declared: command and control), T1571 (a port the profile does not allow).
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from iotwarden import inputfile
from iotwarden.detect.base import ENTRIES, Detector, Options, Range, flow_domain, subject_key
from iotwarden.errors import ConfigError, PolicyError, describe
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation
from iotwarden.policy.mud.check import Checker, Violation
from iotwarden.policy.mud.fetch import MudCache
from iotwarden.policy.mud.model import MudProfile
from iotwarden.policy.mud.traffic import MAX_ANNOUNCED, DnsTable
from iotwarden.policy.mud.validate import MAX_PROFILE_BYTES, validate

VIOLATION = "detect.mud.violation"
MITRE = ("T1071", "T1571")
MAX_CHECKERS = 10_000  # (device, profile) checkers kept, least recently used dropped first
MAX_KEYS_PER_DEVICE = 256  # distinct violation keys per device; past it they fold into one "other" key
# announced MUD URLs' cached profiles kept (None for a URL not in the cache), least recently used dropped first.
# Like the announced URLs (MAX_ANNOUNCED, the same way), a full table forgets its oldest entry rather than refusing
# the new one: refusing left every device announcing after it filled unchecked for the rest of the run, silently
MAX_CACHED_PROFILES = MAX_ANNOUNCED


@dataclass(frozen=True)
class MudOptions(Options):
    profiles: str = ""  # JSON file {"<mac|ip|device key>": "<path of a MUD file>"}, paths relative to it
    cache_dir: str = ""  # MUD cache of `iotwarden mud fetch` (profiles of announced MUD URLs)
    max_dns_names: int = 50_000  # names the DNS table keeps (see policy/mud/traffic.py)
    max_devices: int = 10_000  # devices whose violation keys are remembered (LRU; each up to MAX_KEYS_PER_DEVICE)
    bounds: ClassVar[dict[str, Range]] = {"max_dns_names": ENTRIES, "max_devices": ENTRIES}


def load_profile_map(path: Path) -> dict[str, MudProfile]:
    """The operator's device -> profile mapping; ConfigError naming the broken entry."""
    try:
        mapping = json.loads(inputfile.read_bytes(path, MAX_PROFILE_BYTES))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deeply
        raise ConfigError(f"MUD profiles map {path}: {describe(exc)}") from exc
    if not isinstance(mapping, dict):
        raise ConfigError(f"MUD profiles map {path}: expected an object of device -> MUD file")
    out: dict[str, MudProfile] = {}
    for ident, file in mapping.items():
        target = path.parent / str(file)
        try:
            out[str(ident).lower()] = validate(json.loads(inputfile.read_bytes(target, MAX_PROFILE_BYTES)),
                                               source=str(target))
        except PolicyError as exc:  # names the file itself
            raise ConfigError(f"MUD profiles map {path}: {ident}: {exc}") from exc
        except (OSError, ValueError, RecursionError) as exc:
            raise ConfigError(f"MUD profiles map {path}: {ident}: {target}: {describe(exc)}") from exc
    return out


class MudDetector(Detector):
    name: ClassVar[str] = "detect.mud"
    ids: ClassVar[tuple[str, ...]] = (VIOLATION,)
    defaults: ClassVar[Options] = MudOptions()
    # the only observations it reads (hooks.py OBSERVES_ATTRIBUTE: the manager hands it no other): DNS answers
    # (DnsTable) and the MUD URL a device announces (dissect/dhcp.py option 161, dhcpv6.py 112, lldp.py). Handed
    # them whatever its state, as the manager plans its routes once: idle (no profile, no cache) it returns at once,
    # and profiles added after it was built are checked from then on, with what it learns from then on
    observes: ClassVar[frozenset[str]] = frozenset({"dns", "dhcp", "dhcpv6", "lldp"})

    def __init__(self, options: dict[str, Any] | None = None, *, profiles: dict[str, MudProfile] | None = None) -> None:
        super().__init__(options)
        self.profiles = {k.lower(): v for k, v in (profiles or {}).items()}
        if self.options.profiles:
            self.profiles.update(load_profile_map(Path(self.options.profiles)))
        self.cache = MudCache(Path(self.options.cache_dir)) if self.options.cache_dir else None
        self.dns = DnsTable(self.options.max_dns_names)
        self.announced: OrderedDict[str, str] = OrderedDict()  # MAC or IP -> announced MUD URL (MAX_ANNOUNCED)
        # URL -> cached profile (None: not in cache), MAX_CACHED_PROFILES
        self._cached: OrderedDict[str, MudProfile | None] = OrderedDict()
        # entries a full table forgot, per table ("announced", "cached", "devices")
        self.evicted: Counter[str] = Counter()
        self._checkers: OrderedDict[tuple[str, str | None, str], Checker] = OrderedDict()
        self._keys: OrderedDict[str, set[str]] = OrderedDict()  # device -> violation keys (options.max_devices)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if not self.profiles and self.cache is None:  # idle: what it would learn is never read
            return
        self.dns.observe(obs)
        url = obs.fields.get("mud_url")
        if isinstance(url, str) and url:
            for ident in (obs.subject_mac, obs.subject_ip):
                if ident and ident != "0.0.0.0":  # noqa: S104 - DHCP's unset client address
                    self._remember(self.announced, ident.lower(), url, MAX_ANNOUNCED, "announced")

    def _remember(self, table: OrderedDict[str, Any], key: str, value: Any, limit: int, name: str) -> None:
        """``table[key] = value`` as its most recently used entry; past ``limit`` the least recently used go,
        counted in :attr:`evicted` under ``name``."""
        table[key] = value
        table.move_to_end(key)
        while len(table) > limit:
            table.popitem(last=False)
            self.evicted[name] += 1

    def _profile(self, ctx: Context, mac: str | None, ip: str, domain: str = "",
                 ts: float | None = None) -> MudProfile | None:
        idents = [i for i in (mac, ip, subject_key(ctx, mac, ip, domain, ts)) if i]
        for ident in idents:
            found = self.profiles.get(ident.lower())
            if found is not None:
                return found
        if self.cache is None:
            return None
        known = next((i.lower() for i in idents if i.lower() in self.announced), None)
        if known is None:
            return None
        self.announced.move_to_end(known)  # a device checked now is the last one to forget
        url = self.announced[known]
        if url in self._cached:
            self._cached.move_to_end(url)
            return self._cached[url]
        # the run uses what the operator cached, expired or not: refreshing is `mud fetch`'s job
        hit = self.cache.get(url, 0.0, fresh_only=False)
        profile = hit[0] if hit else None
        self._remember(self._cached, url, profile, MAX_CACHED_PROFILES, "cached")
        return profile

    def _checker(self, profile: MudProfile, mac: str | None, ip: str) -> Checker:
        key = (profile.mud_url, mac, ip)
        checker = self._checkers.get(key)
        if checker is None:
            checker = self._checkers[key] = Checker(profile, mac=mac, ips=[ip], dns=self.dns)
            while len(self._checkers) > MAX_CHECKERS:
                self._checkers.popitem(last=False)
        else:
            self._checkers.move_to_end(key)
        return checker

    def flow(self, ctx: Context, flow: Flow) -> None:
        if not self.profiles and self.cache is None:
            return
        domain = flow_domain(flow)
        for mac, ip in ((flow.a_mac, flow.a_ip), (flow.b_mac, flow.b_ip)):
            profile = self._profile(ctx, mac, ip, domain, flow.first_seen)
            if profile is None:
                continue
            violation = self._checker(profile, mac, ip).check(flow)
            if violation is not None:
                self._raise(ctx, profile, violation, subject_key(ctx, mac, ip, domain, flow.first_seen))

    def _raise(self, ctx: Context, profile: MudProfile, v: Violation, subject: str) -> None:
        p = v.packet
        key = f"{p.direction}:{p.peer}:{p.proto}/{p.dport if p.direction == 'from-device' else p.sport}"
        keys = self._keys.get(subject)
        if keys is None:
            keys = set()
            self._remember(self._keys, subject, keys, self.options.max_devices, "devices")
        else:
            self._keys.move_to_end(subject)
        if key not in keys:
            if len(keys) >= MAX_KEYS_PER_DEVICE:
                key = "other"
            keys.add(key)
        self.raise_alert(
            ctx, VIOLATION, title=f"{subject} breaks its MUD profile: {p.src}:{p.sport} -> {p.dst}:{p.dport} "
            f"(proto {p.proto}) {'denied by ' + v.ace if v.ace else 'matches no ACE'}", severity="medium",
            subject=subject, ts=v.flow.first_seen, key=key, mitre=MITRE, src_ip=p.src, dst_ip=p.dst,
            evidence={"mud_url": profile.mud_url, **v.to_dict()}, flows=[v.flow])
