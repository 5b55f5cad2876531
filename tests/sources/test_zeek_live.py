"""A Zeek folder followed as Zeek writes it: records released in time order, joined across polls, within bounds."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.model import Flow, Observation
from iotwarden.sources import zeek, zeek_format, zeek_lines, zeek_live
from iotwarden.sources.base import RecordBatch
from iotwarden.sources.zeek_live import (
    ADDRESS_SPAN_S,
    HOLD_WALL_S,
    HOLDER_BUCKET_S,
    UNJOINED_WAIT_S,
    AddressHolders,
    ZeekFollower,
)
from iotwarden.sources.zeek_order import REORDER_WINDOW_S
from tests.sources.zeek_written import GATEWAY, Conn, Txn, replay, site_day, write_logs

LOGS = ("conn", "dns", "http", "ssl")


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _items(folder: Path, log: str) -> list[zeek._Item]:
    path = folder / f"{log}.log"
    return list(zeek._file_items(path, log)) if path.exists() else []


def _observations(batches: list[RecordBatch]) -> list[dict[str, Any]]:
    return [o.to_dict() for b in batches for o in b.observations]


def _by_content(items: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True, default=str) for item in items)


def _dns(uid: str, ts: float, ip: str = "10.20.0.11", mac: str = "02:00:00:00:07:01") -> Conn:
    txn = Txn("dns", 0.0, 0.01, {"trans_id": "1", "rtt": "0.010000", "query": "api.example", "qclass": "1",
                                 "qclass_name": "C_INTERNET", "qtype": "1", "qtype_name": "A", "rcode": "0",
                                 "rcode_name": "NOERROR", "AA": "F", "TC": "F", "RD": "T", "RA": "T", "Z": "0",
                                 "answers": "52.0.18.10", "TTLs": "300.000000", "rejected": "F"})
    return Conn(uid, ts, 0.01, (ip, 40000, mac), ("10.20.0.1", 53, "00:0d:b9:4a:10:01"), proto="udp",
                service="dns", txns=[txn])


def test_records_written_across_polls_are_joined_as_a_finished_folder_is(tmp_path: Path) -> None:
    """Zeek's write order fed a few lines at a time: each log's new lines at each poll, a long session's
    conn.log line polls after its ssl.log record (released by then): every Observation gets its MACs,
    the same facts as read_zeek of the whole folder."""
    conns = site_day(7, devices=3, hours=1.0)
    folder = write_logs(tmp_path, conns)
    expected = _observations(list(zeek.read_zeek(folder)))
    logs = {log: _items(folder, log) for log in LOGS}
    follower, out = ZeekFollower(clock=Clock()), []
    pieces = 40
    for i in range(pieces):
        streams = [iter(items[len(items) * i // pieces: len(items) * (i + 1) // pieces]) for items in logs.values()]
        out += list(follower.read(streams))
    assert any(w.observations for w in out[:-1])  # released while following, not only at the end
    late = [c for c in conns if c.written() - c.ts > REORDER_WINDOW_S and c.txns]
    assert late  # sessions whose conn.log line comes after the window: their records waited for it
    out += list(follower.release(end=True))
    got = _observations(out)
    assert all(o["src_mac"] and o["dst_mac"] for o in got)
    assert _by_content(got) == _by_content(expected)
    assert sum(b.records for b in out) == sum(len(items) for items in logs.values())
    assert sorted(f.extra["uid"] for b in out for f in b.flows) == sorted(c.uid for c in conns)


def test_a_conn_line_read_polls_later_stamps_the_observations_released_before_it(tmp_path: Path) -> None:
    conns = [_dns("Cquiet1", 5000.0), _dns("Cnoise", 5000.0 + 2 * REORDER_WINDOW_S, "10.20.0.12",
                                           "02:00:00:00:07:02")]
    folder = write_logs(tmp_path, conns)
    conn, dns = _items(folder, "conn"), _items(folder, "dns")
    follower = ZeekFollower(clock=Clock())
    first = list(follower.read([iter(dns[:1]), iter(conn[1:])]))  # the other connection's line moves time on
    assert not _observations(first) and "Cquiet1" in follower.unjoined  # released, waiting for its conn line
    second = list(follower.read([iter(conn[:1])]))  # a poll later
    joined = {(o["src_mac"], o["dst_mac"]) for o in _observations(second) if "10.20.0.11" in (o["src_ip"], o["dst_ip"])}
    assert joined == {("02:00:00:00:07:01", "00:0d:b9:4a:10:01"), ("00:0d:b9:4a:10:01", "02:00:00:00:07:01")}


def test_a_quiet_network_holds_a_record_no_longer_than_the_wall_clock_bound(tmp_path: Path) -> None:
    folder = write_logs(tmp_path, [_dns("Conly", 5000.0)])
    clock = Clock()
    follower = ZeekFollower(clock=clock)
    assert not _observations(list(follower.read([iter(_items(folder, "dns")), iter(_items(folder, "conn"))])))
    clock.now += HOLD_WALL_S - 1
    assert not _observations(list(follower.release()))  # nothing newer in conn.log: still in the window
    clock.now += 1
    released = _observations(list(follower.release()))
    assert len(released) == 2 and all(o["src_mac"] for o in released)  # query and answer, joined


def test_observations_waiting_for_a_conn_line_go_on_without_macs_after_the_bound(tmp_path: Path) -> None:
    folder = write_logs(tmp_path, [_dns("Cseen", 5000.0), _dns("Cnever", 5001.0, "10.20.0.12", "02:00:00:00:07:02")])
    clock = Clock()
    follower = ZeekFollower(clock=clock)
    conn = [i for i in _items(folder, "conn") if isinstance(i[3], Flow) and i[3].extra["uid"] == "Cseen"]
    list(follower.read([iter(conn), iter(_items(folder, "dns"))]))
    clock.now += HOLD_WALL_S
    out = _observations(list(follower.release()))
    assert {o["src_ip"] for o in out} == {"10.20.0.11", "10.20.0.1"} and "Cnever" in follower.unjoined
    clock.now += UNJOINED_WAIT_S - 1  # read HOLD_WALL_S + UNJOINED_WAIT_S ago at most
    assert not _observations(list(follower.release()))
    clock.now += 1
    late = _observations(list(follower.release()))
    assert len(late) == 2 and not any(o["src_mac"] for o in late) and not follower.unjoined


def test_a_bare_conn_log_makes_nothing_wait(tmp_path: Path) -> None:
    """IoT-23's conn.logs carry no MACs: no record waits for a line that would give it none."""
    folder = write_logs(tmp_path, [_dns("Cbare", 5000.0), _dns("Clater", 5000.0 + 2 * REORDER_WINDOW_S)])
    text = (folder / "conn.log").read_text()
    (folder / "conn.log").write_text(text.replace("\torig_l2_addr\tresp_l2_addr", "").replace("\tstring\tstring\n",
                                                                                           "\n"))
    rows = [ln for ln in (folder / "conn.log").read_text().splitlines(keepends=True) if not ln.startswith("#")]
    header = "".join(ln for ln in text.splitlines(keepends=True) if ln.startswith("#") and "#close" not in ln)
    header = header.replace("\torig_l2_addr\tresp_l2_addr", "").replace("\tstring\tstring\n", "\n")
    (folder / "conn.log").write_text(header + "".join("\t".join(r.rstrip("\n").split("\t")[:-2]) + "\n"
                                                      for r in rows if not r.startswith("#")))
    follower = ZeekFollower(clock=Clock())
    conn = _items(folder, "conn")
    out = list(follower.read([iter(conn[1:]), iter(_items(folder, "dns")[:2])]))
    assert len(_observations(out)) == 2 and not follower.unjoined and not follower.linked


