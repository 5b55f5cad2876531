"""``iotwarden vulndb import`` then ``iotwarden firmware analyze`` on an image of real binaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.cli import main as cli
from tests.conftest import shared
from tests.firmware.conftest import make_rootfs


def _run(argv: list[str]) -> int:
    from iotwarden.cli import firmware  # noqa: F401 - registers the command groups until main.py does

    return cli.main(argv)


def test_import_then_analyze(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess

    db = str(tmp_path / "v.db")
    assert (
        _run(
            [
                "vulndb",
                "import",
                "--db",
                db,
                str(shared("vuln", "alpine_secdb_v3.18", "dnsmasq.json")),
                str(shared("vuln", "nvd_sample", "nvd2_condensed_sample.json")),
            ]
        )
        == 0
    )
    root = make_rootfs(tmp_path)
    image = tmp_path / "fw.sqfs"
    subprocess.run(
        ["mksquashfs", str(root), str(image), "-noappend", "-no-progress", "-quiet"], check=True, capture_output=True
    )
    capsys.readouterr()
    sbom = tmp_path / "sbom.json"
    assert (
        _run(
            ["firmware", "analyze", str(image), "--db", db, "--format", "json", "--sbom", "cyclonedx", "-o", str(sbom)]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "iotwarden.firmware.report/1"
    assert {c["name"] for c in report["components"]} >= {"busybox", "dnsmasq", "dropbear", "lighttpd", "openssl"}
    # dnsmasq 2.90 (Debian build): Alpine says 2.90-r0 fixed CVE-2023-50387; nothing later is in the sample
    assert report["vulnerabilities"] == []
    assert "rootfs" not in report["boot_started"]
    assert any(p.endswith("/bin/dnsmasq") for p in report["boot_started"])
    assert json.loads(sbom.read_text())["specVersion"] == "1.6"
    # hardening: Debian's busybox-static is the one executable built without PIE
    assert [(f["id"], f["evidence"]["count"]) for f in report["findings"]] == [("firmware.hardening.elf_no_pie", 1)]


def test_missing_image_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["firmware", "analyze", str(tmp_path / "nope.bin"), "--no-vulns"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_vulndb_import_takes_folders_and_goes_on_past_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder of CVE 5 records (with two JSON files in it that are no feeds) goes in whole; a named
    file that is no feed is one error line, the files after it are still imported, and the exit is 2."""
    db = str(tmp_path / "v.db")
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}')
    folder = shared("vuln", "openssl_secjson")
    kev = shared("vuln", "cisa_kev", "known_exploited_vulnerabilities.json")
    assert _run(["vulndb", "import", "--db", db, str(folder), str(bad), str(kev)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("error:") == 1 and "notes.json" in captured.err
    assert "data.json: skipped: not a vulnerability feed" in captured.out
    assert _run(["vulndb", "stats", "--db", db]) == 0
    stats = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    records = len(list(folder.glob("CVE-*.json")))
    assert int(stats["vulns.cve5"]) == records and int(stats["kev"]) > 1000
