"""The conn.log fast path reads every line into the very Flow the general path makes (or leaves the line
to it): the two are compared field by field on the fixtures, an IoT-23-shaped log and fuzzed lines.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Flow
from iotwarden.services.analyze import analyze
from iotwarden.sources import zeek_conn
from iotwarden.sources.zeek import read_zeek
from iotwarden.sources.zeek_conn import ConnLines
from iotwarden.sources.zeek_format import TsvHeader, apply_directive
from iotwarden.sources.zeek_map import CONN_EXTRA
from iotwarden.store import Store
from iotwarden.store import writer as w
from tests.detect.labelled import SCENARIOS, engine_flows, inject, write_conn_log, write_labelled_conn_log
from tests.sources.zeeklog import CONN_COLUMNS, FORMATS, conn_row
from tests.sources.zeeklog import write_log as write_zeek_log

DATA = Path(__file__).parent / "data"
BENCH = Path(__file__).parents[2] / "bench" / "iot23_scale.py"
HEADER = (DATA / "zeek_tsv" / "conn.log").read_text().split("1700000000.1")[0]
GOOD = (DATA / "zeek_tsv" / "conn.log").read_text().splitlines()[9].split("\t")  # an HTTP flow with MACs and VLAN


def read(path: Path, *, fast: bool) -> tuple[list[Flow], int, int]:
    """(flows, records, skipped) of ``path`` through the fast path, or the general path alone."""
    mp = pytest.MonkeyPatch()
    if not fast:
        mp.setattr(ConnLines, "compile", classmethod(lambda cls, header: None))
    try:
        batches = list(read_zeek(path, batch_size=7))
    finally:
        mp.undo()
    return [f for b in batches for f in b.flows], sum(b.records for b in batches), sum(b.skipped for b in batches)


def assert_same(path: Path) -> list[Flow]:
    fast, general = read(path, fast=True), read(path, fast=False)
    assert fast[1:] == general[1:]  # records, skipped
    assert len(fast[0]) == len(general[0])
    for a, b in zip(fast[0], general[0], strict=True):
        assert a == b  # every field, extra included
        assert list(a.extra) == list(b.extra)  # and the order of extra's keys (stored as JSON)
    return fast[0]


@pytest.mark.parametrize("name", ["zeek_tsv/conn.log", "zeek_labelled/conn.log.labeled"])
def test_fixtures_read_the_same_both_ways(name: str) -> None:
    assert assert_same(DATA / name)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_negative_or_too_wide_count_makes_the_line_malformed(tmp_path: Path, fmt: str) -> None:
    # Zeek's count is unsigned 64-bit: a conn.log line with resp_pkts -1 or orig_bytes 2**64 is malformed, counted
    # and skipped on every path; it was read into a Flow with pkts_ba -1, and the anomaly detector failed on it
    # (math.log of a negative count)
    cam, srv = ("10.0.0.5", 50123, "00:50:56:00:00:05"), ("10.0.0.40", 80, "3c:d9:2b:00:00:40")
    good = conn_row(1_700_000_000.0, "C1", cam, srv, proto="tcp", service="http")
    negative, wide = list(good), list(good)
    negative[15], wide[9] = "-1", str(2**64)  # resp_pkts, orig_bytes
    write_zeek_log(tmp_path, "conn", CONN_COLUMNS, [good, negative, wide, good], fmt)
    flows, records, skipped = read(tmp_path / "conn.log", fast=True)
    assert (len(flows), records, skipped) == (2, 4, 2)
    assert all(min(f.pkts_ab, f.pkts_ba, f.bytes_ab, f.bytes_ba, f.payload_ab, f.payload_ba) >= 0 for f in flows)
    if fmt == "tsv":
        assert_same(tmp_path / "conn.log")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_time_past_the_year_9999_or_a_negative_duration_makes_the_line_malformed(tmp_path: Path, fmt: str) -> None:
    # found by fuzzing: a conn.log line stamped 1e19 s, or lasting 1e300 s, was stored as a Flow that no command could
    # show ('flows', 'devices' and analyze's own table: internal error, OverflowError in datetime.fromtimestamp);
    # Zeek writes neither, nor a negative duration (last packet's time less the first's), which made a flow end
    # before it began
    cam, srv = ("10.0.0.5", 50123, "00:50:56:00:00:05"), ("10.0.0.40", 80, "3c:d9:2b:00:00:40")
    good = conn_row(1_700_000_000.0, "C1", cam, srv, proto="tcp", service="http")
    late, lasting, negative, nan = list(good), list(good), list(good), list(good)
    late[0], lasting[8], negative[8], nan[0] = "1e19", "1e300", "-5.0", "nan"  # ts, duration
    last_second = list(good)
    last_second[0], last_second[8] = "253402300798.5", "0.5"  # ends at 9999-12-31T23:59:59Z: kept
    write_zeek_log(tmp_path, "conn", CONN_COLUMNS, [good, late, lasting, negative, nan, last_second], fmt)
    flows, records, skipped = read(tmp_path / "conn.log", fast=True)
    assert (len(flows), records, skipped) == (2, 6, 4)
    assert [f.last_seen for f in flows] == [1_700_000_000.2, 253_402_300_799.0]
    if fmt == "tsv":
        assert_same(tmp_path / "conn.log")


def iot23_log(path: Path, lines: int) -> Path:
    """A scan-heavy log in IoT-23's layout, as bench/iot23_scale.py writes it."""
    spec = importlib.util.spec_from_file_location("iot23_scale", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.write_log(path, lines)
    return path


def test_an_iot23_scale_log_reads_the_same_both_ways(tmp_path: Path) -> None:
    flows = assert_same(iot23_log(tmp_path / "conn.log.labeled", 3000))
    assert len(flows) == 3000


# what an analysis leaves in the store, without run times and row ids
TABLES = {
    "flows": "vlan, ip_proto, a_ip, a_port, b_ip, b_port, first_seen, last_seen, a_mac, b_mac, pkts_ab, pkts_ba, "
             "bytes_ab, bytes_ba, payload_ab, payload_ba, tcp_flags_ab, tcp_flags_ba, app, end_reason, extra",
    "alerts": "detector_id, title, severity, device_key, evidence, status, count",
    "findings": "check_id, title, severity, device_key, evidence, first_seen, last_seen",
    "devices": "key, mac, first_seen, last_seen, ips, hostnames, attributes, protocols, packets, bytes, vendor, "
               "model, device_type, category, os, classification",
    "evidence": "device_key, proto, kind, field, value, first_seen, last_seen, count",
    "device_ips": "device_key, ip, first_seen, last_seen",
    "captures": "packets, flows, observations, devices, status, stats",
}


def stored(log: Path, db: Path, *, fast: bool) -> dict[str, list[tuple[object, ...]]]:
    """Every table an analysis of ``log`` fills, with the fast paths (conn.log lines, SQLite rows) or without."""
    mp = pytest.MonkeyPatch()
    if not fast:
        mp.setattr(ConnLines, "compile", classmethod(lambda cls, header: None))
        mp.setattr(w.FlowWriter, "_sqlite", lambda self: None)
    store = Store(f"sqlite:///{db}")
    try:
        report = analyze([log], store)
        assert [f.status for f in report.files] == ["complete"]
        with store.session() as session:
            conn = session.connection()
            return {t: [tuple(r) for r in conn.exec_driver_sql(f"SELECT {c} FROM {t} ORDER BY id")]  # noqa: S608
                    for t, c in TABLES.items()}
    finally:
        store.close()
        mp.undo()


@pytest.fixture(scope="module")
def lab_flows(tmp_path_factory: pytest.TempPathFactory) -> list[Flow]:
    """Forty minutes of the benign enterprise lab, with scanners and C&C bots injected from the start."""
    folder = tmp_path_factory.mktemp("lab")
    generate(load_scenario(SCENARIOS / "enterprise.yaml"), folder / "b.pcap", duration=2400)
    flows, truth = inject(engine_flows(folder / "b.pcap"), n_scanners=3, n_bots=3, infected_from=0.0)
    assert truth.scanners and truth.bots
    return flows


@pytest.mark.parametrize("kind", ["iot23", "lab", "lab_labelled"])
def test_analysis_stores_the_same_with_and_without_the_fast_paths(tmp_path: Path, lab_flows: list[Flow],
                                                                   kind: str) -> None:
    """Same alerts (ids, counts, titles, evidence), devices, findings and stored flows, field by field."""
    if kind == "iot23":
        log = iot23_log(tmp_path / "conn.log.labeled", 20_000)
    elif kind == "lab":
        log = write_conn_log(tmp_path / "conn.log", lab_flows)
    else:
        log = write_labelled_conn_log(tmp_path / "conn.log.labeled", [(f, "-") for f in lab_flows])
    fast, general = stored(log, tmp_path / "fast.db", fast=True), stored(log, tmp_path / "general.db", fast=False)
    assert fast["alerts"] and fast["flows"] and fast["devices"]
    for table in TABLES:
        assert fast[table] == general[table], table


def test_the_fast_path_takes_plain_lines() -> None:
    header = TsvHeader()
    for line in HEADER.encode().splitlines():
        header = apply_directive(line, header)
    fast = ConnLines.compile(header)
    assert fast is not None
    flow = fast.flow("\t".join(GOOD).encode())
    assert flow is not None and (flow.a_ip, flow.b_port, flow.app, flow.vlan) == ("192.168.10.21", 80, "http", 10)
    assert fast.flow("\t".join([*GOOD[:3], "70000", *GOOD[4:]]).encode()) is None  # left to the general path
    assert fast.flow(b"\t".join([b"x"] * 3)) is None


@pytest.mark.parametrize(("old", "new"), [
    ("\tinterval\t", "\tstring\t"),  # duration declared as text: another decoding, general path only
    ("\tvlan\t", "\tts\t"),  # a column named twice
    ("\tid.resp_h\t", "\tresp_h\t"),  # no responder address column
])
def test_headers_the_fast_path_declines(old: str, new: str) -> None:
    header = TsvHeader()
    for line in HEADER.replace(old, new, 1).encode().splitlines():
        header = apply_directive(line, header)
    assert ConnLines.compile(header) is None


def test_a_remembered_tail_makes_extra_in_conn_extras_order() -> None:
    """A line's extra is {"uid": ..., **its tail's columns}: CONN_EXTRA's order only while uid is first."""
    assert CONN_EXTRA[0] == "uid"
    header = TsvHeader()
    for line in HEADER.encode().splitlines():
        header = apply_directive(line, header)
    fast = ConnLines.compile(header)
    assert fast is not None
    flows = [fast.flow("\t".join([*GOOD[:1], uid, *GOOD[2:]]).encode()) for uid in ("Cone", "-", "Ctwo")]
    assert [f.extra.get("uid") if f else "?" for f in flows] == ["Cone", None, "Ctwo"]
    for flow in flows:
        assert flow is not None and list(flow.extra) == [k for k in CONN_EXTRA if k in flow.extra]
        assert flow.extra["conn_state"] == GOOD[11]  # the tail's share, remembered


def test_a_flipped_line_says_so_on_both_paths(tmp_path: Path) -> None:
    """History "^" (Zeek flipped the connection): Flow.extra["flipped"] == "zeek", fast path or not."""
    at = HEADER.split("#fields")[1].split("\n")[0].split("\t").index("history") - 1
    lines = [[*GOOD[:at], "^dADa", *GOOD[at + 1 :]], GOOD]
    log = tmp_path / "conn.log"
    log.write_text(HEADER + "".join("\t".join(line) + "\n" for line in lines))
    flipped, plain = assert_same(log)
    assert (flipped.extra["flipped"], flipped.extra["history"]) == ("zeek", "^dADa")
    assert "flipped" not in plain.extra


# tokens each column may hold: valid values, Zeek's unset and empty markers, and malformed text
TOKENS = ["-", "(empty)", "", "0", "1", "23", "65535", "70000", "-4", "1.5", "nan", "inf", "T", "F", "x", "S",
          "ShADadFf", "^dADa", "Dd", "ssl", "-ssl,http", "dns,-ssl", "ssl,dns", "tcp", "udp", "icmp", "10.0.0.1",
          "0010.1.1.1", "::1", "FE80::1%eth0", "999.1.1.1", "AA:BB:CC:DD:EE:FF", "1_0", " 7", "\\x41b",
          "CHhAvVGS1DHFjwGM9", "a,-,b", "1   2   3", "-   Malicious", "caf\u00e9", "5\u0085", "\x1c5", "\u0661"]
# header layouts: (#fields/#types rewrite, a last column appended to every line)
LAYOUTS: dict[str, tuple[dict[str, str], str | None]] = {
    "plain": ({}, None),
    # IoT-23: a last #fields part holding three space-separated names, which the fast path does not decode
    "labelled": ({"\tinner_vlan\n": "\tinner_vlan\ttunnels   label   detailed-label\n",
                  "\tint\tint\n": "\tint\tint\tset[string]   string   string\n"},
                 "-   Malicious   PartOfAHorizontalPortScan"),
    # a grouped part with a number in it: such lines go the general way
    "labelled_count": ({"\tinner_vlan\n": "\tinner_vlan\tgap   label   detailed-label\n",
                        "\tint\tint\n": "\tint\tint\tcount   string   string\n"}, "7   Malicious   Part"),
    "failed_service": ({"\ttunnel_parents\t": "\tfailed_service\t"}, None),
    # a column the fast path does not read but must still refuse when malformed
    "extra_count": ({"\ttunnel_parents\t": "\tresp_gap\t", "\tset[string]\t": "\tcount\t"}, None),
    # conn_state where uid was and uid where conn_state was: a Flow.extra column in the line's head, so
    # extra is not made from a remembered tail (its keys keep CONN_EXTRA's order either way)
    "conn_state_early": ({"\tuid\t": "\tTMP\t", "\tconn_state\t": "\tuid\t", "\tTMP\t": "\tconn_state\t"}, None),
    # a column that differs on every line (uid) last: no tail to remember, each line decoded whole
    "uid_last": ({"\tuid\t": "\tsession\t", "\tinner_vlan\n": "\tuid\n", "\tint\tint\n": "\tint\tstring\n"}, None),
}


def write_log(path: Path, layout: str, lines: list[list[tuple[int, str]]]) -> Path:
    rewrite, last = LAYOUTS[layout]
    header, good = HEADER, list(GOOD)
    for old, new in rewrite.items():
        assert old in header
        header = header.replace(old, new)
    if last is not None:
        good.append(last)
    if layout == "extra_count":
        good[20] = "3"
    out = []
    for edits in lines:
        cols = list(good)
        for index, value in edits:
            cols[index % len(cols)] = value
        out.append("\t".join(cols))
    path.write_text(header + "\n".join(out) + "\n")
    return path


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_column_holding_every_token_reads_the_same_both_ways(tmp_path: Path, layout: str) -> None:
    lines: list[list[tuple[int, str]]] = [[]] + [[(index, token)] for index in range(len(GOOD) + 1) for token in TOKENS]
    flows = assert_same(write_log(tmp_path / "conn.log", layout, lines))
    assert len(flows) > len(GOOD) * 4  # most single edits still make a flow


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.tuples(st.integers(0, len(GOOD)), st.sampled_from(TOKENS)), max_size=5),
                min_size=1, max_size=12), st.sampled_from(list(LAYOUTS)))