def test_records_held_for_ordering_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek_live, "MAX_HELD_RECORDS", 50)
    folder = write_logs(tmp_path, [_dns(f"C{i:05d}", 5000.0 + i) for i in range(300)])
    follower = ZeekFollower(clock=Clock())
    out = list(follower.read([iter(_items(folder, "dns"))]))  # no conn.log line: nothing moves time on
    assert len(follower) == 50 and len(_observations(out)) == 2 * 250
    assert len(_observations(list(follower.release(end=True)))) == 2 * 50


def test_connections_waiting_for_their_conn_line_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood of uids whose conn.log lines never come: at most MAX_UNJOINED_UIDS wait, the oldest go on."""
    monkeypatch.setattr(zeek_live, "MAX_UNJOINED_UIDS", 10)
    flood = [_dns(f"C{i:05d}", 5000.0 + i, f"10.20.1.{i % 200}") for i in range(200)]
    folder = write_logs(tmp_path, [*flood, _dns("Cnow", 5000.0 + 200 + 2 * REORDER_WINDOW_S)])
    conn = [i for i in _items(folder, "conn") if isinstance(i[3], Flow) and i[3].extra["uid"] == "Cnow"]
    follower = ZeekFollower(clock=Clock())
    out = list(follower.read([iter(conn), iter(_items(folder, "dns")[:400])]))
    assert len(follower.unjoined) == 10 and len(_observations(out)) == 2 * 190
    assert not any(o["src_mac"] for o in _observations(out))


def _conn_item(i: int, ts: float) -> zeek._Item:
    flow = Flow(0, 6, "10.0.0.1", 40000 + i, "10.0.0.2", 443, ts, ts + 1.0, "02:00:00:00:00:01",
                "02:00:00:00:00:02", extra={"uid": f"C{i}"})
    return (ts, 0, "conn", flow)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, REORDER_WINDOW_S / 2), min_size=1, max_size=120),
       st.lists(st.integers(1, 40), min_size=1, max_size=10))
def test_any_split_into_polls_releases_every_record_once_in_time_order(jitter: list[float], cuts: list[int]) -> None:
    """Records at most half a window behind the newest read, read in any number of polls: each is released once,
    all in ts order, whatever the polls' sizes."""
    items = [_conn_item(i, 10.0 * i + j) for i, j in enumerate(jitter)]
    follower, out, at = ZeekFollower(clock=Clock()), [], 0
    for n in cuts:
        out += list(follower.read([iter(items[at:at + n])]))
        at += n
    out += list(follower.read([iter(items[at:])]))
    out += list(follower.release(end=True))
    released = [f.first_seen for b in out for f in b.flows]
    assert released == sorted(it[0] for it in items) and sum(b.records for b in out) == len(items)
    assert len(follower) == 0 and not follower.unjoined


