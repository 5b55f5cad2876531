"""What Zeek splits across logs, joined again (sources/zeek_join.py) record by record: conn.log's MACs and VLAN
stamped on the same connection's records by uid, a certificate chain put together from x509 records read before
or after its ssl.log record, and the LRU that bounds each table. Reading whole logs and directories, and the
tables' limits driven through read_zeek, are tests/sources/test_zeek.py's."""

from __future__ import annotations

from typing import Any

from iotwarden.sources import zeek_join, zeek_map

CONN = {"ts": 100.0, "uid": "C1", "id.orig_h": "10.1.0.2", "id.orig_p": 40000, "id.resp_h": "10.1.0.1",
        "id.resp_p": 53, "proto": "udp", "orig_l2_addr": "02:00:00:00:00:01", "resp_l2_addr": "02:00:00:00:00:fe",
        "vlan": 10}


def _dns(uid: str) -> dict[str, Any]:
    return {**CONN, "ts": 101.0, "uid": uid, "trans_id": 1, "query": "a.example", "qtype_name": "A"}


def test_lru_forgets_the_least_recently_used() -> None:
    lru: zeek_join.Lru[str, int] = zeek_join.Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # "a" is now the most recent
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c"), len(lru)) == (1, None, 3, 2)


def test_a_connections_records_get_its_macs_and_vlan_by_uid() -> None:
    joiner = zeek_join.Joiner()
    _, flows = joiner.map("conn", CONN)
    assert zeek_join.link_of(flows[0]) == ("C1", zeek_join.LinkInfo("10.1.0.2", "02:00:00:00:00:01",
                                                                     "02:00:00:00:00:fe", 10))
    (obs,) = [o for o in joiner.map("dns", _dns("C1"))[0] if o.src_ip == "10.1.0.2"]
    assert (obs.src_mac, obs.dst_mac, obs.vlan) == ("02:00:00:00:00:01", "02:00:00:00:00:fe", 10)
    other = joiner.map("dns", _dns("C2"))[0]  # another connection: nothing to stamp
    assert other and all(o.src_mac is None and o.vlan is None for o in other)


def test_a_bare_conn_log_links_nothing() -> None:
    bare = {k: v for k, v in CONN.items() if k not in ("orig_l2_addr", "resp_l2_addr", "vlan")}
    assert zeek_join.link_of(zeek_map.map_conn(bare)) == (None, None)


def test_a_chain_completes_with_certificates_read_before_or_after_it() -> None:
    joiner = zeek_join.Joiner()
    ssl = {**CONN, "id.resp_p": 443, "proto": "tcp", "version": "TLSv12", "cert_chain_fps": ["AA" * 32, "BB" * 32]}
    joiner.map("x509", {"ts": 99.0, "fingerprint": "AA" * 32, "certificate.subject": "CN=leaf"})  # alone: no chain
    waiting = [o for o in joiner.map("ssl", ssl)[0] if o.kind == "certificate"]
    assert waiting == []  # the CA is not read yet
    done = joiner.map("x509", {"ts": 102.0, "fingerprint": "BB" * 32, "certificate.subject": "CN=ca"})[0]
    (cert,) = [o for o in done if o.kind == "certificate"]
    assert (cert.src_ip, [c["subject"] for c in cert.fields["certs"]]) == ("10.1.0.1", ["CN=leaf", "CN=ca"])
    assert joiner.flush() == []
