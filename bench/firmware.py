"""Firmware analysis next to cve-bin-tool, in one run, on the same files and the same vulnerability data.

1. Builds a squashfs image (~30 MB by default) from real Debian binaries: the component binaries in
   ../shared/data/firmware/component_binaries (busybox, dnsmasq, dropbear, lighttpd, OpenSSL libraries,
   musl) and this machine's /usr/bin, /usr/sbin and /usr/lib/x86_64-linux-gnu (openssl and the rest).
2. Imports the local feeds of ../shared/data/vuln (NVD 2.0 sample, OpenSSL CVE 5 records, Alpine secdb,
   CISA KEV) into a fresh iotwarden database and times ``analyze_image`` (unpack, components, CVEs,
   hardening checks).
3. Runs cve-bin-tool (``pip install cve-bin-tool``) in offline mode on the same files: first as it comes,
   printing exactly what it says without a database, then with its SQLite database seeded from the same
   feeds (its own ``cve_severity``/``cve_range`` tables), so both tools match against identical data.
4. Prints both tools' components and CVEs side by side, with wall times.

    python bench/firmware.py [--target-mb 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from iotwarden.firmware.analyze import analyze_image  # noqa: E402
from iotwarden.firmware.catalog import product_key  # noqa: E402
from iotwarden.firmware.vulndb.importers import load_feed  # noqa: E402
from iotwarden.firmware.vulndb.records import AffectedRange, MemoryVulnRepository  # noqa: E402
from sweep_inputs import SHARED_DATA  # noqa: E402

SHARED = SHARED_DATA
HOST_DIRS = ("/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu")
FIRST = ("openssl", "libssl.so", "libcrypto.so", "busybox", "dnsmasq", "dropbear", "lighttpd", "curl", "libcurl")
COMPRESSION_GUESS = 2.6  # raw bytes per squashfs (gzip) byte for x86-64 binaries, to aim at the target size


def feeds() -> list[Path]:
    vuln = SHARED / "vuln"
    return [
        vuln / "nvd_sample" / "nvd2_condensed_sample.json",
        vuln / "cisa_kev" / "known_exploited_vulnerabilities.json",
        *sorted((vuln / "alpine_secdb_v3.18").glob("*.json")),
        *sorted((vuln / "openssl_secjson").glob("CVE-*.json")),
    ]


def build_rootfs(root: Path, target_raw: int) -> int:
    """Copy the component binaries, then host ELF files (interesting ones first) up to ``target_raw``."""
    comp = SHARED / "firmware" / "component_binaries"
    (root / "bin").mkdir(parents=True)
    (root / "usr" / "lib").mkdir(parents=True)
    total = 0
    for f in sorted(comp.iterdir()):
        if f.suffix == ".csv":
            continue
        dest = root / ("usr/lib" if ".so" in f.name else "bin") / f.name
        shutil.copy(f, dest)
        total += dest.stat().st_size
    host = []
    for d in HOST_DIRS:
        for p in sorted(Path(d).iterdir()) if Path(d).is_dir() else []:
            if p.is_file() and not p.is_symlink():
                host.append(p)
    host.sort(key=lambda p: (not p.name.startswith(FIRST), p.name))
    for p in host:
        if total >= target_raw:
            break
        try:
            with p.open("rb") as fh:
                if fh.read(4) != b"\x7fELF":
                    continue
        except OSError:
            continue
        rel = Path(str(p).lstrip("/"))
        dest = root / "host" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dest)
        total += dest.stat().st_size
    return total


def seed_cve_bin_tool_db(home: Path, ranges: list[AffectedRange], vulns: dict[str, dict[str, object]]) -> int:
    """cve-bin-tool's own schema (cvedb.CVEDB.init_database), filled from the feeds we imported."""
    from cve_bin_tool.cvedb import CVEDB  # bench-only dependency

    # the CLI finds it under $HOME/.cache/cve-bin-tool; run_cve_bin_tool sets HOME to ``home``

    db = CVEDB(cachedir=str(home / ".cache" / "cve-bin-tool"), version_check=False)
    db.cachedir.mkdir(parents=True, exist_ok=True)
    db.init_database()
    conn = sqlite3.connect(db.dbpath)
    rows = 0
    for r in ranges:
        vendor, product = r.product_key.split(":", 1)
        if vendor == "*":
            continue  # a package name without a CPE vendor: cve-bin-tool keys ranges by vendor
        v = vulns.get(r.vuln_id, {})
        conn.execute(
            "INSERT OR IGNORE INTO cve_severity VALUES (?,?,?,?,?,?,?,?)",
            (
                r.vuln_id,
                str(v.get("severity") or "UNKNOWN").upper(),
                v.get("summary") or "",
                v.get("cvss_score") or 0,
                3,
                v.get("cvss_vector") or "",
                "NVD",
                "2026-01-01T00:00:00",
            ),
        )
        conn.execute(
            "INSERT INTO cve_range VALUES (?,?,?,?,?,?,?,?,?)",
            (
                r.vuln_id,
                vendor,
                product,
                r.exact or "*",
                r.start_incl or "",
                r.start_excl or "",
                r.end_incl or "",
                r.end_excl or "",
                "NVD",
            ),
        )
        rows += 1
    conn.commit()
    conn.close()
    # cve-bin-tool 3.4's SQLite checker downloads sqlite.org/changes.html when its class is defined, even
    # with --offline, and the scan dies on the failed download; an empty, fresh version map stops that
    # (the price: SQLite is not identified by its source id)
    vmap = sqlite3.connect(db.cachedir / "version_map.db")
    vmap.execute("CREATE TABLE IF NOT EXISTS sqlite(version TEXT, sourceId TEXT PRIMARY KEY)")
    vmap.execute("CREATE TABLE IF NOT EXISTS latest_update_sqlite (datestamp DATETIME PRIMARY KEY)")
    vmap.execute("INSERT OR REPLACE INTO latest_update_sqlite VALUES (?)", (time.time(),))
    vmap.commit()
    vmap.close()
    return rows


