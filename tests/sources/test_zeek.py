"""read_zeek / sniff_zeek: files and directories, gzip, batching, joins across logs, bad input."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotwarden.errors import CaptureError, ConfigError
from iotwarden.sources import zeek, zeek_join, zeek_lines, zeek_order
from iotwarden.sources.base import RecordBatch
from iotwarden.sources.zeek import read_zeek, sniff_zeek
from tests.sources.zeek_written import lines, site_day, write_logs

DATA = Path(__file__).parent / "data"
TSV, JSONDIR = DATA / "zeek_tsv", DATA / "zeek_json"
CAM, GW, WS, PRN = "c0:56:e3:12:34:56", "00:0d:b9:4a:10:01", "3c:52:82:0e:77:19", "00:1b:a9:5c:7d:2e"
TYPES = ["conn", "dhcp", "dns", "http", "known_devices", "known_hosts", "known_services", "software", "ssh",
         "ssl", "x509"]
DNS_HEADER = (TSV / "dns.log").read_text().split("\n1700000000")[0] + "\n"


def everything(path: Path, **kw: Any) -> tuple[list[RecordBatch], list[dict[str, Any]], list[dict[str, Any]]]:
    batches = list(read_zeek(path, **kw))
    obs = [_rounded(o.to_dict()) for b in batches for o in b.observations]
    flows = [_rounded(f.to_dict()) for b in batches for f in b.flows]
    return batches, obs, flows


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    """Times rounded to the microsecond Zeek writes (ISO and decimal text parse to nearby floats)."""
    return {k: round(v, 6) if k in ("ts", "first_seen", "last_seen") else v for k, v in d.items()}


# --- sniffing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("log_type", TYPES)
def test_sniff_names_the_log_type_in_both_formats(log_type: str) -> None:
    assert sniff_zeek(TSV / f"{log_type}.log") == log_type
    assert sniff_zeek(JSONDIR / f"{log_type}.log") == log_type


def test_sniff_json_without_path_uses_the_keys_when_the_name_says_nothing(tmp_path: Path) -> None:
    target = tmp_path / "export-0001.json"
    shutil.copy(JSONDIR / "dns.log", target)
    assert sniff_zeek(target) == "dns"


def test_sniff_rejects_what_is_not_a_zeek_log(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "pcap.log").write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(40))
    (tmp_path / "other.json").write_text('{"time": 1, "event": "login"}\n')
    (tmp_path / "list.json").write_text("[1, 2, 3]\n")
    (tmp_path / "syslog.log").write_text("Nov 14 22:13:20 host sshd[1]: Accepted\n")
    for name in ("empty.log", "pcap.log", "other.json", "list.json", "syslog.log", "missing.log"):
        assert sniff_zeek(tmp_path / name) is None, name


# --- errors ---------------------------------------------------------------------------------------

def test_not_a_zeek_log_is_a_clear_capture_error(tmp_path: Path) -> None:
    bogus = tmp_path / "capture.pcap"
    bogus.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(40))
    with pytest.raises(CaptureError, match="not a Zeek log"):
        list(read_zeek(bogus))
    with pytest.raises(CaptureError, match="no such file"):
        list(read_zeek(tmp_path / "nope.log"))
    with pytest.raises(CaptureError, match="no Zeek log"):
        list(read_zeek(tmp_path))


def test_a_log_type_we_do_not_read_is_named_in_the_error(tmp_path: Path) -> None:
    weird = tmp_path / "weird.log"
    weird.write_text(DNS_HEADER.replace("#path\tdns", "#path\tweird"))
    with pytest.raises(CaptureError, match=r"weird\.log carries nothing"):
        list(read_zeek(weird))


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        read_zeek(TSV / "conn.log", batch_size=0)


def test_a_header_only_log_gives_no_batch(tmp_path: Path) -> None:
    (tmp_path / "dns.log").write_text(DNS_HEADER + "#close\t2023-11-14-23-00-00\n")
    assert list(read_zeek(tmp_path / "dns.log")) == []


# --- formats agree ----------------------------------------------------------------------------------

def test_tsv_and_json_directories_give_the_same_records() -> None:
    _, tsv_obs, tsv_flows = everything(TSV)
    _, json_obs, json_flows = everything(JSONDIR)
    assert len(tsv_obs) == 45
    assert len(tsv_flows) == 8
    assert json_obs == tsv_obs
    assert json_flows == tsv_flows


@pytest.mark.parametrize("source", [TSV / "conn.log", JSONDIR / "dns.log", TSV / "x509.log"])
def test_gzip_logs_read_like_plain_ones(tmp_path: Path, source: Path) -> None:
    packed = tmp_path / f"{source.stem}.00:00:00-01:00:00.log.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    assert sniff_zeek(packed) == source.stem
    assert everything(packed)[1:] == everything(source)[1:]


def test_truncated_gzip_keeps_what_was_read_and_counts_the_damage(tmp_path: Path) -> None:
    whole = gzip.compress((TSV / "conn.log").read_bytes() * 40, compresslevel=0)  # stored: cut is in the middle
    cut = tmp_path / "conn.log.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    batches, _, flows = everything(cut)
    assert len(flows) > 8
    assert sum(b.skipped for b in batches) >= 1


# --- batching -------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [1, 3, 7, 40, 10000])
def test_batch_boundaries_lose_nothing(batch_size: int) -> None:
    _, all_obs, all_flows = everything(TSV)
    batches, obs, flows = everything(TSV, batch_size=batch_size)
    assert (obs, flows) == (all_obs, all_flows)
    assert sum(b.records for b in batches) == 40  # data lines in the fixture directory
    assert all(b.records == batch_size for b in batches[:-1])
    last_ts = [b.last_ts for b in batches]
    assert last_ts == sorted(last_ts)  # last_ts never goes back
    assert last_ts[-1] == pytest.approx(1700000020.0)


# --- joins across logs ------------------------------------------------------------------------------

def test_conn_uid_puts_macs_and_vlan_on_the_other_logs() -> None:
    _, obs, _ = everything(TSV)
    query = next(o for o in obs if o["kind"] == "query" and o["fields"]["id"] == 4660)
    response = next(o for o in obs if o["kind"] == "response" and o["fields"]["id"] == 4660)
    assert (query["src_mac"], query["dst_mac"], query["vlan"]) == (CAM, GW, 10)
    assert (response["src_mac"], response["dst_mac"], response["vlan"]) == (GW, CAM, 10)
    banners = [o for o in obs if o["proto"] == "ssh" and o["src_port"] == 22]
    assert banners[0]["src_mac"] == CAM  # the responder of conn CUM0KZ3MLUfNB0cl11
    alone = [o for b in read_zeek(TSV / "dns.log") for o in b.observations]
    assert alone[0].src_mac is None  # dns.log alone has no link layer


def test_x509_certificates_join_the_tls_server_that_sent_them() -> None:
    _, obs, _ = everything(TSV)
    certs = [o for o in obs if o["kind"] == "certificate"]
    assert [(c["src_ip"], c["src_port"], c["dst_ip"], c["src_mac"], c["fields"]["cert_count"]) for c in certs] == [
        ("192.168.10.30", 443, "192.168.10.50", PRN, 2),  # the chain named by cert_chain_fps, once complete
        (None, None, None, None, 1),  # logged with no ssl.log record naming it
    ]
    leaf, ca = certs[0]["fields"]["certs"]
    assert leaf["subject"].startswith("CN=printer.corp.example")
    assert ca["subject"].startswith("CN=Example Printers Device CA")


def test_a_certificate_logged_earlier_joins_later_connections(tmp_path: Path) -> None:
    x509 = [json.loads(line) for line in (JSONDIR / "x509.log").read_text().splitlines()]
    ssl = [json.loads(line) for line in (JSONDIR / "ssl.log").read_text().splitlines()]
    x509[0]["ts"] = "2023-11-14T22:00:00Z"  # Zeek logs a certificate once, before this connection
    (tmp_path / "x509.log").write_text(json.dumps(x509[0]) + "\n")
    (tmp_path / "ssl.log").write_text(json.dumps(ssl[0]) + "\n")
    certs = [o for b in read_zeek(tmp_path) for o in b.observations if o.kind == "certificate"]
    assert [(c.src_ip, c.dst_ip) for c in certs] == [(None, None), ("192.168.10.30", "192.168.10.50")]


def _conn_dns_pair(tmp_path: Path, n: int) -> Path:
    conn, dns = [], []
    for i in range(n):
        base = {"id.orig_h": "10.1.0.2", "id.orig_p": 40000 + i, "id.resp_h": "10.1.0.1", "id.resp_p": 53,
                "proto": "udp", "uid": f"C{i}"}
        conn.append({"ts": 100.0 + i, **base, "orig_l2_addr": f"02:00:00:00:00:{i:02x}", "resp_l2_addr": GW})
        dns.append({"ts": 200.0 + i, **base, "trans_id": i, "query": "a.example", "qtype_name": "A"})
    (tmp_path / "conn.log").write_text("".join(json.dumps(r) + "\n" for r in conn))
    (tmp_path / "dns.log").write_text("".join(json.dumps(r) + "\n" for r in dns))
    return tmp_path


def test_tracked_uids_are_limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek_join, "MAX_TRACKED_UIDS", 2)
    got = [o for b in read_zeek(_conn_dns_pair(tmp_path, 4)) for o in b.observations]
    # all four conns are read before any dns record: only the last two are still remembered
    assert [o.src_mac for o in got] == [None, None, "02:00:00:00:00:02", "02:00:00:00:00:03"]


def test_tracked_certificates_are_limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek_join, "MAX_TRACKED_CERTS", 1)
    shutil.copy(TSV / "ssl.log", tmp_path)
    shutil.copy(TSV / "x509.log", tmp_path)
    certs = [o for b in read_zeek(tmp_path) for o in b.observations if o.kind == "certificate"]
    # the chain waits for two certificates but only one key is remembered: the leaf goes out alone,
    # and the chain, never complete, goes out at the end of input with the CA it did find
    assert [(c.src_ip, len(c.fields["certs"])) for c in certs] == [(None, 1), (None, 1), ("192.168.10.30", 1)]
    assert certs[2].fields["certs"][0]["sha256"] == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


# --- Zeek's write order: each record written when done, stamped with its start ------------------------

def _by_content(items: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True, default=str) for item in items)


@pytest.mark.parametrize("fmt", ["tsv", "json"])
def test_logs_in_zeeks_write_order_join_every_record_as_sorted_logs_do(tmp_path: Path, fmt: str) -> None:
    conns = site_day(7)
    written = write_logs(tmp_path / "written", conns, order="written", fmt=fmt)
    starts = [float(row[0]) for row in lines(conns, "written")["conn"]]
    assert starts != sorted(starts)  # as Zeek writes it: conn.log lines at each connection's end
    _, obs, flows = everything(written)
    _, sorted_obs, sorted_flows = everything(write_logs(tmp_path / "sorted", conns, order="sorted", fmt=fmt))
    assert len(obs) == 2 * sum(len(c.txns) for c in conns)  # query and answer, request and response, hellos
    assert all(o["src_mac"] and o["dst_mac"] for o in obs)  # each joined to its conn.log line's MACs
    assert _by_content(obs) == _by_content(sorted_obs)
    assert _by_content(flows) == _by_content(sorted_flows)


def test_rotated_logs_in_write_order_are_joined_across_their_files(tmp_path: Path) -> None:
    conns = site_day(7, devices=4)
    folder = write_logs(tmp_path, conns)
    text = (folder / "conn.log").read_text().splitlines(keepends=True)
    header = [ln for ln in text if ln.startswith("#") and not ln.startswith("#close")]
    data = [ln for ln in text if not ln.startswith("#")]
    (folder / "conn.2023-11-14-22-00-00.log").write_text("".join(header + data[: len(data) // 2]))
    (folder / "conn.log").write_text("".join(header + data[len(data) // 2 :]))  # long sessions: in the second
    _, obs, _ = everything(folder)
    assert len(obs) == 2 * sum(len(c.txns) for c in conns)
    assert all(o["src_mac"] and o["dst_mac"] for o in obs)


def test_late_conn_lines_read_ahead_are_limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek, "MAX_LATE_UIDS", 1)
    conns = site_day(7)
    long = {(c.orig[0], c.orig[1]) for c in conns if c.written() - c.ts > zeek_order.REORDER_WINDOW_S}
    _, obs, _ = everything(write_logs(tmp_path, conns))
    client = {(c.orig[0], c.orig[1]) for c in conns}
    ends = [((o["src_ip"], o["src_port"]), (o["dst_ip"], o["dst_port"])) for o in obs if o["src_mac"] is None]
    unstamped = {src if src in client else dst for src, dst in ends}
    # one late line remembered at a time: records of sessions logged more than the window after they started go
    # out without MACs (all are joined with the limit as it is), every other record is joined in the window
    assert unstamped
    assert unstamped < long


def test_a_bare_conn_log_is_not_read_ahead() -> None:
    assert zeek._late_links([DATA / "zeek_labelled" / "conn.log.labeled"]) is None  # no MACs to stamp with


# --- a directory is one capture ---------------------------------------------------------------------

def test_directory_reads_rotated_logs_in_time_order_and_ignores_other_files(tmp_path: Path) -> None:
    lines = (TSV / "conn.log").read_text().splitlines(keepends=True)
    header = [ln for ln in lines if ln.startswith("#") and not ln.startswith("#close")]
    data = [ln for ln in lines if not ln.startswith("#")]
    (tmp_path / "conn.2023-11-14-22-00-00.log").write_text("".join(header + data[:4]))
    (tmp_path / "conn.log").write_text("".join(header + data[4:]))
    (tmp_path / "loaded_scripts.log").write_text(DNS_HEADER.replace("#path\tdns", "#path\tloaded_scripts"))
    (tmp_path / ".state").write_text("not a log")
    shutil.copy(TSV / "dns.log", tmp_path)
    _, obs, flows = everything(tmp_path)
    assert [f["a_port"] for f in flows] == [51234, 40512, 52000, 60022, 0, 51515, 5353, 68]
    assert len(obs) == 9
    times = [r["ts"] for r in obs]
    assert times[:2] == sorted(times[:2])


def test_concatenated_logs_with_two_headers_are_both_read(tmp_path: Path) -> None:
    text = (TSV / "known_hosts.log").read_text()
    (tmp_path / "known_hosts.log").write_text(text + text)
    assert sum(len(b.observations) for b in read_zeek(tmp_path / "known_hosts.log")) == 4


# --- malformed lines --------------------------------------------------------------------------------

def test_malformed_tsv_lines_are_counted_and_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek_lines, "MAX_LINE_BYTES", 4096)
    good = (TSV / "dns.log").read_text().splitlines()[8]
    cols = good.split("\t")
    bad = [
        "\t".join(cols[:5]),  # too few columns
        "\t".join([*cols[:3], "notaport", *cols[4:]]),  # port is not a number
        "\t".join([*cols[:2], "999.1.1.1", *cols[3:]]),  # not an address
        "\t".join([*cols[:16], "X", *cols[17:]]),  # bool neither T nor F
        "\t".join(["yesterday", *cols[1:]]),  # time is not a number
        "\t".join([*cols[:3], "70000", *cols[4:]]),  # port out of range
        good + "x" * 5000,  # longer than MAX_LINE_BYTES
        "\x00\xff\xfe garbage",
    ]
    (tmp_path / "dns.log").write_text(DNS_HEADER + "\n".join([good, *bad, good]) + "\n", errors="surrogateescape")
    batches = list(read_zeek(tmp_path / "dns.log"))
    assert sum(b.records for b in batches) == 10
    assert sum(b.skipped for b in batches) == 8
    assert sum(len(b.observations) for b in batches) == 4  # two good lines, query + response each


def test_malformed_json_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    good = (JSONDIR / "http.log").read_text().splitlines()[0]
    record = json.loads(good)
    bad = ['{"ts": 1700000000.0, "uid": ', "[1,2]", json.dumps({**record, "ts": "soon"}),
           json.dumps({**record, "id.orig_h": ["10.0.0.1"]}), json.dumps({**record, "status_code": "two hundred"}),
           json.dumps({k: v for k, v in record.items() if k != "ts"}), "{" * 100000]
    (tmp_path / "http.log").write_text("\n".join([good, *bad, "", good]) + "\n")
    batches = list(read_zeek(tmp_path / "http.log"))
    assert (sum(b.records for b in batches), sum(b.skipped for b in batches)) == (9, 7)
    assert sum(len(b.observations) for b in batches) == 4


def test_data_before_any_header_is_malformed(tmp_path: Path) -> None:
    good = (TSV / "known_hosts.log").read_text()
    (tmp_path / "known_hosts.log").write_text(good + "1700000100.0\t10.0.0.1\n")  # after #close: header kept
    assert sum(len(b.observations) for b in read_zeek(tmp_path / "known_hosts.log")) == 3


def test_json_with_nested_ids_and_naive_iso_times(tmp_path: Path) -> None:
    line = {"ts": "2023-11-14T22:13:20", "uid": "C1", "id": {"orig_h": "10.0.0.2", "orig_p": 5, "resp_h": "10.0.0.1",
                                                             "resp_p": 53}, "proto": "udp", "query": "x.example"}
    (tmp_path / "dns.log").write_text(json.dumps(line) + "\n")
    (query,) = [o for b in read_zeek(tmp_path / "dns.log") for o in b.observations]
    assert (query.ts, query.src_ip, query.dst_port) == (1700000000.0, "10.0.0.2", 53)  # naive ISO read as UTC


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.binary(max_size=300), max_size=8), json_lines=st.lists(st.text(max_size=200), max_size=4))
def test_fuzz_arbitrary_lines_never_crash(tmp_path: Path, lines: list[bytes], json_lines: list[str]) -> None:
    target = tmp_path / "dns.log"
    target.write_bytes(DNS_HEADER.encode() + b"\n".join(lines) + b"\n")
    for batch in read_zeek(target):
        assert isinstance(batch, RecordBatch)
        assert batch.skipped <= batch.records
    jtarget = tmp_path / "ssl.log"
    jtarget.write_text(json.dumps({"ts": 1.0, "uid": "C", "version": "TLSv12"}) + "\n" + "\n".join(
        "{" + s for s in json_lines) + "\n", errors="surrogatepass")
    for batch in read_zeek(jtarget):
        assert batch.skipped <= batch.records


def test_iot23_labelled_conn_log_reads_every_line_and_leaves_the_labels_out() -> None:
    """An IoT-23 style ``conn.log.labeled`` (hand-written, same layout): label columns after spaces."""
    path = DATA / "zeek_labelled" / "conn.log.labeled"
    assert sniff_zeek(path) == "conn"
    batches, _, flows = everything(path)
    assert sum(b.skipped for b in batches) == 0 and len(flows) == 5
    assert [(f["b_ip"], f["b_port"], f["ip_proto"]) for f in flows][-2:] == [("185.244.25.235", 6667, 6)] * 2
    assert not any("label" in str(f) for f in flows)


def test_dhcp_uids_put_the_vlan_of_their_connection_on_the_exchange(tmp_path: Path) -> None:
    """dhcp.log names its connections in ``uids``; conn.log's vlan (vlan-logging policy) is the client's link,
    so two VLANs' servers are learned apart (detect/dhcp.py)."""
    conn = json.loads((JSONDIR / "conn.log").read_text().splitlines()[7])
    dhcp = json.loads((JSONDIR / "dhcp.log").read_text().splitlines()[0])
    assert conn["uid"] == dhcp["uids"][0]
    (tmp_path / "conn.log").write_text(json.dumps({**conn, "vlan": 20}) + "\n")
    (tmp_path / "dhcp.log").write_text(json.dumps(dhcp) + "\n")
    _, obs, _ = everything(tmp_path)
    dhcp_obs = [o for o in obs if o["proto"] == "dhcp"]
    assert dhcp_obs and {o["vlan"] for o in dhcp_obs} == {20}
    assert {o["src_mac"] for o in dhcp_obs if o["subject"] == "src" and o["kind"] != "offer"} <= {dhcp["mac"], None}
    _, tsv_obs, _ = everything(TSV)
    assert {o["vlan"] for o in tsv_obs if o["proto"] == "dhcp"} == {None}  # the fixture's DHCP conn is untagged