def test_a_growing_log_is_read_on_from_where_it_stopped_and_a_gz_one_whole(tmp_path: Path) -> None:
    """What a monitor does with a log that grows: only the lines after the last read are read and parsed."""
    full = (write_logs(tmp_path / "whole", [_dns(f"C{i}", 5000.0 + i) for i in range(10)]) / "conn.log").read_bytes()
    cut = full.index(b"C5") + 3  # the writer is within a line
    log = tmp_path / "conn.log"
    log.write_bytes(full[:cut])
    resume = zeek.Resume()
    first = list(zeek._file_items(log, "conn", whole_lines=True, resume=resume))
    assert resume.offset == full[:cut].rfind(b"\n") + 1 and resume.header is not None
    with log.open("ab") as fh:
        fh.write(full[cut:])
    second = list(zeek._file_items(log, "conn", whole_lines=True, resume=resume))
    uids = [it[3].extra["uid"] for it in first + second if isinstance(it[3], Flow)]
    assert uids == [f"C{i}" for i in range(10)] and len(second) == 5 and resume.offset == len(full)
    gz = tmp_path / "conn.log.gz"
    gz.write_bytes(gzip.compress(full))
    kept = zeek.Resume(offset=resume.offset)
    assert len(list(zeek._file_items(gz, "conn", resume=kept))) == 10 and kept.offset == len(full)