def run_cve_bin_tool(
    files: Path, out: Path, home: Path
) -> tuple[float, int, str, list[dict[str, str]], list[tuple[str, str]]]:
    """Wall time, exit code (1 = CVEs found, its convention), error lines, CVE rows, products found
    (from the CycloneDX SBOM it writes: its JSON report lists only products with CVEs)."""
    exe = Path(sys.executable).parent / "cve-bin-tool"
    if not exe.exists():
        return 0.0, -1, "cve-bin-tool is not installed (pip install cve-bin-tool)", [], []
    env = dict(os.environ, HOME=str(home))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            str(exe),
            "--offline",
            "-u",
            "never",
            "--disable-version-check",
            "-f",
            "json",
            "-o",
            str(out),
            "--sbom-output",
            str(out.with_suffix(".cdx.json")),
            "--sbom-type",
            "cyclonedx",
            "--sbom-format",
            "json",
            str(files),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=3600,
    )
    wall = time.perf_counter() - t0
    said = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if "CRITICAL" in line or "ERROR" in line]
    found = json.loads(out.read_text()) if out.exists() and out.stat().st_size else []
    sbom = out.with_suffix(".cdx.json")
    comps = json.loads(sbom.read_text()).get("components", []) if sbom.exists() and sbom.stat().st_size else []
    products = [(c["name"], c.get("version") or "?") for c in comps if c.get("version")]
    return wall, proc.returncode, " | ".join(said), found, products


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--target-mb", type=float, default=30.0, help="squashfs image size to aim at")
    ap.add_argument("--keep", type=Path, help="keep the image and reports in this folder")
    args = ap.parse_args()
    if not (SHARED / "firmware" / "component_binaries").is_dir():
        print(f"shared data not found at {SHARED} (set IOTWARDEN_SHARED_DATA)")
        return 2
    work = Path(tempfile.mkdtemp(prefix="iw-bench-fw-"))
    try:
        root = work / "rootfs"
        raw = build_rootfs(root, int(args.target_mb * COMPRESSION_GUESS * 1024 * 1024))
        image = work / "bench.sqfs"
        subprocess.run(
            ["mksquashfs", str(root), str(image), "-noappend", "-no-progress", "-quiet", "-comp", "gzip"],
            check=True,
            capture_output=True,
        )
        print(
            f"image: {image.stat().st_size / 1e6:.1f} MB squashfs (gzip) of {raw / 1e6:.1f} MB, "
            f"{sum(1 for _ in root.rglob('*') if _.is_file())} files"
        )

        repo = MemoryVulnRepository()
        vulns: dict[str, dict[str, object]] = {}
        ranges: list[AffectedRange] = []
        for f in feeds():
            feed = load_feed(f)
            repo.put(feed.vulns, feed.ranges)
            ranges.extend(feed.ranges)
            repo.put_kev(feed.kev)
            for v in feed.vulns:
                vulns.setdefault(v.id, v.to_dict())
        t0 = time.perf_counter()
        report = analyze_image(image, repo)
        ours = time.perf_counter() - t0

        home = work / "home"
        home.mkdir()
        _, rc0, said0, _, _ = run_cve_bin_tool(root, work / "cbt0.json", home)
        seeded = seed_cve_bin_tool_db(home, ranges, vulns)
        theirs, rc, said, found, products = run_cve_bin_tool(root, work / "cbt.json", home)

        print("\nwall time (one core each)")
        print(f"  iotwarden analyze_image (unpack + components + CVEs + hardening): {ours:8.2f} s")
        print(
            f"  cve-bin-tool --offline on the unpacked files (CVE scan only):       {theirs:8.2f} s"
            f"  (exit {rc}, 1 = CVEs found)"
        )
        if theirs:
            print(f"  ratio cve-bin-tool / iotwarden: {theirs / ours:.2f}x")
        print(f"\ncve-bin-tool offline without a database: exit {rc0}: {said0 or '(nothing said)'}")
        print(
            f"cve-bin-tool database seeded from the same feeds: {seeded} range rows"
            + (f"; it said: {said}" if said else "")
        )

        ours_by: dict[tuple[str, str], set[str]] = {(c.name, c.version or "?"): set() for c in report.components}
        for hit in report.vulnerabilities:
            for c in report.components:
                if c.key == hit.product_key and (c.version or "?") == hit.version:
                    ours_by[(c.name, c.version or "?")].add(hit.vuln_id)
        theirs_by: dict[tuple[str, str], set[str]] = defaultdict(set)
        for product in products:
            theirs_by.setdefault(product, set())
        for row in found:
            name = (row.get("product", "?"), row.get("version", "?"))
            if row.get("cve_number", "") not in ("", "UNKNOWN"):  # CVE and feed ids (ALPINE-...) alike
                theirs_by[name].add(row["cve_number"])
            else:
                theirs_by.setdefault(name, set())
        print(f"\n{'iotwarden component':32} {'CVEs':>5}   {'cve-bin-tool product':32} {'CVEs':>5}")
        # one row per (product, version), each tool's name for it kept: names are joined through the
        # catalog's aliases and CPE products (cve-bin-tool says "dropbear_ssh" and "libcurl")
        rows: dict[tuple[str, str], list[tuple[str, set[str]] | None]] = defaultdict(lambda: [None, None])
        for side, found_by in enumerate((ours_by, theirs_by)):
            for (product_name, version), cves in found_by.items():
                rows[(product_key(product_name), version)][side] = (f"{product_name} {version}", cves)
        for ours_row, their_row in sorted(rows.values(), key=lambda r: (r[0] or r[1] or ("", set()))[0]):
            lt, ln = (ours_row[0][:32], str(len(ours_row[1]))) if ours_row else ("-", "")
            rt, rn = (their_row[0][:32], str(len(their_row[1]))) if their_row else ("-", "")
            print(f"{lt:32} {ln:>5}   {rt:32} {rn:>5}")
        ours_cves = {c for s in ours_by.values() for c in s}
        their_cves = {c for s in theirs_by.values() for c in s}
        print(f"\nCVEs: iotwarden {len(ours_cves)}, cve-bin-tool {len(their_cves)}, both {len(ours_cves & their_cves)}")
        print(f"  only iotwarden:    {' '.join(sorted(ours_cves - their_cves)[:20])}")
        print(f"  only cve-bin-tool: {' '.join(sorted(their_cves - ours_cves)[:20])}")
        print(f"iotwarden hardening findings: {', '.join(sorted({f.id.rsplit('.', 1)[-1] for f in report.findings}))}")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(image, args.keep / image.name)
            (args.keep / "iotwarden.json").write_text(json.dumps(report.to_dict(), indent=1))
            if (work / "cbt.json").exists():
                shutil.copy(work / "cbt.json", args.keep / "cve-bin-tool.json")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
