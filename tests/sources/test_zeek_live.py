"""A Zeek folder followed as Zeek writes it: records released in time order, joined across polls, within bounds."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.model import Flow
from iotwarden.sources import zeek, zeek_live
from iotwarden.sources.base import RecordBatch
from iotwarden.sources.zeek_live import HOLD_WALL_S, UNJOINED_WAIT_S, ZeekFollower
from iotwarden.sources.zeek_order import REORDER_WINDOW_S
from tests.sources.zeek_written import Conn, Txn, site_day, write_logs

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