def test_malformed_lines_of_a_followed_log_are_counted_and_skipped(tmp_path: Path) -> None:
    folder = write_logs(tmp_path, [_dns("Cok", 5000.0)])
    log = folder / "dns.log"
    text = log.read_text().replace("#close", "not\ta\tdns\tline\n#close")
    log.write_text(text)
    follower = ZeekFollower(clock=Clock())
    out = list(follower.read([iter(_items(folder, "dns")), iter(_items(folder, "conn"))]))
    out += list(follower.release(end=True))
    assert sum(b.skipped for b in out) == 1 and sum(b.records for b in out) == 3 and len(_observations(out)) == 2


def test_sessions_longer_than_the_unjoined_wait_get_their_macs_from_their_addresses(tmp_path: Path) -> None:
    """A live replay (each line read from the time Zeek writes it, the follower's clock that time, a poll every
    2 s): TLS sessions of 2.5 h, opened while their devices talk to their clouds, have their ssl.log records
    stamped from those addresses' other conn.log lines and released within the reorder window instead of an
    hour later without MACs: the same facts as read_zeek of the finished folder, which reads their lines ahead."""
    seed, start = 11, 1_700_000_000.0
    day = [c for c in site_day(seed, devices=4, hours=3.0) if c.written() - c.ts <= UNJOINED_WAIT_S]
    hello = {"version": "TLSv12", "server_name": "api.cloud.example", "established": "T"}
    long = [Conn(f"Clong{d}", start + 3600 + 100 * d, 2.5 * 3600, (f"10.20.0.{10 + d}", 39000 + d,
                 f"02:00:00:00:{seed:02x}:{d:02x}"), (f"52.{d}.18.{10 + d}", 443, GATEWAY[2]), service="ssl",
                 txns=[Txn("ssl", 0.0, 0.2, hello)]) for d in range(1, 4)]
    folder = write_logs(tmp_path, day + long)
    expected = _observations(list(zeek.read_zeek(folder)))
    follower, got = ZeekFollower(), []
    real = follower.joiner.map

    def keep(log_type: str, rec: dict[str, Any]) -> tuple[list[Observation], list[Flow]]:
        observations, flows = real(log_type, rec)
        got.extend(observations)
        return observations, flows

    follower.joiner.map = keep  # type: ignore[method-assign]
    latency = replay(folder, day + long, follower)
    waited = [w for c in long for w in latency.by_uid[c.uid]]
    assert len(waited) == 2 * len(long)  # client and server hello of each, read with their records
    assert max(waited) <= REORDER_WINDOW_S + 10 and latency.unstamped == 0  # not an hour later, with MACs
    assert _by_content([o.to_dict() for o in got]) == _by_content(expected)


def _seen(holders: AddressHolders, ip: str, mac: str, *times: float, vlan: int | None = None) -> None:
    for ts in times:
        holders.saw(ip, mac, vlan, ts)


def test_an_address_is_stamped_only_when_one_holder_is_seen_on_both_sides_within_the_span() -> None:
    holders, t = AddressHolders(), 10_000.0  # HOLDER_BUCKET_S divides it: the span's edges are bucket edges
    _seen(holders, "10.0.0.5", "02:00:00:00:00:05", t - ADDRESS_SPAN_S)
    assert holders.holder("10.0.0.5", t) is None  # seen before only
    _seen(holders, "10.0.0.5", "02:00:00:00:00:05", t + ADDRESS_SPAN_S + HOLDER_BUCKET_S)
    assert holders.holder("10.0.0.5", t) is None  # after, but past the span
    _seen(holders, "10.0.0.5", "02:00:00:00:00:05", t + ADDRESS_SPAN_S + HOLDER_BUCKET_S - 0.5)
    assert holders.holder("10.0.0.5", t) == ("02:00:00:00:00:05", None)  # within it, at its last bucket
    assert holders.holder("10.0.0.5", t - HOLDER_BUCKET_S) is None  # the sighting before is then past the span
    assert holders.holder("10.0.0.9", t) is None and holders.holder(None, t) is None


