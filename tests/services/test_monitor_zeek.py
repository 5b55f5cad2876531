"""monitor DIR on a folder Zeek is writing into: the same inventory and alerts as analyze of the finished logs,
with logs appended in Zeek's write order across polls and rotated (renamed, a gz archive beside) midway."""

from __future__ import annotations

import gzip
import re
import shutil
import zlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Flow
from iotwarden.model.alert import Alert
from iotwarden.services.analyze import analyze
from iotwarden.services.monitor import Monitor, zeek_ident
from iotwarden.sources.zeek_live import HOLD_WALL_S, UNJOINED_WAIT_S
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow
from iotwarden.store.schema import DeviceRow
from tests.detect.botnets import infect
from tests.detect.labelled import engine_flows, write_conn_log
from tests.sources.zeek_written import COLUMNS, Conn, removed_at, site_day, write_logs
from tests.sources.zeeklog import write_log

Stored = tuple[list[tuple[Any, ...]], dict[str, tuple[Any, ...]], list[tuple[Any, ...]]]  # alerts, devices, findings

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
OPENED, ROTATED = "2023-11-14-22-00-00", "2023-11-14-22-30-00"


def _writes(conns: list[Conn]) -> list[tuple[str, str]]:
    """Every line of every log, (log, TSV line), in the order Zeek writes them: each when its record is done."""
    timed = []
    for c in conns:
        timed.append((c.written(), c.ts, "conn", "\t".join(c.conn_row()) + "\n"))
        timed += [(c.ts + t.at + t.took, c.ts + t.at, t.log, "\t".join(c.txn_row(t)) + "\n") for t in c.txns]
    return [(log, line) for *_, log, line in sorted(timed, key=lambda t: (t[0], t[1]))]


def _header(log: str, opened: str, scratch: Path) -> str:
    text = write_log(scratch, log, COLUMNS[log], [], "tsv").read_text()
    return "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("#close")).replace(
        f"#open\t{OPENED}", f"#open\t{opened}")


def _stored(store: Store) -> Stored:
    """The stored alerts, devices (MAC, vendor, type, category, host names) and risk findings."""
    with store.session() as s:
        alerts = sorted((a.detector_id, a.device_key, a.count, a.evidence.get("src_ip")) for a in s.scalars(
            select(AlertRow)))
        devices = {d.key: (d.mac, d.vendor, d.device_type, d.category, sorted(d.hostnames))
                   for d in s.scalars(select(DeviceRow))}
        findings = sorted((f.check_id, f.device_key, f.severity) for f in s.scalars(select(FindingRow)))
    return alerts, devices, findings


def _analysed(folder: Path, db: Path) -> Stored:
    store = Store(f"sqlite:///{db}")
    analyze([folder], store)
    try:
        return _stored(store)
    finally:
        store.close()


def _followed(mon: Monitor) -> list[str]:
    """Records the analyzers were given, by conn.log uid (each once)."""
    fed: list[str] = []
    real = mon.addons.flows

    def flows(batch: Iterable[Flow]) -> None:
        batch = list(batch)
        fed.extend(str(f.extra["uid"]) for f in batch if "uid" in f.extra)
        real(batch)

    mon.addons.flows = flows  # type: ignore[method-assign,assignment]
    return fed


@pytest.fixture(scope="module")
def day() -> list[Conn]:
    return site_day(7, devices=4, hours=1.0)


@pytest.fixture(scope="module")
def expected(day: list[Conn], tmp_path_factory: pytest.TempPathFactory) -> Stored:
    folder = write_logs(tmp_path_factory.mktemp("whole"), day)
    return _analysed(folder, tmp_path_factory.mktemp("db") / "analyze.db")


