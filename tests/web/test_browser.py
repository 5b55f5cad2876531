"""The console in real headless Chromium (Debian's, driven by Playwright; no browser download): log in,
filter the inventory, open a device and its evidence, open the map, acknowledge an alert, see a live
update arrive, log out. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotwarden.api import create_app
from iotwarden.bus import InProcessBus
from iotwarden.store import Store
from tests.api.conftest import CAMERA, PASSWORDS, some_vendor

CHROMIUM = os.environ.get("IOTWARDEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"),
]


class Server:
    """The app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, store: Store, bus: InProcessBus) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        config = uvicorn.Config(create_app(store, bus=bus), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def console(store: Store, bus: InProcessBus) -> Iterator[Server]:
    with Server(store, bus) as server:
        yield server


@pytest.fixture
def page(console: Server) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            opened = context.new_page()
            opened.set_default_timeout(15_000)
            yield opened
        finally:
            browser.close()


def store_alert(store: Store, title: str) -> int:
    """A new alert on the camera, stored the way the detection pipeline stores one; its id."""
    from iotwarden.store.alert_models import AlertRow

    now = time.time()
    with store.transaction() as session:
        row = AlertRow(detector_id="tests.live", title=title, severity="high", device_key=CAMERA, evidence={},
                       status="new", suppressed=False, created=now, updated=now, count=1)
        session.add(row)
        session.flush()
        return int(row.id)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_security_analysts_session(  # type: ignore[no-untyped-def]
        console: Server, page, bus: InProcessBus, store: Store) -> None:
    from playwright.sync_api import expect

    page.goto(f"{console.url}/devices")
    expect(page).to_have_url(f"{console.url}/login?next=/devices")  # anonymous: sent to log in
    page.fill("#username", "analyst")
    page.fill("#password", PASSWORDS["analyst"])
    shot(page, "01-login")
    page.click("#login")
    expect(page).to_have_url(f"{console.url}/devices")
    expect(page.locator("#live-status")).to_have_text("live: on")

    # filter the inventory: a vendor from the facet list, then free text, updated in place by htmx
    total = int(page.locator("#result-count").get_attribute("data-total") or 0)
    vendor, count = some_vendor(store)
    page.select_option("#filter-vendor", vendor)
    expect(page.locator("#result-count")).to_have_attribute("data-total", str(count))
    page.select_option("#filter-vendor", "")
    expect(page.locator("#result-count")).to_have_attribute("data-total", str(total))
    page.fill("#filter-q", "axis")
    expect(page.locator("#result-count")).not_to_have_attribute("data-total", str(total))
    expect(page.locator("#devices a.device-link", has_text=CAMERA)).to_be_visible()
    filtered = int(page.locator("#result-count").get_attribute("data-total") or 0)
    assert 0 < filtered < total
    assert "q=axis" in page.url  # the filter is in the address: shareable, back button works
    shot(page, "02-inventory-filtered")

    # open a device: identity, its evidence, its alerts
    page.click(f"#devices a.device-link >> text={CAMERA}")
    expect(page.locator("#device-key")).to_have_text(CAMERA)
    expect(page.locator("#evidence tbody tr").first).to_be_visible()
    assert page.locator("#evidence tbody tr").count() >= 5
    expect(page.locator("#evidence")).to_contain_text("telnet")
    # and why the classifier says what it is: the first conclusion open with the evidence behind it
    expect(page.locator("#why details[open] summary")).to_contain_text("confidence")
    expect(page.locator("#why details[open] li").first).to_be_visible()
    expect(page.locator("#why")).to_contain_text("device_type = camera")
    expect(page.locator("#alerts")).to_contain_text("Horizontal port scan")
    shot(page, "03-device")

    # the network map draws devices grouped by subnet and their conversations
    page.click("nav >> text=Network map")
    expect(page.locator("#map")).to_have_attribute("data-ready", "true")
    nodes = page.evaluate("window.iotwardenMap.nodes(':childless').length")
    edges = page.evaluate("window.iotwardenMap.edges().length")
    assert nodes == total and edges > 0
    expect(page.locator("#map-summary")).to_contain_text(f"{total} devices")
    # nodes are filled by category and ringed by risk: the camera is IoT and high risk
    camera = page.evaluate("key => { const n = window.iotwardenMap.getElementById(key); "
                           "return [n.data('category'), n.data('risk'), n.style('background-color')]; }", CAMERA)
    assert camera[:2] == ["iot", "high"] and camera[2] == "rgb(37,99,235)"
    expect(page.locator("#map-legend")).to_contain_text("high risk")
    shot(page, "04-map")

    # acknowledge the alert from the queue; a new alert announced by the pipeline (as `serve --capture`
    # does, tests/api/test_ingest.py) appears in the open queue without a reload, with a toast
    page.click("nav >> text=Alerts")
    row = page.locator("#alert-1")
    expect(row.locator(".status")).to_have_text("new")
    row.locator("button.ack").click()
    expect(page.locator("#alert-1 .status")).to_have_text("acknowledged")
    # the acknowledgement's own refresh of the queue must be over before the new alert is stored, or that
    # refresh (not the announcement) would show it: htmx marks elements with a request in flight
    page.wait_for_function("() => document.querySelector('.htmx-request') === null")
    new_id = store_alert(store, "Telnet login with a default password")
    expect(page.locator(f"#alert-{new_id}")).to_have_count(0)
    bus.publish("alert.created", {"id": new_id, "title": "Telnet login with a default password"})
    expect(page.locator("#toast")).to_contain_text("Telnet login with a default password")
    expect(page.locator(f"#alert-{new_id} .status")).to_have_text("new")
    expect(page.locator("#alert-1 .status")).to_have_text("acknowledged")
    shot(page, "05-alert-acknowledged")

    page.click("#logout")
    expect(page).to_have_url(f"{console.url}/login")
    page.goto(f"{console.url}/alerts")
    expect(page).to_have_url(f"{console.url}/login?next=/alerts")  # the session is over
    shot(page, "06-logged-out")


def test_the_acknowledgement_was_stored_and_audited(console: Server, page, store: Store) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect
    from sqlalchemy import select

    from iotwarden.store.alert_models import AlertRow
    from iotwarden.store.auth_models import AuditRow

    page.goto(f"{console.url}/login?next=/alerts")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORDS["admin"])
    page.click("#login")
    page.locator("#alert-1 button.ack").click()
    expect(page.locator("#alert-1 .status")).to_have_text("acknowledged")
    with store.session() as session:
        assert session.get(AlertRow, 1).status == "acknowledged"  # type: ignore[union-attr]
        actions = list(session.scalars(select(AuditRow.action).where(AuditRow.actor == "admin")))
    assert "alert.acknowledge" in actions