def test_fuzzed_lines_read_the_same_both_ways(tmp_path: Path, lines: list[list[tuple[int, str]]],
                                              layout: str) -> None:
    assert_same(write_log(tmp_path / f"conn-{layout}.log", layout, lines))


def test_originators_are_remembered_normalised_up_to_their_limit(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_ORIGINS distinct id.orig_h the memory starts over; IPv6 originators still come out normalised."""
    monkeypatch.setattr(zeek_conn, "MAX_ORIGINS", 3)
    lines = [[(2, f"192.168.1.{n % 7 + 1}" if n % 2 else f"2001:DB8::{n % 5:x}"), (1, f"C{n}")] for n in range(30)]
    flows = assert_same(write_log(tmp_path / "conn.log", "plain", lines))
    assert len(flows) == 30
    assert {f.a_ip for f in flows if ":" in f.a_ip} == {"2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3",
                                                        "2001:db8::4"}
    header = TsvHeader()
    for line in HEADER.encode().splitlines():
        header = apply_directive(line, header)
    fast = ConnLines.compile(header)
    assert fast is not None
    for n in range(30):
        cols = list(GOOD)
        cols[2] = f"10.0.0.{n}"
        assert fast.flow("\t".join(cols).encode()) is not None
        assert len(fast._origins) <= 3
    cols = list(GOOD)
    cols[2] = "10.0.0.300"  # not an address: left to the general path, never remembered
    assert fast.flow("\t".join(cols).encode()) is None
    assert "10.0.0.300" not in fast._origins


def test_line_tails_are_remembered_up_to_their_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_TAILS distinct tails the memory starts over; every line still reads as the general path reads it."""
    monkeypatch.setattr(zeek_conn, "MAX_TAILS", 5)
    lines = [[(8, f"0.{n % 9}"), (1, f"C{n}")] for n in range(40)]  # 9 durations: 9 tails, under 40 uids
    flows = assert_same(write_log(tmp_path / "conn.log", "plain", lines))
    assert len(flows) == 40
    header = TsvHeader()
    for line in HEADER.encode().splitlines():
        header = apply_directive(line, header)
    fast = ConnLines.compile(header)
    assert fast is not None
    for n in range(40):
        cols = list(GOOD)
        cols[8] = f"0.{n % 9}"
        assert fast.flow("\t".join(cols).encode()) is not None
        assert len(fast._tails) <= 5


# byte-level damage to real conn.log lines (bit flips, inserted separators and quotes, deleted and copied spans,
# cut files, extreme numbers): a line is read or skipped and counted, never a crash, the same both ways
_SPLICES = [b"-", b"(empty)", b"1e309", b"nan", b"-1", b"99999999999999999999", b"\t", b"\n", b"::", b"256.1.1.1",
            b"65536", b"{}", b"[]", b"null", b'"', b"\\x09", b"\xff\xfe"]


def _damaged(data: bytes, start: int, rnd: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randint(1, 6)):
        if len(out) <= start:
            break
        pos = rnd.randrange(start, len(out))
        op = rnd.randrange(6)
        if op == 0:
            out[pos] ^= 1 << rnd.randrange(8)
        elif op == 1:
            out[pos:pos] = rnd.choice([b"\t", b"\n", b"\r", b"\x00", b",", b'"', b"{", b"[", b"\\"])
        elif op == 2:
            del out[pos : pos + rnd.randint(1, 8)]
        elif op == 3:
            del out[pos:]
        elif op == 4:
            out[pos : pos + 1] = rnd.choice(_SPLICES)
        else:
            src = rnd.randrange(start, len(out))
            out[pos:pos] = out[src : src + rnd.randint(1, 40)]
    return bytes(out)


@pytest.mark.parametrize("name", ["zeek_tsv/conn.log", "zeek_labelled/conn.log.labeled"])
def test_fuzz_damaged_tsv_lines_are_skipped_the_same_both_ways(tmp_path: Path, name: str) -> None:
    data = (DATA / name).read_bytes()
    start = data.index(b"\n", data.index(b"#types")) + 1  # the header stays whole: lines are what is damaged
    path = tmp_path / Path(name).name
    for n in range(60):
        path.write_bytes(_damaged(data, start, random.Random(f"{name}:{n}")))
        flows = assert_same(path)
        assert all(f.first_seen <= f.last_seen for f in flows)


def test_fuzz_damaged_json_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    data = (DATA / "zeek_json" / "conn.log").read_bytes()
    first = data.index(b"\n") + 1  # one whole line, so that the file is still recognised as a conn.log
    path = tmp_path / "conn.log"
    for n in range(60):
        path.write_bytes(_damaged(data, first, random.Random(f"json:{n}")))
        batches = list(read_zeek(path, batch_size=7))
        assert all(b.skipped <= b.records for b in batches)
        assert sum(b.records for b in batches) >= 1
