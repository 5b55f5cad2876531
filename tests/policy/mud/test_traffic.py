"""The DNS table that maps ACL names to addresses (RFC 8520 §9), and announced MUD URLs (§10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.errors import CaptureError
from iotwarden.model import Observation
from iotwarden.policy.mud.traffic import MAX_CNAME_DEPTH, DnsTable, Traffic, read_traffic


def answer(qname: str, *answers: tuple[str, str, str]) -> Observation:
    return Observation(ts=1.0, proto="dns", kind="response", src_ip="10.0.0.1", dst_ip="10.0.0.9",
                       fields={"questions": [{"name": qname, "type": "A"}],
                               "answers": [{"name": n, "type": t, "ttl": 60, "data": d} for n, t, d in answers]})


def test_cname_chains_resolve_and_asked_names_are_preferred() -> None:
    t = DnsTable()
    t.observe(answer("Cloud.Maker.example.", ("cloud.maker.example", "CNAME", "edge.cdn.example."),
                     ("edge.cdn.example", "A", "203.0.113.7"), ("edge.cdn.example", "AAAA", "2001:db8::7")))
    assert t.addresses("cloud.maker.example") == {"203.0.113.7", "2001:db8::7"}
    assert t.names_for("203.0.113.7") == ["cloud.maker.example", "edge.cdn.example"]
    t.observe(Observation(ts=1.0, proto="dns", kind="query", fields={"answers": [{"name": "x", "type": "A",
                                                                                   "data": "1.2.3.4"}]}))
    assert t.addresses("x") == set()  # queries carry no answers worth trusting


def test_cname_loops_and_long_chains_stop() -> None:
    t = DnsTable()
    t.add("a", "cname:b")
    t.add("b", "cname:a")
    assert t.addresses("a") == set()
    for i in range(MAX_CNAME_DEPTH + 3):
        t.add(f"n{i}", f"cname:n{i + 1}")
    t.add(f"n{MAX_CNAME_DEPTH + 3}", "192.0.2.1")
    assert t.addresses("n0") == set()
    assert t.addresses(f"n{3}") == {"192.0.2.1"}


def test_the_table_is_bounded() -> None:
    t = DnsTable(max_names=3)
    for i in range(5):
        t.add(f"n{i}.example", f"192.0.2.{i}")
    assert len(t) == 3 and t.addresses("n0.example") == set() and t.addresses("n4.example") == {"192.0.2.4"}


def test_hostile_answer_fields_are_ignored() -> None:
    t = DnsTable()
    t.observe(Observation(ts=1.0, proto="dns", kind="response",
                          fields={"questions": [None, {"name": 5}], "answers": [None, {"name": "a", "type": "A",
                                                                                       "data": {"x": 1}}, "junk"]}))
    t.observe(Observation(ts=1.0, proto="dns", kind="response", fields={"questions": 5, "answers": "x"}))
    assert len(t) == 0


def test_announced_mud_urls_are_kept_per_mac_and_address() -> None:
    obs = Observation(ts=1.0, proto="dhcp", kind="discover", src_mac="aa:bb:cc:dd:ee:ff", src_ip="0.0.0.0",  # noqa: S104 - a DHCP client before it has an address
                      fields={"mud_url": "https://maker.example/lamp.json"})
    t = Traffic.from_records([obs], [])
    assert t.announced == {"aa:bb:cc:dd:ee:ff": "https://maker.example/lamp.json"}


def test_a_full_table_of_announced_urls_forgets_the_least_recent_announcer_not_the_newest() -> None:
    def announce(mac: str, url: str) -> Observation:
        return Observation(ts=1.0, proto="dhcp", kind="request", src_mac=mac, src_ip="0.0.0.0",  # noqa: S104 - a DHCP client before it has an address
                           fields={"mud_url": url})

    t = Traffic(max_announced=2)
    for mac, url in (("02:00:00:00:00:01", "https://a.example/1.json"), ("02:00:00:00:00:02", "https://a.example/2.json"),
                     ("02:00:00:00:00:01", "https://a.example/1b.json"), ("02:00:00:00:00:03", "https://a.example/3.json")):
        t.observe(announce(mac, url))
    # the first re-announced a new URL (kept, and now recent); the third is kept, the second forgotten and counted
    assert t.announced == {"02:00:00:00:00:01": "https://a.example/1b.json", "02:00:00:00:00:03": "https://a.example/3.json"}
    assert t.evicted == 1


def test_an_unreadable_capture_is_a_capture_error(tmp_path: Path) -> None:
    (tmp_path / "x.pcap").write_bytes(b"not a capture")
    with pytest.raises(CaptureError):
        read_traffic(tmp_path / "x.pcap")