def test_a_network_too_large_for_one_map_opens_on_its_groups(  # type: ignore[no-untyped-def]
        console: Server, page, store: Store, monkeypatch) -> None:
    """More devices than one map draws: the map shows the groups (each a node with its device count), a tap
    opens one group's devices with the groups they talk to, the back button returns to the groups."""
    from playwright.sync_api import expect

    from iotwarden.api import views

    monkeypatch.setattr(views, "MAX_MAP_NODES", 8)  # the demo network's 37 devices are now "too many"
    page.goto(f"{console.url}/login?next=/map")
    page.fill("#username", "viewer")
    page.fill("#password", PASSWORDS["viewer"])
    page.click("#login")
    box = page.locator("#map")
    expect(box).to_have_attribute("data-ready", "true")
    expect(box).to_have_attribute("data-view", "overview")
    with store.session() as session:
        overview = views.map_groups(session)
    expect(page.locator("#map-summary")).to_contain_text(f"{overview['devices']} devices in")
    drawn = page.evaluate("window.iotwardenMap.nodes().map(n => [n.id(), n.data('devices')])")
    assert sorted(drawn) == sorted([g["id"], g["devices"]] for g in overview["nodes"])
    shot(page, "05-map-overview")

    biggest = max(overview["nodes"], key=lambda g: g["devices"])
    page.evaluate("id => window.iotwardenMap.getElementById(id).emit('tap')", biggest["id"])
    expect(box).to_have_attribute("data-view", "group")
    expect(box).to_have_attribute("data-ready", "true")
    assert "group=" in page.url
    devices = page.evaluate("window.iotwardenMap.nodes(':childless').filter(n => !n.hasClass('peer')).length")
    assert devices == min(biggest["devices"], 8)
    assert page.evaluate("window.iotwardenMap.nodes('.peer').length") > 0  # the groups it talks to
    expect(page.locator("#map-summary")).to_contain_text(biggest["id"])
    shot(page, "06-map-group")

    page.go_back()
    expect(box).to_have_attribute("data-view", "overview")
    expect(box).to_have_attribute("data-ready", "true")
