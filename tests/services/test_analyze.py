"""The analyze service: inputs -> engine or Zeek reader -> analyzers -> store, one transaction per file."""

from __future__ import annotations

import gc
import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from iotwarden.services.analyze import GC_YOUNG_THRESHOLD, SCHEMA, analyze, expand_paths, gc_tuned
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow
from iotwarden.store.schema import CaptureRow, DeviceRow, FlowRow
from tests.conftest import REPO, shared
from tests.services import builders as b


def needs_engine() -> None:
    pytest.importorskip("iotwarden.engine.core", reason="the packet engine (engine/core.py) is not there yet")


def count(store: Store, table: type) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def device(store: Store, key: str) -> DeviceRow:
    with store.session() as s:
        return s.scalars(select(DeviceRow).where(DeviceRow.key == key)).one()


def device_keys(store: Store) -> set[str]:
    with store.session() as s:
        return set(s.scalars(select(DeviceRow.key)))


def flows_with(store: Store, ip: str) -> list[FlowRow]:
    with store.session() as s:
        return list(s.scalars(select(FlowRow).where((FlowRow.a_ip == ip) | (FlowRow.b_ip == ip))))


def stored_packets(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.sum(DeviceRow.packets))) or 0)


# --- choosing the source ----------------------------------------------------------------------------


def test_zeek_logs_below_a_capture_are_left_out_with_the_reason(store: Store, tmp_path: Path) -> None:
    """IoT-23 keeps each capture's pcap beside a ``bro/`` folder of its Zeek logs: the same traffic twice."""
    b.camera_capture(tmp_path / "capture.pcap")
    bro = tmp_path / "bro"
    bro.mkdir()
    b.zeek_conn_log(bro / "conn.log.labeled", 3)
    assert expand_paths([tmp_path]) == [tmp_path / "capture.pcap"]
    report = analyze([tmp_path], store)
    assert [(f.path, f.status) for f in report.files] == [(str(bro), "skipped"),
                                                          (str(tmp_path / "capture.pcap"), "complete")]
    assert "same traffic" in (report.files[0].skipped_because or "")
    assert report.failed == []
    (alone,) = analyze([bro], store).files  # given on its own, the folder is read
    assert (alone.status, alone.format) == ("complete", "zeek")


def test_the_shared_datasets_are_analysed_from_their_top_folder(store: Store) -> None:
    top = shared("pcaps", "nku_lifecycle")
    report = analyze([top], store)
    assert report.failed == []
    assert len(report.files) == len(list(top.rglob("*.pcap")))
    assert all(f.status == "complete" for f in report.files)


# --- Zeek logs (no packet engine needed) -------------------------------------------------------------


def test_zeek_conn_log_fills_flows_and_devices(store: Store, tmp_path: Path) -> None:
    report = analyze([b.zeek_conn_log(tmp_path / "conn.log", 300)], store)
    (result,) = report.files
    assert (result.status, result.format, result.flows, result.packets) == ("complete", "zeek", 300, 300)
    assert count(store, FlowRow) == 300
    router = device(store, f"mac:{b.ROUTER_MAC}")  # carries many addresses: a gateway, the web server is apart
    assert router.ips == []
    # the internet web server is a remote peer: recorded in every flow, never a device of the site
    hosts = {f"mac:02:00:00:00:{i // 250 % 250:02x}:{i % 250 + 1:02x}" for i in range(300)}
    assert device_keys(store) == hosts | {f"mac:{b.ROUTER_MAC}"}
    assert len(report.devices) == 300 + 1  # 300 hosts and the router
    web_flows = flows_with(store, b.WEB_IP)
    assert len(web_flows) == 300
    assert {(f.b_ip, f.b_port, f.b_mac) for f in web_flows} == {(b.WEB_IP, 80, b.ROUTER_MAC)}
    assert device(store, "mac:02:00:00:00:00:01").packets == 9  # 5 + 4 packets of its one connection
    with store.session() as s:
        row = s.scalars(select(CaptureRow)).one()
    assert (row.status, row.flows, row.sha256) == ("complete", 300, result.sha256)


def test_analysing_the_same_bytes_twice_is_skipped_and_counts_nothing_twice(store: Store, tmp_path: Path) -> None:
    log = b.zeek_conn_log(tmp_path / "conn.log", 50)
    analyze([log], store)
    before = stored_packets(store)
    assert before == 50 * 9
    copy = tmp_path / "copy-of-conn.log"
    copy.write_bytes(log.read_bytes())
    (again,) = analyze([copy], store).files
    assert again.status == "skipped"
    assert again.skipped_because is not None
    assert "already analysed as capture 1" in again.skipped_because
    assert stored_packets(store) == before
    assert count(store, FlowRow) == 50
    assert count(store, CaptureRow) == 1