def test_an_address_changing_hands_within_the_span_is_never_stamped() -> None:
    """A DHCP lease reused: the old holder's or a DHCP ack to another MAC within the span refuses the address."""
    holders, t = AddressHolders(), 10_000.0
    _seen(holders, "10.0.0.5", "02:00:00:00:00:05", t - 100, t + 100)
    holders.acked("10.0.0.5", "02:00:00:00:00:05", t - 50)  # its own lease renewed: no doubt
    assert holders.holder("10.0.0.5", t) == ("02:00:00:00:00:05", None)
    holders.acked("10.0.0.5", "02:00:00:00:00:06", t + ADDRESS_SPAN_S - 1)
    assert holders.holder("10.0.0.5", t) is None
    assert holders.holder("10.0.0.5", t - 2 * ADDRESS_SPAN_S + 100) is None  # nor anything before: no sighting
    _seen(holders, "10.0.0.7", "02:00:00:00:00:07", t - 100, t + 100)
    _seen(holders, "10.0.0.7", "02:00:00:00:00:08", t + ADDRESS_SPAN_S - 1)  # the next device on that address
    assert holders.holder("10.0.0.7", t) is None
    _seen(holders, "10.0.0.8", "02:00:00:00:00:08", t - 100, t + 100, vlan=10)
    _seen(holders, "10.0.0.8", "02:00:00:00:00:08", t + 5, vlan=20)  # the same MAC on two VLANs: not one holder
    assert holders.holder("10.0.0.8", t) is None


def test_observations_are_stamped_all_or_none() -> None:
    holders, t = AddressHolders(), 10_000.0
    _seen(holders, "10.0.0.5", "02:00:00:00:00:05", t - 10, t + 10, vlan=10)
    _seen(holders, "52.1.2.3", "00:0d:b9:4a:10:01", t - 10, t + 10, vlan=10)
    _seen(holders, "52.9.9.9", "00:0d:b9:4a:10:01", t - 10, t + 10, vlan=20)
    hello = Observation(ts=t, proto="tls", kind="client_hello", src_ip="10.0.0.5", dst_ip="52.1.2.3")
    other = Observation(ts=t, proto="tls", kind="client_hello", src_ip="10.0.0.5", dst_ip="52.9.9.9")
    assert not holders.stamp([hello, other])  # the second's ends are on two VLANs
    assert (hello.src_mac, hello.vlan) == (None, None)  # nothing changed
    assert holders.stamp([hello])
    assert (hello.src_mac, hello.dst_mac, hello.vlan) == ("02:00:00:00:00:05", "00:0d:b9:4a:10:01", 10)


def test_addresses_and_holders_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek_live, "MAX_ADDRESSES", 3)
    monkeypatch.setattr(zeek_live, "MAX_HOLDERS", 2)
    holders, t = AddressHolders(), 10_000.0
    for i in range(4):
        _seen(holders, f"10.0.0.{i}", "02:00:00:00:00:01", t - 10, t + 10)
    assert len(holders) == 3 and holders.holder("10.0.0.0", t) is None and holders.holder("10.0.0.3", t)
    _seen(holders, "10.0.0.3", "02:00:00:00:00:02", t - 20)
    _seen(holders, "10.0.0.3", "02:00:00:00:00:03", t - 5)  # a third holder: the one seen least lately goes
    assert set(holders._seen["10.0.0.3"]) == {("02:00:00:00:00:01", None), ("02:00:00:00:00:03", None)}
    assert holders.holder("10.0.0.3", t - 20) is None  # still two within the span: never decided