@pytest.fixture(scope="module")
def bots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's site (1.5 h) with every bot family from its start, as a conn.log in Zeek's write order."""
    folder = tmp_path_factory.mktemp("bots")
    generate(load_scenario(SCENARIOS / "enterprise.yaml"), folder / "day.pcap", duration=1.5 * 3600)
    flows = [f for f, _ in infect(engine_flows(folder / "day.pcap"), seed=4, infected_from=0.0)[0]]
    (folder / "day.pcap").unlink()
    return write_conn_log(folder / "conn.log", flows, order="written")


def _follow(tmp_path: Path, writes: list[tuple[str, str]], headers: dict[str, str], pieces: int
            ) -> tuple[Store, list[str]]:
    """A monitor polling a folder that ``writes`` go into in ``pieces`` (each log's new file starting with its
    header), Zeek rotating every log halfway and the rotated conn.log's gz archive appearing at the end."""
    watched = tmp_path / "spool"
    watched.mkdir()
    store = Store(f"sqlite:///{tmp_path / 'monitor.db'}")
    mon = Monitor(store=store, clock=lambda: 0.0)  # a replay: no wall-clock release
    fed = _followed(mon)
    opened = OPENED
    for i in range(pieces):
        if i == pieces // 2:  # Zeek rotates: each log closed, renamed with its time, its name started afresh
            for log in headers:
                current = watched / f"{log}.log"
                if current.exists():
                    with current.open("a") as fh:
                        fh.write(f"#close\t{ROTATED}\n")
                    current.rename(watched / f"{log}.{ROTATED}.log")
            opened = ROTATED
        for log, line in writes[len(writes) * i // pieces: len(writes) * (i + 1) // pieces]:
            current = watched / f"{log}.log"
            text = line if current.exists() else headers[log].replace(f"#open\t{OPENED}", f"#open\t{opened}") + line
            with current.open("a") as fh:
                fh.write(text)
        mon.scan(watched)
        mon.scan(watched)  # a new name is read once it has settled
    archive = watched / f"conn.{ROTATED}.log"  # the rotated conn.log gzip'd beside it (ZeekControl's archive name)
    (watched / "conn.22:00:00-22:30:00.log.gz").write_bytes(gzip.compress(archive.read_bytes()))
    mon.scan(watched)
    mon.scan(watched)
    mon.finish()
    return store, fed


@pytest.mark.parametrize("pieces", [3, 8, 40])
def test_logs_appended_across_polls_and_rotated_give_what_analyze_gives(
        tmp_path: Path, day: list[Conn], expected: Stored, pieces: int) -> None:
    """A site's conn, dns, http and ssl logs: MACs joined onto the records of connections logged polls later."""
    headers = {log: _header(log, OPENED, tmp_path / "scratch") for log in COLUMNS}
    store, fed = _follow(tmp_path, _writes(day), headers, pieces)
    try:
        assert Counter(fed) == Counter(c.uid for c in day)  # every connection once: none lost, none doubled
        assert _stored(store) == expected
        assert any(d[0] and d[1] for d in expected[1].values())  # MAC and vendor come from joined records
    finally:
        store.close()


@pytest.mark.parametrize("pieces", [5, 23])
def test_a_conn_log_followed_across_polls_and_rotated_raises_what_analyze_raises(
        tmp_path: Path, bots: Path, pieces: int) -> None:
    text = bots.read_text().splitlines(keepends=True)
    header = "".join(ln for ln in text if ln.startswith("#") and not ln.startswith("#close"))
    header = re.sub(r"#open\t\S+", f"#open\t{OPENED}", header)
    writes = [("conn", ln) for ln in text if not ln.startswith("#")]
    expected = _analysed(bots.parent, tmp_path / "analyze.db")
    store, fed = _follow(tmp_path, writes, {"conn": header}, pieces)
    try:
        assert len(fed) == len(set(fed)) == len(writes)
        assert len(expected[0]) > 20 and expected[2] and _stored(store) == expected  # alerts and risk findings
    finally:
        store.close()


def test_monitor_once_gives_what_analyze_gives(tmp_path: Path, day: list[Conn],
                                               expected: Stored) -> None:
    folder = write_logs(tmp_path / "logs", day)
    store = Store(f"sqlite:///{tmp_path / 'monitor.db'}")
    mon = Monitor(store=store)
    mon.poll(folder, once=True)
    mon.finish()
    try:
        assert _stored(store) == expected
    finally:
        store.close()


def test_a_log_is_known_by_its_content_under_any_name(tmp_path: Path, day: list[Conn]) -> None:
    folder = write_logs(tmp_path, day[:5])
    gz = tmp_path / "conn.22:00:00-23:00:00.log.gz"
    gz.write_bytes(gzip.compress((folder / "conn.log").read_bytes()))
    renamed = shutil.copy(folder / "conn.log", tmp_path / f"conn.{ROTATED}.log")
    assert zeek_ident(folder / "conn.log") == zeek_ident(gz) == zeek_ident(Path(renamed)) is not None
    assert zeek_ident(folder / "dns.log") != zeek_ident(folder / "conn.log")
    header_only = tmp_path / "x.log"
    header_only.write_text(_header("conn", OPENED, tmp_path / "scratch"))
    assert zeek_ident(header_only) is None  # no record yet: named once it has one


def test_captures_in_the_watched_folder_are_read_beside_zeek_logs(tmp_path: Path, day: list[Conn]) -> None:
    watched = write_logs(tmp_path / "spool", day[:50])
    generate(load_scenario(SCENARIOS / "enterprise-attack.yaml"), watched / "attack.pcap")
    mon = Monitor()
    fed = _followed(mon)
    mon.poll(watched, once=True)
    alerts = mon.finish()
    assert {"detect.scan.telnet_mirai", "detect.bruteforce.telnet"} <= {a.id for a in alerts}
    assert set(fed) >= {c.uid for c in day[:50]} and mon.files == 5


def test_a_log_first_seen_before_its_header_was_whole_is_read_once_it_is(tmp_path: Path, day: list[Conn]) -> None:
    whole = write_logs(tmp_path / "whole", day[:20])
    text = (whole / "conn.log").read_text()
    watched = tmp_path / "spool"
    watched.mkdir()
    log = watched / "conn.log"
    log.write_text(text[:5])  # "#sepa": Zeek has only begun the file
    mon = Monitor()
    fed = _followed(mon)
    mon.scan(watched)
    mon.scan(watched)
    assert mon.seen["conn.log"].kind is None and not fed
    log.write_text(text)
    mon.scan(watched)
    mon.scan(watched)
    mon.finish()
    assert sorted(fed) == sorted(c.uid for c in day[:20])


def test_a_quiet_network_gets_its_records_after_the_wall_clock_bound(tmp_path: Path, day: list[Conn]) -> None:
    """Nothing newer comes into conn.log: what it holds goes to the analyzers HOLD_WALL_S after it was read."""
    watched = write_logs(tmp_path / "spool", day[:30])
    now = [0.0]
    mon = Monitor(clock=lambda: now[0])
    fed = _followed(mon)
    mon.scan(watched)
    mon.scan(watched)
    held = len(mon.followers[watched])
    assert held and len(fed) < 30
    now[0] += HOLD_WALL_S - 1
    mon.scan(watched)
    assert len(mon.followers[watched]) == held
    now[0] += 1
    mon.scan(watched)  # no new line: the poll itself lets them go
    assert len(mon.followers[watched]) == 0 and sorted(fed) == sorted(c.uid for c in day[:30])
    mon.finish()


def test_a_live_sensor_polled_as_zeek_writes_gets_what_analyze_gives(tmp_path: Path) -> None:
    """Each line appended at the network time Zeek writes it, the monitor's clock that time and a poll every
    30 s (the wall-clock bounds at work), sessions of up to 2.7 h whose conn.log line comes long after their
    ssl.log record (stamped from their addresses' other connections, zeek_live.AddressHolders) and a
    reused address: the same stored alerts, devices and findings as analyze of the finished folder."""
    day = site_day(11, devices=4, hours=3.0)
    assert max(c.written() - c.ts for c in day) > UNJOINED_WAIT_S
    expected = _analysed(write_logs(tmp_path / "whole", day), tmp_path / "analyze.db")
    headers = {log: _header(log, OPENED, tmp_path / "scratch") for log in COLUMNS}
    timed = sorted((c.written(), c.ts, "conn", "\t".join(c.conn_row()) + "\n") for c in day)
    timed = sorted(timed + [(c.ts + t.at + t.took, c.ts + t.at, t.log, "\t".join(c.txn_row(t)) + "\n")
                            for c in day for t in c.txns])
    watched = tmp_path / "spool"
    watched.mkdir()
    now = [timed[0][0]]
    store = Store(f"sqlite:///{tmp_path / 'monitor.db'}")
    mon = Monitor(store=store, clock=lambda: now[0])
    fed = _followed(mon)
    at = 0
    while at < len(timed):
        now[0] += 30.0
        while at < len(timed) and timed[at][0] <= now[0]:
            _, _, log, line = timed[at]
            current = watched / f"{log}.log"
            text = line if current.exists() else headers[log] + line
            with current.open("a") as fh:
                fh.write(text)
            at += 1
        mon.scan(watched)
    mon.finish()
    try:
        assert Counter(fed) == Counter(c.uid for c in day)
        assert _stored(store) == expected
    finally:
        store.close()


def test_a_conn_log_zeek_writes_gzipd_is_followed_reading_on_from_where_it_stopped(tmp_path: Path,
                                                                                  day: list[Conn]) -> None:
    """Zeek with LogAscii::gzip_level writes conn.log.gz a deflate block at a time (no trailer until closed): each
    poll reads on from the compressed bytes it had read (sources/zeek_gzip.py), every connection fed once."""
    whole = (write_logs(tmp_path / "whole", day[:200]) / "conn.log").read_bytes()
    writer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    watched = tmp_path / "spool"
    watched.mkdir()
    log = watched / "conn.log.gz"
    mon = Monitor(clock=lambda: 0.0)
    fed = _followed(mon)
    offsets = []
    for i in range(6):
        piece = whole[len(whole) * i // 6: len(whole) * (i + 1) // 6]  # cut within lines
        with log.open("ab") as fh:
            fh.write(writer.compress(piece) + writer.flush(zlib.Z_SYNC_FLUSH if i < 5 else zlib.Z_FINISH))
        mon.scan(watched)
        mon.scan(watched)
        offsets.append(mon.seen[log.name].resume.gzip.offset)
    mon.finish()
    assert offsets == sorted(offsets) and offsets[-1] == log.stat().st_size and offsets[0] > 0
    assert Counter(fed) == Counter(c.uid for c in day[:200])


def test_a_new_log_that_grows_at_every_poll_is_read_from_the_first(tmp_path: Path, day: list[Conn]) -> None:
    """Zeek appends to conn.log all the time on a busy network: a new log (found at start, or begun by rotation)
    is read as soon as it names itself (a whole first record), not once a poll finds it unchanged, which a busy
    sensor's never is; a log whose header is not whole yet waits."""
    text = (write_logs(tmp_path / "whole", day[:60]) / "conn.log").read_text().splitlines(keepends=True)
    header = [ln for ln in text if ln.startswith("#") and not ln.startswith("#close")]
    rows = [ln for ln in text if not ln.startswith("#")]
    watched = tmp_path / "spool"
    watched.mkdir()
    log = watched / "conn.log"
    mon = Monitor(clock=lambda: 0.0)
    fed = _followed(mon)
    log.write_text("".join(header[:2]))
    mon.scan(watched)
    read = []
    for i in range(6):
        with log.open("a") as fh:
            fh.write("".join(header[2:]) if i == 0 else "")
            fh.write("".join(rows[len(rows) * i // 6: len(rows) * (i + 1) // 6]))
        mon.scan(watched)
        read.append(mon.seen["conn.log"].records)
    mon.finish()
    assert read == [len(rows) * (i + 1) // 6 for i in range(6)]  # each poll's new lines, at that poll
    assert sorted(fed) == sorted(c.uid for c in day[:60])


def _alert_facts(alerts: list[Alert]) -> list[tuple[Any, ...]]:
    return sorted((a.id, a.subject, a.key, a.src_ip, a.dst_ip, round(a.first_seen, 3), round(a.last_seen, 3), a.count)
                  for a in alerts)


def test_a_conn_log_appended_as_zeek_writes_it_raises_what_monitor_once_raises(tmp_path: Path, bots: Path) -> None:
    """The lab's bot day, each conn.log line appended at the time Zeek writes it (its connection's removal:
    zeek_written.removed_at), the monitor's clock that time, a poll every 5 s (both wall-clock bounds at work, the
    new log read at once): the same alerts, to their first and last times and counts, as monitor --once of the
    finished log."""
    text = bots.read_text().splitlines(keepends=True)
    header = "".join(ln for ln in text if ln.startswith("#") and not ln.startswith("#close"))
    names = next(ln for ln in text if ln.startswith("#fields")).rstrip("\n").split("\t")[1:]
    col = {name: i for i, name in enumerate(names)}
    timed = []
    for line in (ln for ln in text if not ln.startswith("#")):
        parts = line.rstrip("\n").split("\t")
        last = float(parts[0]) + (float(parts[col["duration"]]) if parts[col["duration"]] != "-" else 0.0)
        timed.append((removed_at(last, parts[col["proto"]], parts[col["conn_state"]], parts[col["service"]]), line))
    timed.sort(key=lambda t: t[0])
    once = Monitor()
    once.poll(bots.parent, once=True)
    expected = _alert_facts(once.finish())
    watched = tmp_path / "spool"
    watched.mkdir()
    log = watched / "conn.log"
    now = [timed[0][0]]
    mon = Monitor(clock=lambda: now[0])
    at = 0
    while at < len(timed):
        now[0] += 5.0
        lines = []
        while at < len(timed) and timed[at][0] <= now[0]:
            lines.append(timed[at][1])
            at += 1
        if lines:
            written = ("" if log.exists() else header) + "".join(lines)
            with log.open("a") as fh:
                fh.write(written)
        mon.scan(watched)
    assert len(expected) > 20 and _alert_facts(mon.finish()) == expected
