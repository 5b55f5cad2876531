"""The questions last put to each DNS server, by which a resolver's or forwarder's query for its client is told from
its own (detect.dns, detect.c2_dns_poll): one table, one rule, for every DNS detector that must not read a
resolver's queries as its own."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from iotwarden.detect.series import lru_put


class Questions:
    """(asked address, topic) -> when it was last asked, the least recently asked forgotten past ``limit``. The topic
    is what a detector matches a forward by (a name, or its registered domain: a QNAME-minimising resolver asks its
    upstream shorter names). A query from ``src`` to ``dst`` under a topic ``src`` was asked within ``within_s``
    before (by any client) is ``src`` forwarding that client's question, not ``src``'s own. Kept by bare address: a
    routed resolver is asked on its clients' VLAN and asks upstream on its own."""

    def __init__(self, limit: int, within_s: float) -> None:
        self.limit, self.within_s = limit, within_s
        self._asked: OrderedDict[tuple[str, str], float] = OrderedDict()

    def forwarded(self, src: str, dst: str, topic: str, ts: float) -> bool:
        """Whether a query under ``topic`` from ``src`` to ``dst`` at ``ts`` is a forward (class doc): ``src`` was
        asked ``topic`` within ``within_s`` before. Its own question to ``dst`` is remembered; a host asking itself
        forwards nothing and asks nothing of another."""
        asked = self.asked(src, topic, ts)
        if dst and dst != src:
            lru_put(self._asked, (dst, topic), ts, self.limit)
        return asked

    def asked(self, address: str, topic: str, ts: float) -> bool:
        """Whether ``address`` was asked under ``topic`` by another host within ``within_s`` before ``ts``."""
        last = self._asked.get((address, topic))
        return last is not None and 0.0 <= ts - last <= self.within_s

    def __len__(self) -> int:
        return len(self._asked)

    def __contains__(self, question: object) -> bool:
        return question in self._asked

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """The (asked address, topic) questions remembered, least recently asked first."""
        return iter(self._asked)