def test_sightings_older_than_any_record_still_to_decide_are_not_kept() -> None:
    """A long session's conn.log line, read hours after its start, adds nothing: no record that old is decided
    any more (the reorder window and a span either side), and the buckets kept per holder stay that few."""
    holders, t = AddressHolders(), 100_000.0
    _seen(holders, "10.0.0.5", "02:00:00:00:00:05", t)
    keep = REORDER_WINDOW_S + 2 * ADDRESS_SPAN_S
    _seen(holders, "10.0.0.5", "02:00:00:00:00:06", t - keep - HOLDER_BUCKET_S)
    _seen(holders, "10.0.0.5", "02:00:00:00:00:05", *(t - keep + i for i in range(0, int(keep), 3)))
    buckets = holders._seen["10.0.0.5"][("02:00:00:00:00:05", None)]
    assert ("02:00:00:00:00:06", None) not in holders._seen["10.0.0.5"] and len(buckets) <= keep / HOLDER_BUCKET_S + 1


def test_a_dhcp_line_that_names_no_address_is_passed_over(tmp_path: Path) -> None:
    follower = ZeekFollower(clock=Clock())
    bad = {"ts": 5000.0, "uids": ["C1"], "mac": "02:00:00:00:00:05", "assigned_addr": "not an address",
           "msg_types": ["REQUEST", "ACK"]}
    follower.add([(5000.0, 2, "dhcp", bad), (5000.0, 2, "dhcp", {"ts": 5000.0, "msg_types": ["ACK"]})])
    assert len(follower) == 2 and not follower.holders._acks


def _mixed_log(tmp_path: Path) -> bytes:
    """A dns.log with a malformed line, a blank one, a header changed midway (Zeek restarted into the same file)
    and a JSON line: every kind of item :func:`zeek._file_items` yields."""
    text = (write_logs(tmp_path / "mixed", [_dns(f"C{i}", 5000.0 + i) for i in range(6)]) / "dns.log").read_text()
    lines = text.splitlines(keepends=True)
    head = [ln for ln in lines if ln.startswith("#") and not ln.startswith("#close")]
    rows = [ln for ln in lines if not ln.startswith("#")]
    record = {"ts": 5100.0, "uid": "Cjson", "id.orig_h": "10.20.0.11", "id.orig_p": 40000, "id.resp_h": "10.20.0.1",
              "id.resp_p": 53, "proto": "udp", "query": "json.example"}
    return "".join([*head, *rows[:3], "not\ta\tdns\tline\n", "\n", "#fields\tbroken\n", *head, *rows[3:],
                    json.dumps(record) + "\n"]).encode()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10))
def test_a_gz_log_passes_over_the_lines_fed_before_without_decoding_them(tmp_path_factory: pytest.TempPathFactory,
                                                                         skip: int) -> None:
    """``skip`` items counted, not decoded: the same items after them as a whole read gives (directives, a bad
    header, malformed and JSON lines included), none decoded before them."""
    tmp_path = tmp_path_factory.mktemp("gz")
    gz = tmp_path / "dns.log.gz"
    gz.write_bytes(gzip.compress(_mixed_log(tmp_path)))
    whole = list(zeek._file_items(gz, "dns"))
    last = whole[-1][3]
    assert len(whole) == 8 and any(it[3] is None for it in whole) and isinstance(last, dict) and last["uid"] == "Cjson"
    decoded = []
    real = zeek_format.decode_tsv

    def count(*args: Any) -> Any:
        decoded.append(1)
        return real(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zeek, "decode_tsv", count)
        rest = list(zeek._file_items(gz, "dns", skip=skip))
    assert [(it[0], it[2], it[3]) for it in rest] == [(it[0], it[2], it[3]) for it in whole[skip:]]
    assert len(decoded) <= max(0, len(whole) - skip)


