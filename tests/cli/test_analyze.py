"""``iotwarden analyze`` and ``iotwarden db upgrade`` as a user runs them: exit codes, stdout, stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.cli.main import main
from tests.conftest import shared
from tests.services import builders as b


def needs_engine() -> None:
    pytest.importorskip("iotwarden.engine.core", reason="the packet engine (engine/core.py) is not there yet")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_analyze_prints_files_and_devices(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    needs_engine()
    code, out, err = run(capsys, "analyze", str(b.camera_capture(tmp_path / "cam.pcap")), "--db", db)
    assert code == 0, err
    assert "complete" in out
    assert f"mac:{b.CAMERA_MAC}" in out
    assert "axis-cam-01" in out
    assert err == ""
    # what each device is, and the run in one paragraph with where to look next
    assert "Axis" in out and "camera" in out
    assert "2 devices (1 iot, 1 unknown); 0 risk findings, 0 alerts raised by this run." in out
    assert "iotwarden findings" in out


def test_json_output_to_a_file_follows_the_documented_schema(capsys: pytest.CaptureFixture[str], db: str,
                                                            tmp_path: Path) -> None:
    log = b.zeek_conn_log(tmp_path / "conn.log", 5)
    out_file = tmp_path / "report.json"
    code, out, _ = run(capsys, "analyze", str(log), "--db", db, "--format", "json", "-o", str(out_file))
    assert (code, out) == (0, "")
    doc = json.loads(out_file.read_text())
    assert doc["schema"] == "iotwarden.analysis/1"
    assert doc["files"][0]["status"] == "complete"
    assert doc["totals"] == {"packets": 5, "flows": 5, "observations": 0, "files": 1, "failed": 0, "devices": 6}
    schema_doc = (Path(__file__).resolve().parents[2] / "docs" / "schemas" / "analysis.md").read_text()
    for key in (*doc, *doc["files"][0], *doc["totals"], *doc["devices"][0]):
        assert f"`{key}`" in schema_doc, f"{key} is not documented in docs/schemas/analysis.md"


def _truncated(tmp_path: Path) -> Path:
    data = shared("pcaps", "labeled_locks_cams", "pcaps", "schlage-lock-01.pcap").read_bytes()
    cut = tmp_path / "half.pcap"
    cut.write_bytes(data[: len(data) // 2])
    return cut


@pytest.mark.parametrize("case", ["missing", "empty", "text", "truncated", "first-record-cut"])
def test_each_bad_input_is_one_line_on_stderr_and_exit_code_2(capsys: pytest.CaptureFixture[str], db: str,
                                                              tmp_path: Path, case: str) -> None:
    if case == "missing":
        path = tmp_path / "missing.pcap"
    elif case == "empty":
        path = tmp_path / "empty.pcap"
        path.touch()
    elif case == "text":
        path = tmp_path / "notes.txt"
        path.write_text("GET / HTTP/1.1\r\nthis is a text file\r\n")
    elif case == "first-record-cut":  # the reader's own message counts the packets: no empty "()" after it
        path = tmp_path / "cut.pcap"
        path.write_bytes(shared("pcaps", "labeled_locks_cams", "pcaps", "schlage-lock-01.pcap").read_bytes()[:24 + 30])
    else:
        needs_engine()
        path = _truncated(tmp_path)
    code, out, err = run(capsys, "analyze", str(path), "--db", db)
    assert code == 2
    if case in ("missing", "empty", "text"):  # nothing read: the files table, no empty inventory or hints after it
        assert "failed" in out and "Devices (0)" not in out and "next:" not in out
    # a note is no error line (schlage-lock-01.pcap's records are partly cut by a snap length: said in a note)
    (line,) = [ln for ln in error_lines(err) if not ln.startswith("note:")]
    assert str(path) in line
    if case == "missing":  # nothing was opened: no count of packets read
        assert line.endswith("no such file"), line
    else:
        assert "packets read before the damage" in line
    assert not line.endswith("()"), line
    assert "Traceback" not in err
    if case == "truncated":
        assert "0 packets read" not in line
        assert "kept, marked partial" in line


def test_a_bad_file_does_not_stop_the_good_ones(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    log = b.zeek_conn_log(tmp_path / "conn.log", 5)
    code, out, err = run(capsys, "analyze", str(tmp_path / "missing.pcap"), str(log), "--db", db, "-f", "json")
    assert code == 2
    assert len(error_lines(err)) == 1
    doc = json.loads(out)
    assert [f["status"] for f in doc["files"]] == ["failed", "complete"]
    code, out, _ = run(capsys, "devices", "--db", db, "-f", "json")
    assert len(json.loads(out)["devices"]) == 6  # the good file's results were kept (the internet server is a peer)


def test_analysing_the_same_capture_twice_adds_nothing(capsys: pytest.CaptureFixture[str], db: str,
                                                       tmp_path: Path) -> None:
    needs_engine()
    cam = b.camera_capture(tmp_path / "cam.pcap")
    run(capsys, "analyze", str(cam), "--db", db)
    _, before, _ = run(capsys, "devices", "--db", db, "-f", "json")
    _, flows_before, _ = run(capsys, "flows", "--db", db, "-f", "json")
    code, _, err = run(capsys, "analyze", str(cam), "--db", db)
    assert code == 0
    assert "skipped" in err
    assert "already analysed" in err
    _, after, _ = run(capsys, "devices", "--db", db, "-f", "json")
    _, flows_after, _ = run(capsys, "flows", "--db", db, "-f", "json")
    assert json.loads(after) == json.loads(before)
    assert json.loads(flows_after) == json.loads(flows_before)


def test_two_captures_merge_into_the_same_devices(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    needs_engine()
    run(capsys, "analyze", str(b.camera_capture(tmp_path / "1.pcap")), "--db", db)
    run(capsys, "analyze", str(b.second_capture(tmp_path / "2.pcap")), "--db", db)
    _, out, _ = run(capsys, "devices", "show", b.CAMERA_MAC, "--db", db, "-f", "json")
    camera = json.loads(out)["device"]
    assert camera["attributes"]["http.user_agent"] == ["AXIS/10.12 libcurl", "AXIS/10.13 libcurl"]
    assert camera["ip_history"] == [{"ip": b.CAMERA_IP, "domain": "",
                                     "first_seen": pytest.approx(1_700_000_000.0, abs=1),
                                     "last_seen": pytest.approx(1_700_003_601.1, abs=1)}]
    _, out, _ = run(capsys, "devices", "--db", db, "-f", "json")
    assert len([d for d in json.loads(out)["devices"] if d["key"] == f"mac:{b.CAMERA_MAC}"]) == 1


def test_db_option_falls_back_to_the_environment(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.db"
    monkeypatch.setenv("IOTWARDEN_DB", str(path))
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0
    assert "at revision" in out
    assert path.exists()


def test_an_unusable_database_is_one_clear_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "devices", "--db", "sqlite:////nonexistent-dir/x/iot.db")
    assert code == 2
    (line,) = error_lines(err)
    assert "does not exist" in line


def test_max_probe_flows_bounds_the_stored_scan_probes(capsys: pytest.CaptureFixture[str], db: str,
                                                       tmp_path: Path) -> None:
    from tests.services.test_analyze import _scan_log
    code, out, err = run(capsys, "analyze", str(_scan_log(tmp_path / "conn.log", 50)), "--db", db,
                         "--max-probe-flows", "20", "-f", "json")
    assert code == 0, err
    (result,) = json.loads(out)["files"]
    assert (result["flows"], result["stats"]["flows_not_stored"]["probes"]) == (55, 30)
    code, _, err = run(capsys, "analyze", str(tmp_path / "conn.log"), "--db", db, "--max-probe-flows", "-1")
    assert code == 2 and err.startswith("error:") and "Traceback" not in err


def test_a_run_over_a_dataset_lists_only_the_files_with_something_to_say(capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    from iotwarden.cli.analyze import MAX_FILE_ROWS, _files_table, report_errors
    from iotwarden.services.analyze import AnalysisReport, FileResult

    files = [FileResult(path=f"/data/{i:03}.pcap", status="complete", packets=10, flows=2)
             for i in range(MAX_FILE_ROWS)]
    files += [FileResult(path="/data/cut.pcap", status="partial", packets=5, error="/data/cut.pcap: truncated"),
              FileResult(path="/data/bro", status="skipped", skipped_because="Zeek logs below /data"),
              FileResult(path="/data/copy1.pcap", status="skipped", capture_id=1, skipped_because="same bytes"),
              FileResult(path="/data/copy2.pcap", status="skipped", capture_id=1, skipped_because="same bytes")]
    console = Console(width=200, record=True)
    console.print(_files_table(AnalysisReport(files=files)))
    text = console.export_text()
    assert "/data/cut.pcap" in text and "/data/bro" in text
    assert "/data/000.pcap" not in text and "/data/copy1.pcap" not in text
    assert f"{MAX_FILE_ROWS} more files" in text and str(10 * MAX_FILE_ROWS) in text
    assert "2 more files" in text
    assert report_errors(AnalysisReport(files=files)) == 2
    err = capsys.readouterr().err
    assert "2 files skipped: the same bytes" in err and "/data/bro skipped" in err
    assert "copy1" not in err


def test_an_encrypted_wifi_capture_says_why_nothing_was_read(capsys: pytest.CaptureFixture[str]) -> None:
    from iotwarden.cli.analyze import report_errors
    from iotwarden.services.analyze import AnalysisReport, FileResult

    wifi = FileResult(path="/data/office.pcap", status="complete", packets=900,
                      stats={"decode_errors": {"wlan_protected": 850, "wlan_management": 50}})
    plain = FileResult(path="/data/lan.pcap", status="complete", packets=10, stats={"decode_errors": {}})
    assert report_errors(AnalysisReport(files=[wifi, plain])) == 0
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert "/data/office.pcap: 850 encrypted 802.11 data frames" in line and "airdecap-ng" in line


ZEEK_CONN = ("#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
             "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n")


def test_a_zeek_log_none_of_whose_lines_reads_fails_with_one_line(capsys: pytest.CaptureFixture[str], db: str,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "conn.log"  # a header that names no addresses: no record of it can become a flow
    path.write_text("#separator \\x09\n#path\tconn\n#fields\tts\tuid\n#types\ttime\tstring\n1.0\tCx\n2.0\tCy\n")
    code, out, err = run(capsys, "analyze", str(path), "--db", db)
    assert code == 2
    (line,) = error_lines(err)
    assert str(path) in line and "none of its 2 Zeek log lines could be read" in line, line
    assert "packets" not in line and not line.endswith("()"), line
    assert "failed" in out and "Devices (0)" not in out


def test_unreadable_zeek_lines_are_counted_in_a_note(capsys: pytest.CaptureFixture[str], db: str,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text(ZEEK_CONN + "1700000000.0\tCa\t192.168.1.10\t40000\t192.168.1.1\t53\tudp\n"
                    "not-a-time\tCb\t192.168.1.10\t40001\t192.168.1.1\t53\tudp\n"
                    "1700000001.0\tCc\t192.168.1.10\tnot-a-port\t192.168.1.1\t53\tudp\n"
                    "1700000002.0\tCd\t192.168.1.11\t40002\t192.168.1.1\t53\tudp\n")
    code, out, err = run(capsys, "analyze", str(path), "--db", db)
    assert code == 0, err
    notes = [ln for ln in err.splitlines() if ln.startswith("note:") and "Zeek log lines" in ln]
    assert notes == [f"note: {path}: 2 of 4 Zeek log lines could not be read and were skipped (a needed field "
                     "missing or malformed)"], err
    assert "complete" in out
