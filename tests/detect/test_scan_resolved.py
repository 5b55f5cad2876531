"""The addresses DNS answers gave each client (detect/scan_resolved): exempt from then on, per broadcast domain,
within bounds."""

from __future__ import annotations

from iotwarden.detect.scan_resolved import Resolved
from iotwarden.model import Observation


def _answer(ts: float, client: str, addresses: list[str], *, vlan: int = 0, ttl: int = 60) -> Observation:
    return Observation(ts=ts, proto="dns", kind="response", src_ip="10.0.0.1", dst_ip=client, src_port=53,
                       dst_port=50000, ip_proto=17, vlan=vlan,
                       fields={"qname": "sync.cloud.example", "rcode": "NOERROR",
                               "answers": [{"name": "sync.cloud.example", "type": "A", "ttl": ttl, "data": a}
                                           for a in addresses]})


def test_an_answer_exempts_its_clients_connects_from_its_time_on() -> None:
    resolved = Resolved(100)
    resolved.learn("10.0.0.5", _answer(100.0, "10.0.0.5", ["203.0.113.7", "203.0.113.8"]))
    assert resolved.exempt("10.0.0.5", "203.0.113.7", 100.0)
    assert not resolved.exempt("10.0.0.5", "203.0.113.7", 99.9)  # a connect before the answer
    assert not resolved.exempt("10.0.0.6", "203.0.113.7", 100.0)  # another client
    resolved.learn("10.0.0.5", _answer(200.0, "10.0.0.5", ["203.0.113.7"]))
    assert resolved.exempt("10.0.0.5", "203.0.113.7", 150.0)  # the first answer exempts from then


def test_a_tagged_answer_is_its_domains() -> None:
    resolved = Resolved(100)
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", ["10.0.0.7"], vlan=20))
    assert resolved.exempt("10.0.0.5%vlan20", "10.0.0.7%vlan20", 1.0)
    assert not resolved.exempt("10.0.0.5", "10.0.0.7", 1.0)


def test_pairs_past_the_limit_leave_least_recent_first() -> None:
    resolved = Resolved(3)
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", [f"203.0.113.{i}" for i in range(5)]))
    assert list(resolved) == [("10.0.0.5", f"203.0.113.{i}") for i in (2, 3, 4)]
