"""What MUD checks and generation need from traffic: the device's flows, the DNS answers seen (to map
ACL domain names to addresses, RFC 8520 §9) and the MUD URLs devices announced (DHCP, LLDP; §10).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from iotwarden.model import Flow, Observation

if TYPE_CHECKING:
    from iotwarden.engine.core import EngineResult

MAX_DNS_NAMES = 50_000  # names kept by a DnsTable; the least recently answered are dropped first
MAX_ADDRESSES_PER_NAME = 64  # addresses (and CNAME targets) kept per name
MAX_CNAME_DEPTH = 8  # CNAME links followed when resolving a name (RFC 1034 §3.6.2 chains)
# devices (MAC or IP) whose announced MUD URL is remembered; a full table forgets its least recently announced
# entry rather than refusing the new one (refusing left every device announcing after it filled unchecked)
MAX_ANNOUNCED = 10_000


def _norm(name: str) -> str:
    return name.rstrip(".").lower()


class DnsTable:
    """Names to the A/AAAA addresses and CNAME targets DNS responses gave for them, bounded."""

    def __init__(self, max_names: int = MAX_DNS_NAMES) -> None:
        self.max_names = max_names
        self._records: OrderedDict[str, set[str]] = OrderedDict()  # name -> addresses and "cname:" targets
        self.asked: set[str] = set()  # names that were questions (preferred by generation)

    def __len__(self) -> int:
        return len(self._records)

    def add(self, name: str, value: str) -> None:
        name = _norm(name)
        values = self._records.get(name)
        if values is None:
            values = self._records[name] = set()
            while len(self._records) > self.max_names:
                self._records.popitem(last=False)
        else:
            self._records.move_to_end(name)
        if len(values) < MAX_ADDRESSES_PER_NAME:
            values.add(value)

    def observe(self, obs: Observation) -> None:
        """Learn from one ``dns`` response (answers as dissect/dns.py documents them)."""
        if obs.proto != "dns" or obs.kind != "response":
            return
        questions, answers = obs.fields.get("questions"), obs.fields.get("answers")
        for q in questions if isinstance(questions, list) else []:
            if isinstance(q, dict) and isinstance(q.get("name"), str) and len(self.asked) < self.max_names:
                self.asked.add(_norm(q["name"]))
        for ans in answers if isinstance(answers, list) else []:
            if not isinstance(ans, dict) or not isinstance(ans.get("name"), str):
                continue
            data = ans.get("data")
            if ans.get("type") in ("A", "AAAA") and isinstance(data, str):
                self.add(ans["name"], data)
            elif ans.get("type") == "CNAME" and isinstance(data, str):
                self.add(ans["name"], "cname:" + _norm(data))

    def addresses(self, name: str) -> set[str]:
        """Every address ``name`` resolved to, following CNAME chains up to MAX_CNAME_DEPTH."""
        out: set[str] = set()
        todo, seen = [_norm(name)], set()
        for _ in range(MAX_CNAME_DEPTH + 1):
            nxt: list[str] = []
            for n in todo:
                if n in seen:
                    continue
                seen.add(n)
                for v in self._records.get(n, ()):
                    (nxt.append(v[6:]) if v.startswith("cname:") else out.add(v))
            if not nxt:
                break
            todo = nxt
        return out

    def names_for(self, ip: str) -> list[str]:
        """Names that resolve to ``ip``: asked names first, then by length and text (stable)."""
        found = [n for n in self._records if ip in self.addresses(n)]
        return sorted(found, key=lambda n: (n not in self.asked, len(n), n))


@dataclass
class Traffic:
    """Flows, DNS answers and announced MUD URLs (device MAC or IP -> URL) of one capture or store. At most
    ``max_announced`` announcers are kept, the least recently announced forgotten first (counted in ``evicted``)."""

    flows: list[Flow] = field(default_factory=list)
    dns: DnsTable = field(default_factory=DnsTable)
    announced: OrderedDict[str, str] = field(default_factory=OrderedDict)
    max_announced: int = MAX_ANNOUNCED
    evicted: int = 0  # announcers a full table forgot

    def observe(self, obs: Observation) -> None:
        self.dns.observe(obs)
        url = obs.fields.get("mud_url")
        if isinstance(url, str) and url:
            for ident in (obs.subject_mac, obs.subject_ip):
                if ident and ident != "0.0.0.0":  # noqa: S104 - the DHCP client's unset address, not a bind
                    self.announced[ident] = url
                    self.announced.move_to_end(ident)
                    while len(self.announced) > self.max_announced:
                        self.announced.popitem(last=False)
                        self.evicted += 1

    @classmethod
    def from_records(cls, observations: Iterable[Observation], flows: Iterable[Flow]) -> Traffic:
        out = cls(flows=list(flows))
        for obs in observations:
            out.observe(obs)
        return out


def read_traffic(path: Path) -> Traffic:
    """Run a capture file through the engine (every dissector) and keep what MUD needs.
    Raises CaptureError for a file that cannot be read."""
    from iotwarden.engine.core import Engine  # noqa: PLC0415 - heavy, only when a capture is read
    from iotwarden.sources.capfile import read_capture  # noqa: PLC0415

    out = Traffic()
    engine = Engine()

    def results() -> Iterator[EngineResult]:
        yield from (engine.process(batch) for batch in read_capture(path))
        yield engine.flush()  # closing flows can still yield observations

    for res in results():
        for obs in res.observations:
            out.observe(obs)
        out.flows.extend(res.flows)
    out.flows.sort(key=lambda f: f.first_seen)
    return out
