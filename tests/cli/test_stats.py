"""``iotwarden stats``: per capture and total, from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.cli.main import main
from tests.services import builders as b


def test_stats_per_capture_and_in_total(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    main(["analyze", str(b.zeek_conn_log(tmp_path / "a" / "conn.log", 10)), "--db", db])
    main(["analyze", str(b.zeek_conn_log(tmp_path / "b" / "conn.log", 7, start=1_700_100_000.0)), "--db", db])
    capsys.readouterr()
    assert main(["stats", "--db", db, "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "iotwarden.stats/1"
    assert [c["flows"] for c in doc["captures"]] == [10, 7]
    assert doc["totals"]["flows"] == 17
    assert doc["totals"]["packets"] == 17
    assert doc["totals"]["captures"] == {"complete": 2}
    assert doc["store"]["flows"] == 17
    assert main(["stats", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Captures (2)" in out
    assert "total: 17 packets" in out


def test_stats_of_a_capture_count_protocols(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("iotwarden.engine.core", reason="the packet engine (engine/core.py) is not there yet")
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    main(["analyze", str(b.camera_capture(tmp_path / "cam.pcap")), "--db", db])
    capsys.readouterr()
    assert main(["stats", "--db", db, "-f", "json"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert totals["packets"] == 11
    assert totals["protocols"]["dhcp"] == 2
    assert totals["protocols"]["http"] >= 2


def test_stats_say_how_many_scan_probes_were_not_stored(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.services.test_analyze import _scan_log
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["analyze", str(_scan_log(tmp_path / "conn.log", 40)), "--db", db, "--max-probe-flows", "10"]) == 0
    capsys.readouterr()
    assert main(["stats", "--db", db, "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["flows_not_stored"] for c in doc["captures"]] == [30]
    assert (doc["totals"]["flows"], doc["totals"]["flows_not_stored"], doc["store"]["flows"]) == (45, 30, 15)
    assert main(["stats", "--db", db]) == 0
    assert "30 scan probes were analysed but not stored" in capsys.readouterr().out


def test_stats_tell_another_protocol_on_a_port_from_parse_errors(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    """STUN (RFC 8489 §5) on udp/443: refused by QUIC before anything confirmed the flow, shown as "not this
    protocol" (``rejected_before_confirmation``), not as a QUIC parse error."""
    pytest.importorskip("iotwarden.engine.core", reason="the packet engine (engine/core.py) is not there yet")
    import struct

    from tests.sources.capbuild import ethernet, pcap_bytes, udp

    stun = struct.pack(">HHI", 0x0001, 0, 0x2112A442) + bytes(12)
    cap = tmp_path / "stun.pcap"
    cap.write_bytes(pcap_bytes([(1_700_000_000.0 + i, ethernet(udp("192.168.1.10", "198.51.100.7", 50000, 443, stun)))
                                for i in range(3)]))
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["analyze", str(cap), "--db", db]) == 0
    capsys.readouterr()
    assert main(["stats", "--db", db, "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    [c] = doc["captures"]
    assert "quic" not in c["parse_errors"] and c["rejected_before_confirmation"]["quic"] >= 1
    assert doc["totals"]["rejected_before_confirmation"] == c["rejected_before_confirmation"]
    assert main(["stats", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "not this protocol" in out
    [row] = [line for line in out.splitlines() if line.strip("│ ").startswith("quic")]
    cells = [cell.strip() for cell in row.strip("│").split("│")]
    assert cells[2:] == ["0", str(c["rejected_before_confirmation"]["quic"])]  # parse errors, not this protocol


def test_stats_show_the_frames_not_read_and_why(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A Wi-Fi capture of a protected network: its data frames are counted by reason, and the hint says
    what to do about encrypted ones."""
    scapy = pytest.importorskip("scapy.all", reason="scapy builds the 802.11 capture (dev extra)")
    ap, sta = "02:00:00:00:00:aa", "02:00:00:00:00:01"
    frames = [scapy.RadioTap() / scapy.Dot11(type=2, subtype=0, FCfield="to_DS+protected", addr1=ap, addr2=sta,
                                             addr3=ap) / scapy.Raw(b"\x01" * 40) for _ in range(3)]
    frames.append(scapy.RadioTap() / scapy.Dot11(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=ap, addr3=ap)
                  / scapy.Dot11Beacon())
    capture = tmp_path / "wifi.pcap"
    scapy.wrpcap(str(capture), frames)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    main(["analyze", str(capture), "--db", db])
    capsys.readouterr()
    assert main(["stats", "--db", db, "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["decode_errors"] == {"wlan_management": 1,
                                                                               "wlan_protected": 3}
    assert main(["stats", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Decode problems" in out and "wlan_protected" in out and "airdecap-ng" in out