def test_a_gz_log_being_written_is_read_to_its_last_whole_line_without_a_malformed_one(tmp_path: Path) -> None:
    """Zeek writing a log gzip'd (LogAscii::gzip_level) flushes deflate blocks with no trailer yet: a monitor's
    read (whole lines) stops at the last whole line and counts nothing malformed, so the count of lines fed, by
    which the next read passes over them, stays true; read as finished, the missing trailer is one bad item."""
    plain = (write_logs(tmp_path / "w", [_dns(f"C{i}", 5000.0 + i) for i in range(10)]) / "conn.log").read_bytes()
    writer = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip framing
    cut = plain.index(b"C5") + 3
    gz = tmp_path / "conn.log.gz"
    gz.write_bytes(writer.compress(plain[:cut]) + writer.flush(zlib.Z_SYNC_FLUSH))
    first = list(zeek._file_items(gz, "conn", whole_lines=True))
    assert [it[3].extra["uid"] for it in first if isinstance(it[3], Flow)] == [f"C{i}" for i in range(5)]
    assert len(first) == 5
    assert list(zeek._file_items(gz, "conn"))[-1][3] is None  # read as finished: the truncation counted
    with gz.open("ab") as fh:
        fh.write(writer.compress(plain[cut:]) + writer.flush())
    rest = list(zeek._file_items(gz, "conn", whole_lines=True, skip=len(first)))
    assert [it[3].extra["uid"] for it in rest if isinstance(it[3], Flow)] == [f"C{i}" for i in range(5, 10)]
    assert len(rest) == 5


@pytest.mark.parametrize("patient", [False, True])
def test_a_live_read_stamps_from_addresses_and_a_patient_one_waits_for_the_records_own_line(
    tmp_path: Path, patient: bool
) -> None:
    """Its addresses seen with one MAC each before and after it: a live read stamps the record whose conn.log line
    has not come; ``monitor --once`` (patient: every line there is gets read) waits for that record's own line."""
    conns = [_dns("Cbefore", 5000.0), _dns("Clong", 5100.0), _dns("Cafter", 5200.0),
             _dns("Cnow", 5100.0 + 2 * REORDER_WINDOW_S, "10.20.0.12", "02:00:00:00:07:02")]
    folder = write_logs(tmp_path, conns)
    conn = [i for i in _items(folder, "conn") if isinstance(i[3], Flow) and i[3].extra["uid"] != "Clong"]
    follower = ZeekFollower(clock=Clock())
    out = _observations(list(follower.read([iter(conn), iter(_items(folder, "dns"))], patient=patient)))
    stamped = [o for o in out if o["ts"] >= 5100.0 and o["ts"] < 5101.0]
    if patient:
        assert not stamped and "Clong" in follower.unjoined
    else:
        assert len(stamped) == 2 and all(o["src_mac"] and o["dst_mac"] for o in stamped) and not follower.unjoined


def test_a_growing_log_read_within_an_over_long_line_counts_it_once_and_reads_on_past_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that ends within a line longer than MAX_LINE_BYTES counts it bad and starts the next read past it:
    before, the next read began again where this one had (no end of line within the bytes looked back at), so the
    lines between were read twice and the long line counted at every read."""
    monkeypatch.setattr(zeek_lines, "MAX_LINE_BYTES", 300)
    monkeypatch.setattr(zeek, "MAX_LINE_BYTES", 300)
    full = (write_logs(tmp_path / "w", [_dns(f"C{i}", 5000.0 + i) for i in range(4)]) / "conn.log").read_bytes()
    at = full.rindex(b"\n", 0, full.index(b"C2")) + 1  # C2's line starts there
    full = full[:at] + b"x" * 1000 + b"\n" + full[at:]
    log, resume, reads = tmp_path / "conn.log", zeek.Resume(), []
    for cut in (at + 400, at + 800, len(full)):
        log.write_bytes(full[:cut])
        reads.append(list(zeek._file_items(log, "conn", whole_lines=True, resume=resume)))
    items = [it for r in reads for it in r]
    assert [len(r) for r in reads] == [3, 0, 2] and sum(it[3] is None for it in items) == 1
    assert [it[3].extra["uid"] for it in items if isinstance(it[3], Flow)] == ["C0", "C1", "C2", "C3"]
    assert resume.offset == len(full) and not resume.skipping
