"""REST API and console latency with 100,000 devices in the store, on SQLite and PostgreSQL.

Seeds synthetic devices shaped like the analyser's (keys, addresses, names, attributes, protocols,
classification, times over 30 days; 2% state a Modbus vendor), risk findings on a third of them and a
saved segmentation policy (zones by category and subnet), serves the app with uvicorn on loopback,
and prints p50/p95 of the inventory list and every filter over HTTP, and the inventory page's load
time in headless Chromium (Debian's; skipped when absent). Target (issue 5): p95 < 200 ms, page < 1 s.

    python bench/api.py                       # both backends, 100,000 devices
    python bench/api.py --devices 20000 --backends sqlite --runs 20
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import insert, text

from iotwarden.api import accounts, create_app
from iotwarden.policy import storage
from iotwarden.policy.model import load_text
from iotwarden.store import Store
from iotwarden.store.alert_models import FindingRow
from iotwarden.store.schema import DeviceRow

PG_URL = os.environ.get("IOTWARDEN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "bench passphrase 1"  # noqa: S105 - a throwaway user in a throwaway database
CHUNK = 5000
T0 = 1_709_251_200.0  # 2024-03-01 UTC
VENDORS = ("Siemens", "Schneider Electric", "Rockwell Automation", "ABB", "Honeywell")
PRODUCTS = ("axis", "hikvision", "hp-laserjet", "yealink", "ring", "nest", "sonos", "win10", "iphone", "android")
# what the classifier concludes per product (filled only where the store has its columns)
CLASSIFIED = {"axis": ("Axis Communications", "ip_camera", "iot"), "hikvision": ("Hikvision", "ip_camera", "iot"),
              "hp-laserjet": ("HP", "printer", "iot"), "yealink": ("Yealink", "voip_phone", "iot"),
              "ring": ("Ring", "doorbell", "iot"), "nest": ("Google", "thermostat", "iot"),
              "sonos": ("Sonos", "speaker", "iot"), "win10": ("Microsoft", "workstation", "it"),
              "iphone": ("Apple", "phone", "it"), "android": ("Samsung", "phone", "it")}
CLASS_COLUMNS = ("vendor", "device_type", "category")
PROTOCOLS = ("arp", "dhcp", "dns", "mdns", "ssdp", "http", "tls", "ntp", "snmp", "mqtt", "modbus", "bacnet")
FINDING_SHARE = 0.33  # devices with risk findings
CHECKS = (("risk.cleartext.telnet", "high"), ("risk.credentials.default", "critical"), ("risk.tls.weak", "medium"),
          ("risk.upnp.exposed", "low"), ("risk.cleartext.http", "low"), ("risk.snmp.public", "medium"))
POLICY = """
name: bench
zones:
  - {name: ot, categories: [ot]}
  - {name: cameras, device_types: [ip_camera]}
  - {name: iot, categories: [iot]}
  - {name: lab, subnets: [10.1.0.0/16]}
  - {name: it, categories: [it]}
