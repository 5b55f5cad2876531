"""``iotwarden devices [list]`` and ``iotwarden devices show ID``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.cli.main import main
from iotwarden.model.finding import Finding
from iotwarden.services.inventory import device_types_under
from iotwarden.store import Store
from iotwarden.store.alert_models import FindingRow
from iotwarden.store.findings import upsert_findings
from tests.services import builders as b


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store holding 250 hosts behind one router talking to one web server (Zeek conn.log)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["analyze", str(b.zeek_conn_log(tmp_path / "conn.log", 250)), "--db", url, "-f", "json"]) == 0
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_devices_without_subcommand_lists_them(capsys: pytest.CaptureFixture[str], db: str) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "devices", "--db", db)
    assert code == 0
    assert "Devices (251)" in out  # 250 hosts and the router; the web server is a remote peer
    code, out2, _ = run(capsys, "devices", "list", "--db", db)
    assert (code, out2) == (0, out)


def test_filters_by_search_text_and_protocol(capsys: pytest.CaptureFixture[str], db: str) -> None:
    capsys.readouterr()
    _, out, _ = run(capsys, "devices", "--db", db, "--search", b.WEB_IP, "-f", "json")
    doc = json.loads(out)
    assert doc["schema"] == "iotwarden.devices/1"
    assert [d["key"] for d in doc["devices"]] == []  # an internet server is no device of the site
    _, out, _ = run(capsys, "devices", "--db", db, "--search", "02:00:00:00:00:fa", "-f", "json")
    assert [d["key"] for d in json.loads(out)["devices"]] == ["mac:02:00:00:00:00:fa"]
    _, out, _ = run(capsys, "devices", "--db", db, "--proto", "http", "-f", "json")
    http = {d["key"] for d in json.loads(out)["devices"]}
    assert len(http) == 250  # the hosts; the router only forwarded
    assert f"mac:{b.ROUTER_MAC}" not in http
    _, out, _ = run(capsys, "devices", "--db", db, "--proto", "modbus", "-f", "json")
    assert json.loads(out)["devices"] == []


@pytest.mark.parametrize("ident", ["mac:02:00:00:00:00:07", "10.1.0.7", "02:00:00:00:00:07"])
def test_show_finds_a_device_by_key_prefix_or_address(capsys: pytest.CaptureFixture[str], db: str,
                                                      ident: str) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "devices", "show", ident, "--db", db, "-f", "json")
    assert code == 0
    device = json.loads(out)["device"]
    assert device["key"] == "mac:02:00:00:00:00:07"
    assert device["ip_history"][0]["ip"] == "10.1.0.7"
    assert len(device["flows"]) == 1


def test_show_as_a_table(capsys: pytest.CaptureFixture[str], db: str) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "devices", "show", "02:00:00:00:00:01", "--db", db)
    assert code == 0
    assert "Device mac:02:00:00:00:00:01" in out
    assert "10.1.0.1" in out


@pytest.mark.parametrize(("ident", "message"), [("10.99.99.99", "no device matches"),
                                               ("mac:02:00", "matches several devices")])
def test_unknown_or_ambiguous_ids_are_one_line_errors(capsys: pytest.CaptureFixture[str], db: str, ident: str,
                                                      message: str) -> None:
    capsys.readouterr()
    code, out, err = run(capsys, "devices", "show", ident, "--db", db)
    assert (code, out) == (2, "")
    (line,) = [x for x in err.splitlines() if x.strip()]
    assert message in line


def test_explain_shows_each_conclusion_with_its_evidence(capsys: pytest.CaptureFixture[str], db: str) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "devices", "explain", "mac:02:00:00:00:00:07", "--db", db, "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "iotwarden.explain/1"
    # a randomised (locally administered) MAC speaking plain HTTP: nothing identifies it
    assert doc["device"]["conclusions"] == {}
    assert "vendor" in doc["device"]["unknown"]
    code, out, _ = run(capsys, "devices", "explain", "mac:02:00:00:00:00:07", "--db", db)
    assert code == 0 and "unknown (not enough evidence)" in out


def test_diff_shows_new_gone_and_changed_devices_between_runs(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    assert main(["analyze", str(b.camera_capture(tmp_path / "1.pcap")), "--db", url, "-f", "json"]) == 0
    assert main(["analyze", str(b.second_capture(tmp_path / "2.pcap")), "--db", url, "-f", "json"]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "devices", "diff", "--db", url, "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["schema"], doc["from"], doc["to"]) == ("iotwarden.devices-diff/1", 1, 2)
    assert [d["key"] for d in doc["new"]] == [f"mac:{b.PRINTER_MAC}"]
    assert (doc["gone"], doc["changed"]) == ([], [])
    code, out, _ = run(capsys, "devices", "diff", "--from", "2", "--to", "1", "--db", url)
    assert code == 0
    assert "1 gone" in out
    assert b.PRINTER_MAC in out
    code, _, err = run(capsys, "devices", "diff", "--from", "9", "--db", url)
    assert code == 2
    assert "no analysis run 9" in err


# --- what each device is and how risky: columns and filters ----------------------------------------------

CAMERA = "mac:00:40:8c:12:34:56"  # tests/services/builders.py camera_capture: an Axis M3045-V (DHCP, HTTP)
ROUTER = "mac:00:0d:b9:4a:10:01"


@pytest.fixture
def classified(tmp_path: Path) -> str:
    """A store with an Axis camera carrying one open high and one resolved critical finding, and its router."""

    url = f"sqlite:///{tmp_path / 'cls.db'}"
    assert main(["analyze", str(b.camera_capture(tmp_path / "cam.pcap")), "--db", url, "-f", "json"]) == 0
    with Store(url) as store, store.transaction() as session:
        upsert_findings(session, [Finding("risk.test.high", "open camera stream", "high", CAMERA),
                                  Finding("risk.test.gone", "fixed last week", "critical", CAMERA)])
        session.flush()
        for row in session.query(FindingRow).filter(FindingRow.check_id == "risk.test.gone"):
            row.status = "resolved"
    return url


def test_the_list_says_what_each_device_is_and_how_risky(capsys: pytest.CaptureFixture[str], classified: str) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "devices", "--db", classified, "-f", "json")
    assert code == 0
    devices = {d["key"]: d for d in json.loads(out)["devices"]}
    camera = devices[CAMERA]
    assert {k: camera["classification"][k]["value"] for k in ("vendor", "model", "device_type", "category")} == {
        "vendor": "Axis", "model": "M3045-V", "device_type": "camera", "category": "iot"}
    assert camera["risk"]["band"] == "high"  # the resolved critical finding does not count
    assert 50 <= camera["risk"]["score"] < 80
    assert devices[ROUTER]["risk"] == {"score": 0.0, "band": "none"}
    code, table, _ = run(capsys, "devices", "--db", classified)
    assert code == 0
    for text in ("vendor", "type", "category", "risk", "Axis", "M3045-V", "camera", "iot", "PC Engines",
                 f"high {camera['risk']['score']:g}"):
        assert text in table, text


@pytest.mark.parametrize(("options", "keys"), [
    (["--type", "camera"], [CAMERA]),
    (["--type", "IP Camera"], [CAMERA]),  # an alias of the taxonomy type
    (["--type", "nvr"], []),  # a finer kind of camera: the camera is not one
    (["--vendor", "axis"], [CAMERA]),  # any case
    (["--vendor", "Hikvision"], []),
    (["--category", "IoT"], [CAMERA]),
    (["--risk", "high"], [CAMERA]),  # a floor: high and worse
    (["--risk", "low"], [CAMERA]),
    (["--risk", "critical"], []),
    (["--type", "camera", "--risk", "medium", "--proto", "dhcp"], [CAMERA]),
])
def test_filters_by_classification_and_risk(capsys: pytest.CaptureFixture[str], classified: str,
                                            options: list[str], keys: list[str]) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "devices", "list", "--db", classified, *options, "-f", "json")
    assert code == 0
    assert [d["key"] for d in json.loads(out)["devices"]] == keys


@pytest.mark.parametrize(("options", "message"), [(["--type", "toaster"], "unknown device type 'toaster'"),
                                                 (["--type", "cam"], "did you mean"),
                                                 (["--risk", "severe"], "unknown risk band 'severe'")])
def test_an_unknown_type_or_band_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str], classified: str,
                                                            options: list[str], message: str) -> None:
    capsys.readouterr()
    code, out, err = run(capsys, "devices", "--db", classified, *options)
    assert (code, out) == (2, "")
    (line,) = [x for x in err.splitlines() if x.strip()]
    assert message in line


def test_a_type_filter_takes_in_its_finer_kinds() -> None:
    cameras = device_types_under("camera")
    assert {"camera", "nvr", "doorbell", "baby_monitor"} <= set(cameras)
    assert "smart_plug" not in cameras
    assert device_types_under("nvr") == ["nvr"]


def test_show_says_what_the_device_is_how_risky_and_why(capsys: pytest.CaptureFixture[str], classified: str) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "devices", "show", CAMERA, "--db", classified, "-f", "json")
    assert code == 0
    device = json.loads(out)["device"]
    assert device["risk"]["band"] == "high"
    assert [(f["check"], f["status"]) for f in device["findings"]] == [("risk.test.gone", "resolved"),
                                                                      ("risk.test.high", "open")]
    assert device["alerts"] == []
    code, table, _ = run(capsys, "devices", "show", CAMERA, "--db", classified)
    assert code == 0
    for text in ("vendor", "Axis  (confidence", "M3045-V", "device type", "camera", "risk", "high", "Findings",
                 "risk.test.high", "open camera stream"):
        assert text in table, text
    assert table.index("Findings") < table.index("Recent flows")


# ``devices merge A B``: two records an analyst knows are one device
ONE, OTHER = "mac:02:00:00:00:00:07", "mac:02:00:00:00:00:08"


def test_merge_says_what_moved_and_the_merged_key_then_names_the_other(capsys: pytest.CaptureFixture[str],
                                                                        db: str) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "devices", "merge", ONE, OTHER, "--db", db)
    assert code == 0
    assert f"merged {ONE} into {OTHER}" in out and "device_ips" in out and "inventory_snapshots" in out
    _, out, _ = run(capsys, "devices", "show", ONE, "--db", db, "-f", "json")
    device = json.loads(out)["device"]
    assert device["key"] == OTHER and device["merged"]["key"] == ONE and device["merged"]["reason"] == "manual"
    assert {h["ip"] for h in device["ip_history"]} == {"10.1.0.7", "10.1.0.8"}
    assert len(device["flows"]) == 2  # both records' flows, by their addresses
    _, out, _ = run(capsys, "devices", "show", ONE, "--db", db)
    assert f"{ONE} was merged into {OTHER}" in out and "merged from" in out
    _, out, _ = run(capsys, "devices", "--db", db, "-f", "json")
    assert ONE not in {d["key"] for d in json.loads(out)["devices"]}


def test_merging_again_is_no_error_and_changes_nothing(capsys: pytest.CaptureFixture[str], db: str) -> None:
    capsys.readouterr()
    assert run(capsys, "devices", "merge", ONE, OTHER, "--db", db)[0] == 0
    code, out, _ = run(capsys, "devices", "merge", ONE.upper(), OTHER, "--db", db, "-f", "json")
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == "iotwarden.device-merge/1" and doc["already"] is True
    assert (doc["alias"], doc["into"]) == (ONE, OTHER)


@pytest.mark.parametrize(("argv", "message"), [
    ((ONE, ONE), "cannot merge device 'mac:02:00:00:00:00:07' into itself"),
    (("mac:02:00:00:00:99:99", OTHER), "no stored device 'mac:02:00:00:00:99:99'"),
    ((ONE, "ip:10.99.99.99"), "no stored device 'ip:10.99.99.99'"),
    ((ONE, " "), "give two device keys"),
])
def test_merge_refuses_unknown_or_equal_keys_in_one_line_with_exit_code_2(
        capsys: pytest.CaptureFixture[str], db: str, argv: tuple[str, str], message: str) -> None:
    capsys.readouterr()
    code, out, err = run(capsys, "devices", "merge", *argv, "--db", db)
    assert (code, out) == (2, "")
    (line,) = [x for x in err.splitlines() if x.strip()]
    assert message in line
    _, out, _ = run(capsys, "devices", "--db", db, "-f", "json")
    assert len(json.loads(out)["devices"]) == 251  # nothing merged


def _tagged(frames: list[tuple[float, bytes]], vid: int) -> list[tuple[float, bytes]]:
    """Each Ethernet frame with an 802.1Q tag of VLAN ``vid`` (IEEE 802.1Q §9.6) after its addresses."""
    return [(ts, f[:12] + b"\x81\x00" + vid.to_bytes(2, "big") + f[12:]) for ts, f in frames]


def test_a_devices_vlans_are_in_the_report_and_in_show(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A trunk mirror: the camera seen on VLAN 10 records it (link.domain) in the analysis report and in the store
    (devices show, JSON and table); a later run on VLAN 20 adds it (the report tells the device as stored); an
    untagged run records none and keeps both."""
    start = 1_700_000_000.0
    frames = [*b.dhcp_exchange(start), b.arp_reply(start + 0.5), *b.http_session(start + 1.0)]
    db = f"sqlite:///{tmp_path / 'vlans.db'}"
    for name, vid, recorded in (("vlan10", 10, ["vlan10"]), ("vlan20", 20, ["vlan10", "vlan20"]),
                                ("plain", 0, ["vlan10", "vlan20"])):
        path = b.write_pcap(tmp_path / f"{name}.pcap", _tagged(frames, vid) if vid else frames)
        code, out, err = run(capsys, "analyze", str(path), "--db", db, "-f", "json")
        assert code == 0, err
        camera = next(d for d in json.loads(out)["devices"] if d["key"] == f"mac:{b.CAMERA_MAC}")
        assert camera["attributes"].get("link.domain") == recorded
    code, out, _ = run(capsys, "devices", "show", b.CAMERA_MAC, "--db", db, "-f", "json")
    device = json.loads(out)["device"]
    assert device["attributes"]["link.domain"] == ["vlan10", "vlan20"]
    # the address history says where the camera held its address (one row per address: the first domain)
    assert [(h["ip"], h["domain"]) for h in device["ip_history"]] == [(b.CAMERA_IP, "vlan10")]
    code, out, _ = run(capsys, "devices", "show", b.CAMERA_MAC, "--db", db)
    assert "link.domain" in out and "vlan20" in out
    assert "domain" in out.split("Addresses", 1)[1]
