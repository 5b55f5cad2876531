"""The HTML report: one self-contained page (no network), with charts and the map, that a real browser
(headless Chromium) opens and runs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from iotwarden.model.finding import Finding
from iotwarden.report.document import Edge, build
from iotwarden.report.html import render
from iotwarden.report.source import report_from_store
from iotwarden.store import Store

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


class Links(HTMLParser):
    """Every URL-bearing attribute of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.json = ""
        self._in_json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action")]
        self._in_json = tag == "script" and ("id", "report-data") in attrs

    def handle_data(self, data: str) -> None:
        if self._in_json:
            self.json += data

    def handle_endtag(self, tag: str) -> None:
        self._in_json = False


def hostile_report() -> dict[str, object]:
    devices = [{"key": "mac:02:00:00:00:00:01", "hostnames": ["</script><script>alert(1)</script>"],
                "ips": ["10.0.0.1"], "classification": {"category": {"value": "ot"}}}]
    findings = [Finding(id="risk.test", title="<b>x</b>", severity="high", subject="mac:02:00:00:00:00:01",
                        evidence={"banner": "</script>"})]
    return build(devices, findings, [Edge("mac:02:00:00:00:00:01", "internet", 10, 1, {"tls"})], generated_at=0.0)


def test_page_is_self_contained_and_embeds_its_document() -> None:
    report = hostile_report()
    page = render(report)
    parser = Links()
    parser.feed(page)
    assert parser.urls == []  # nothing to fetch: no src, no href
    assert "default-src 'none'" in page  # and the CSP forbids it anyway
    assert json.loads(parser.json) == json.loads(json.dumps(report, default=str))
    assert "<script>alert(1)" not in page
    assert len(re.findall(r"<script\b", page)) == 2


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_headless_chromium_runs_the_page_and_shows_charts_and_map(lab_db: str, tmp_path: Path) -> None:
    with Store(lab_db) as store:
        report = report_from_store(store)
    page = tmp_path / "report.html"
    page.write_text(render(report), encoding="utf-8")
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-proxy-server",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    dom = result.stdout
    assert 'data-ready="yes"' in dom, result.stderr[-2000:]  # the inline script ran to its end
    net = report["network"]
    assert f'{len(net["nodes"])} nodes, {len(net["edges"])} links' in dom
    for chart in ("chart-category", "chart-risk", "chart-severity", "chart-type"):
        assert f'id="{chart}"' in dom
    assert dom.count('class="node ') == len(net["nodes"]) > 5
    sizes = Counter(n["group"] for n in net["nodes"])  # each group of two or more on a labelled backdrop
    drawn = set(re.findall(r'class="group-box" data-group="([^"]+)"', dom))
    assert len(sizes) > 1 and drawn == {g for g, size in sizes.items() if size > 1} and "subnet 10.20.0.0/24" in drawn
    assert "mac:08:ed:ed:3c:44:01" in dom  # the DVR with the Mirai login, in the tables