rules: []
"""

QUERIES = {
    "list (first page, by key)": {},
    "list by last seen, newest first": {"sort": "-last_seen"},
    "list page 1000 (offset 50,000)": {"offset": 50_000},
    "filter vendor=Siemens": {"vendor": "Siemens"},
    "filter category=ot": {"category": "ot"},
    "filter protocol=modbus": {"protocol": "modbus"},
    "filter last seen in one day": {"last_seen_after": T0 + 10 * 86400, "last_seen_before": T0 + 11 * 86400},
    "search q=axis": {"q": "axis"},
    "search q=10.1.7. + protocol=tls": {"q": "10.1.7.", "protocol": "tls"},
    "filter type=ip_camera": {"type": "ip_camera"},
    "filter risk=critical": {"risk": "critical"},
    "filter risk=none (no findings)": {"risk": "none"},
    "filter zone=ot": {"zone": "ot"},
    "filter zone=it + sort by bytes": {"zone": "it", "sort": "-bytes"},
}


def device(i: int, rng: random.Random) -> dict[str, object]:
    mac = ":".join(f"{b:02x}" for b in (0x02, (i >> 32) & 255, (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255,
                                        i & 255))
    ip = f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"
    product = rng.choice(PRODUCTS)
    first = T0 + rng.random() * 25 * 86400
    attrs: dict[str, list[str]] = {
        "dhcp.hostname": [f"{product}-{i:06x}"],
        "dhcp.param_req_list": [rng.choice(("1,3,6,15,31,33,43,44,46,47,119,121,249,252", "1,3,6,12,15,28,42"))],
        "dhcp.vendor_class": [rng.choice(("MSFT 5.0", "udhcp 1.31.1", "android-dhcp-13"))],
        "tls.ja4": [f"t13d1516h2_8daaf6152771_{rng.getrandbits(48):012x}"],
    }
    protocols = sorted(rng.sample(PROTOCOLS[:9], 4))
    classified = dict(zip(CLASS_COLUMNS, CLASSIFIED[product], strict=True))
    if rng.random() < 0.02:
        attrs["modbus.vendor_name"] = [rng.choice(VENDORS)]
        protocols = sorted({*protocols, "modbus"})
        classified = {"vendor": attrs["modbus.vendor_name"][0], "device_type": "plc", "category": "ot"}
    row: dict[str, object] = {
            "key": f"mac:{mac}", "mac": mac, "first_seen": first, "last_seen": first + rng.random() * 5 * 86400,
            "ips": [ip], "hostnames": [f"{product}-{i:06x}.local"], "attributes": attrs, "protocols": protocols,
            "packets": rng.randint(1, 10**6), "bytes": rng.randint(60, 10**9)}
    row.update({k: v for k, v in classified.items() if k in DeviceRow.__table__.c})
    return row


def findings(i: int, rng: random.Random) -> list[dict[str, object]]:
    """One to three risk findings of device ``i`` (on :data:`FINDING_SHARE` of the devices)."""
    if rng.random() >= FINDING_SHARE:
        return []
    mac = ":".join(f"{b:02x}" for b in (0x02, (i >> 32) & 255, (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255,
                                        i & 255))
    now = T0 + 20 * 86400
    return [{"check_id": check, "title": check, "severity": severity, "device_key": f"mac:{mac}", "evidence": {},
             "remediation": "", "references": [], "status": "open", "first_seen": now, "last_seen": now}
            for check, severity in rng.sample(CHECKS, rng.randint(1, 3))]


def seed(store: Store, n: int) -> float:
    rng = random.Random(5)
    frng = random.Random(6)
    started = time.perf_counter()
    for start in range(0, n, CHUNK):
        with store.transaction() as session:
            session.execute(insert(DeviceRow), [device(i, rng) for i in range(start, min(n, start + CHUNK))])
            rows = [f for i in range(start, min(n, start + CHUNK)) for f in findings(i, frng)]
            if rows:
                session.execute(insert(FindingRow), rows)
    storage.save(store, load_text(POLICY), "bench")
    with store.transaction() as session:
        accounts.create_user(session, "bench", PASSWORD, "viewer")
        session.execute(text("ANALYZE"))  # planner statistics, as after a day of real use
    return time.perf_counter() - started


@contextmanager
def serving(store: Store) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure_api(base: str, runs: int) -> dict[str, tuple[float, float, int]]:
    out = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        client.post("/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}).raise_for_status()
        for name, params in QUERIES.items():
            client.get("/api/v1/devices", params=params).raise_for_status()  # warm the caches once
            samples = []
            total = 0
            for _ in range(runs):
                t = time.perf_counter()
                response = client.get("/api/v1/devices", params=params)
                samples.append((time.perf_counter() - t) * 1000)
                response.raise_for_status()
                total = response.json()["total"]
            out[name] = (*percentiles(samples), total)
    return out


def measure_page(base: str, runs: int) -> tuple[float, float] | None:
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    samples = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/login?next=/devices")
        page.fill("#username", "bench")
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_selector("#devices tbody tr")
        for _ in range(runs):
            t = time.perf_counter()
            page.goto(f"{base}/devices", wait_until="load")
            page.wait_for_selector("#devices tbody tr")
            samples.append((time.perf_counter() - t) * 1000)
        browser.close()
    return percentiles(samples)


@contextmanager
def open_backend(name: str) -> Iterator[Store]:
    if name == "sqlite":
        with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{Path(tmp) / 'bench.db'}") as store:
            yield store
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with Store(PG_URL, schema=schema) as store:
            yield store
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30, help="requests per query")
    parser.add_argument("--page-runs", type=int, default=10, help="page loads in the browser")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        with open_backend(backend) as store:
            took = seed(store, args.devices)
            print(f"\n== {backend}: {args.devices:,} devices seeded in {took:.1f} s")
            with serving(store) as base:
                results = measure_api(base, args.runs)
                print(f"{'GET /api/v1/devices':40} {'p50 ms':>8} {'p95 ms':>8} {'matches':>8}  (target p95 < 200)")
                for name, (p50, p95, total) in results.items():
                    flag = "" if p95 < 200 else "  OVER"
                    print(f"{name:40} {p50:8.1f} {p95:8.1f} {total:8}{flag}")
                page = measure_page(base, args.page_runs)
                if page is None:
                    print(f"inventory page: skipped (no Chromium at {CHROMIUM})")
                else:
                    flag = "" if page[1] < 1000 else "  OVER"
                    print(f"{'inventory page load in Chromium':40} {page[0]:8.1f} {page[1]:8.1f}"
                          f"           (target < 1000){flag}")


if __name__ == "__main__":
    main()