def test_bad_files_fail_alone_and_the_others_are_kept(store: Store, tmp_path: Path) -> None:
    empty = tmp_path / "empty.pcap"
    empty.touch()
    text = tmp_path / "notes.txt"
    text.write_text("this is not a capture\n")
    good = b.zeek_conn_log(tmp_path / "conn.log", 10)
    report = analyze([tmp_path / "missing.pcap", empty, text, good], store)
    statuses = [(Path(f.path).name, f.status) for f in report.files]
    assert statuses == [("missing.pcap", "failed"), ("empty.pcap", "failed"), ("notes.txt", "failed"),
                        ("conn.log", "complete")]
    for failed in report.failed:
        assert failed.error is not None
        assert Path(failed.path).name in failed.error
        assert failed.packets_read == 0
    assert "no such file" in (report.files[0].error or "")
    assert "empty" in (report.files[1].error or "")
    assert count(store, FlowRow) == 10
    with store.session() as s:  # failed attempts on existing files are recorded, with nothing else
        assert sorted(s.scalars(select(CaptureRow.status))) == ["complete", "failed", "failed"]


def test_an_empty_folder_is_an_error(store: Store, tmp_path: Path) -> None:
    (result,) = analyze([tmp_path], store).files
    assert result.status == "failed"
    assert "no capture files or Zeek logs" in (result.error or "")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "notes.txt").write_text("not a capture")
    (result,) = analyze([tmp_path], store).files
    assert "in this folder or the folders below it" in (result.error or "")


def test_the_json_report_has_a_versioned_schema(store: Store, tmp_path: Path) -> None:
    doc = analyze([b.zeek_conn_log(tmp_path / "conn.log", 5)], store).to_dict()
    assert doc["schema"] == SCHEMA == "iotwarden.analysis/1"
    assert set(doc) == {"schema", "files", "totals", "devices"}
    assert doc["totals"]["flows"] == 5
    assert {"key", "mac", "ips", "hostnames", "attributes", "protocols", "packets", "bytes"} <= set(doc["devices"][0])
    json.dumps(doc)  # serialisable as is


