"""The addresses DNS answers gave each client, which the scan detector (detect/scan) takes for no probe targets.

An address a DNS answer gave the source is no probe target (RFC 1035 A, RFC 3596 AAAA records, seen by the sensor
or in Zeek's dns.log): a client connecting to the addresses of a name it looked up uses a service, whatever answers.
A blocked cloud's round robin is tried address after address (RFC 8305 §5: Happy Eyeballs races them 250 ms apart,
eight an answer, from a pool a short TTL rotates through): unanswered connects to ten addresses of 443 a minute. A
scanner picks its targets, it does not look them up. Only a connect that starts after the answer is exempt: an answer
read after the probes (a flow is handed over at its end, a Zeek batch's answers before its flows) unmakes no scan.
Kept per (client, address), ``max_resolved`` pairs (LRU); a Zeek conn.log alone (IoT-23's) holds no answers, so
there such a client is still a horizontal scan of its port.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from math import inf

from iotwarden.detect.base import site_host
from iotwarden.model import Observation


class Resolved:
    """(client, address its DNS answer gave) -> the answer's time, at most ``max_pairs`` pairs (LRU)."""

    def __init__(self, max_pairs: int) -> None:
        self.max_pairs = max_pairs
        self._pairs: OrderedDict[tuple[str, str], float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pairs)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)

    def learn(self, client: str, obs: Observation) -> None:
        """Remember the A/AAAA addresses of a DNS answer as its client's (within the answer's broadcast domain, as
        flows key a tagged source and target: site_host)."""
        answers = obs.fields.get("answers")
        resolved, limit, domain = self._pairs, self.max_pairs, obs.domain
        client = site_host(client, domain)
        for answer in answers if isinstance(answers, list) else ():
            if isinstance(answer, dict) and answer.get("type") in ("A", "AAAA") and isinstance(answer.get("data"), str):
                pair = (client, site_host(answer["data"], domain))
                at = resolved.get(pair)
                resolved[pair] = obs.ts if at is None or obs.ts < at else at  # the first answer exempts from then
                resolved.move_to_end(pair)
                if len(resolved) > limit:
                    resolved.popitem(last=False)

    def exempt(self, client: str, host: str, ts: float) -> bool:
        """True when a DNS answer gave ``client`` the address ``host`` at or before ``ts`` (a connect's start)."""
        return self._pairs.get((client, host), inf) <= ts