def test_progress_reports_bytes_up_to_the_total(store: Store, tmp_path: Path) -> None:
    log = b.zeek_conn_log(tmp_path / "conn.log", 20)
    seen: list[tuple[int, int]] = []
    analyze([log], store, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (log.stat().st_size, log.stat().st_size)
    assert all(done <= total for done, total in seen)


# --- an interrupted run leaves the store consistent ---------------------------------------------------

KILL_SCRIPT = """
import sys
import time
from pathlib import Path
from iotwarden.services.analyze import analyze
from iotwarden.store import Store

def progress(done, total):
    print(f"progress {done} {total}", flush=True)
    if 0 < done < total:
        time.sleep(60)  # hold the file's transaction open until the test kills us

analyze([Path(sys.argv[2])], Store(sys.argv[1], schema=sys.argv[3] or None), progress=progress)
print("finished", flush=True)
"""


@pytest.mark.slow
def test_killing_a_run_mid_file_leaves_all_or_nothing_of_that_file(store: Store, tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    analyze([b.zeek_conn_log(tmp_path / "first" / "conn.log", 20)], store)
    big = tmp_path / "big.log"
    b.zeek_conn_log(big, 10_500, start=1_800_000_000.0)  # two batches of read_zeek's 10000 lines
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    schema = _schema_of(store) if store.backend == "postgresql" else ""  # the child writes where we read
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, store.url, str(big), schema],
                            stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("progress"):
            _, done, total = line.split()
            if 0 < int(done) < int(total):  # inside the file's transaction
                break
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    reopened = Store(store.url) if store.backend == "sqlite" else Store(store.url, schema=schema)
    assert count(reopened, CaptureRow) == 1
    assert count(reopened, FlowRow) == 20  # the killed file left nothing; the earlier one is intact
    (rerun,) = analyze([big], reopened).files  # and the store takes the same file again afterwards
    assert (rerun.status, rerun.flows) == ("complete", 10_500)


def _schema_of(store: Store) -> str:
    with store.engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT current_schema()").scalar())


# --- packet captures (the engine) --------------------------------------------------------------------


def test_a_capture_becomes_devices_with_identity(store: Store, tmp_path: Path) -> None:
    needs_engine()
    (result,) = analyze([b.camera_capture(tmp_path / "cam.pcap")], store).files
    assert (result.status, result.format, result.packets) == ("complete", "capture", 11)
    camera = device(store, f"mac:{b.CAMERA_MAC}")
    assert camera.ips == [b.CAMERA_IP]
    assert camera.hostnames == ["axis-cam-01"]
    assert camera.attributes["dhcp.vendor_class"] == ["AXIS,Network Camera,M3045-V"]
    assert camera.attributes["dhcp.param_req_list"] == ["1,3,6,15,42"]
    assert camera.attributes["http.user_agent"] == ["AXIS/10.12 libcurl"]
    assert {"dhcp", "http"} <= set(camera.protocols)
    # the web server behind the router is a remote peer: not a device, not merged into the router,
    # recorded as the far end of the camera's HTTP flow
    assert device_keys(store) == {f"mac:{b.CAMERA_MAC}", f"mac:{b.ROUTER_MAC}"}
    router = device(store, f"mac:{b.ROUTER_MAC}")
    assert router.ips == [b.ROUTER_IP]
    assert "http.server" not in router.attributes
    (web_flow,) = flows_with(store, b.WEB_IP)
    assert (web_flow.a_ip, web_flow.b_ip, web_flow.b_port, web_flow.app) == (b.CAMERA_IP, b.WEB_IP, 80, "http")
    assert (web_flow.a_mac, web_flow.b_mac) == (b.CAMERA_MAC, b.ROUTER_MAC)


def test_two_captures_of_the_same_network_merge_devices(store: Store, tmp_path: Path) -> None:
    needs_engine()
    analyze([b.camera_capture(tmp_path / "1.pcap")], store)
    once = device(store, f"mac:{b.CAMERA_MAC}")
    analyze([b.second_capture(tmp_path / "2.pcap")], store)
    camera = device(store, f"mac:{b.CAMERA_MAC}")
    assert camera.attributes["http.user_agent"] == ["AXIS/10.12 libcurl", "AXIS/10.13 libcurl"]
    assert camera.first_seen == once.first_seen
    assert camera.last_seen > once.last_seen + 3000
    assert camera.packets > once.packets
    printer = device(store, f"mac:{b.PRINTER_MAC}")
    assert "_ipp._tcp.local" in printer.attributes["mdns.services"]
    assert count(store, CaptureRow) == 2


def test_a_truncated_capture_keeps_what_was_read_marked_partial(store: Store, tmp_path: Path) -> None:
    needs_engine()
    real = shared("pcaps", "labeled_locks_cams", "pcaps", "schlage-lock-01.pcap")
    data = real.read_bytes()
    cut = tmp_path / "half.pcap"
    cut.write_bytes(data[: len(data) // 2])
    (result,) = analyze([cut], store).files
    assert result.status == "partial"
    assert result.packets_read is not None
    assert result.packets_read > 0
    assert result.error is not None
    assert str(cut) in result.error
    assert result.flows > 0
    with store.session() as s:
        row = s.scalars(select(CaptureRow)).one()
    assert (row.status, row.flows) == ("partial", result.flows)
    assert count(store, DeviceRow) > 0


def test_the_demo_capture_finds_every_device_of_its_ground_truth(store: Store) -> None:
    needs_engine()
    from iotwarden.cli.demo import demo_capture
    from iotwarden.errors import CaptureError

    try:
        capture = demo_capture()
    except CaptureError as exc:
        pytest.skip(str(exc))
    truth = json.loads(capture.with_name("demo.truth.json").read_text())
    analyze([capture], store)
    with store.session() as s:
        stored = {r.key: r for r in s.scalars(select(DeviceRow))}
    for expected in truth["devices"]:
        found = stored.get(f"mac:{expected['mac']}")
        assert found is not None, f"{expected['id']} ({expected['mac']}) not found"
        # its own address, and none it does not hold (the router holds every subnet's gateway, some unused here)
        assert expected["ips"][0] in found.ips and set(found.ips) <= set(expected["ips"]), expected["id"]
    local = {k for k in stored if k.startswith("mac:")}
    assert local == {f"mac:{d['mac']}" for d in truth["devices"]}  # no duplicates, nothing invented


def test_a_folder_of_zeek_logs_is_one_source_and_is_recognised_when_analysed_again(store: Store,
                                                                                   tmp_path: Path) -> None:
    logs = tmp_path / "zeek"
    logs.mkdir()
    b.zeek_conn_log(logs / "conn.log", 8)
    (first,) = analyze([logs], store).files
    assert (first.path, first.format, first.status, first.flows) == (str(logs), "zeek", "complete", 8)
    (again,) = analyze([logs], store).files
    assert again.status == "skipped"


def test_concurrent_runs_merge_the_same_devices_without_losing_counts(store: Store, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    logs = [b.zeek_conn_log(tmp_path / f"conn-{i}.log", 200, start=1_700_000_000.0 + 10_000 * i) for i in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda log: analyze([log], store), logs))
    assert [r.files[0].status for r in reports] == ["complete", "complete"]
    assert stored_packets(store) == 2 * 200 * 9  # every packet counted once, on the local hosts
    assert not any(k.startswith("ip:") for k in device_keys(store))  # the web server stays a peer
    assert device(store, "mac:02:00:00:00:00:01").packets == 2 * 9
    assert count(store, FlowRow) == 400


def test_a_run_tunes_the_garbage_collector_only_while_it_lasts() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), gc_tuned():
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0  # what existed before the run is out of the collector's scans
        raise RuntimeError("a run that breaks still restores the collector")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_freeze_made_by_the_process_itself_is_left_alone() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_tuned():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def _scan_log(path: Path, probes: int) -> Path:
    """A conn.log: one host's Telnet scan (unanswered SYNs to ``probes`` targets, then refused ones)
    and the same host's web sessions."""
    with path.open("w") as fh:
        fh.write(b.ZEEK_CONN_HEADER)
        for i in range(probes):  # S0: no answer; REJ: one RST back
            state, resp_pkts = ("S0", 0) if i % 2 else ("REJ", 1)
            target = f"198.18.{i // 250}.{i % 250 + 1}"
            fh.write(f"{1_700_000_000 + i * 0.5:.6f}\tC{i:017d}\t10.1.0.66\t{40000 + i}\t{target}\t23\ttcp\t-\t-"
                     f"\t0\t0\t{state}\tT\tF\t0\tS\t1\t60\t{resp_pkts}\t{40 * resp_pkts}\t(empty)\t-\t-\n")
        for i in range(5):
            fh.write(f"{1_700_000_100 + i:.6f}\tW{i:017d}\t10.1.0.66\t{50000 + i}\t{b.WEB_IP}\t80\ttcp\thttp\t"
                     f"0.5\t100\t200\tSF\tT\tF\t0\tShADadFf\t5\t400\t4\t500\t(empty)\t-\t-\n")
    return path


def test_probes_past_the_budget_are_analysed_and_counted_not_stored(store: Store, tmp_path: Path) -> None:
    report = analyze([_scan_log(tmp_path / "conn.log", 400)], store, max_probe_flows=100)
    (result,) = report.files
    assert (result.status, result.flows) == ("complete", 405)  # every flow was seen
    not_stored = result.stats["flows_not_stored"]
    assert (not_stored["probes"], not_stored["stored_probes"]) == (300, 100)
    assert count(store, FlowRow) == 100 + 5  # the first 100 probes, and every flow that carried data
    assert len(flows_with(store, b.WEB_IP)) == 5
    with store.session() as s:  # the scan is judged on all 400 targets, not on the stored ones
        ids = set(s.scalars(select(AlertRow.detector_id)))
    assert "detect.scan.telnet_mirai" in ids


def test_without_a_budget_every_probe_is_stored(store: Store, tmp_path: Path) -> None:
    (result,) = analyze([_scan_log(tmp_path / "conn.log", 120)], store, max_probe_flows=None).files
    assert count(store, FlowRow) == 125 and "flows_not_stored" not in result.stats


def test_records_stating_impossible_wire_lengths_count_what_they_hold(store: Store, tmp_path: Path) -> None:
    # found by fuzzing: an original length past 2**31 - 1 (pcap orig_len 0xfffffff0) was read as a negative int32,
    # flows were stored with negative byte counts and detect.anomaly failed on their logarithm (analyzer_errors)
    from tests.sources.capbuild import ethernet, pcap_bytes, tcp, udp

    frames = []
    for i in range(150):
        frames.append((1_700_000_000.0 + i, ethernet(udp("10.0.0.5", "10.0.0.1", 10_000 + i, 53, b"q" * 20))))
        frames.append((1_700_000_000.5 + i, ethernet(tcp("10.0.0.5", f"10.0.1.{i + 1}", 20_000 + i, 80, 0x02, 1),
                                                     dst=3)))
    blob = bytearray(pcap_bytes(frames))
    pos = 24
    while pos < len(blob):  # every record states 0xfffffff0 bytes on the wire
        struct.pack_into("<I", blob, pos + 12, 0xFFFF_FFF0)
        pos += 16 + struct.unpack_from("<I", blob, pos + 8)[0]
    path = tmp_path / "lengths.pcap"
    path.write_bytes(bytes(blob))
    report = analyze([path], store)
    assert report.files[0].status == "complete"
    with store.session() as s:
        stats = s.scalars(select(CaptureRow.stats)).one()
        flows = list(s.scalars(select(FlowRow)))
    assert stats["analyzer_errors"] == {}
    assert stats["bytes"] == sum(len(f) for _, f in frames)
    assert len(flows) == 300 and all(f.bytes_ab > 0 and f.bytes_ba == 0 for f in flows)
