"""API fixtures: a store seeded once from the lab demo capture, copied per test, with one user per role."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from iotwarden.api import accounts, create_app
from iotwarden.api import devicequery as dq
from iotwarden.bus import InProcessBus
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow

DEMO = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "captures" / "demo.pcap"
PASSWORDS = {"admin": "admin-password-1", "analyst": "analyst-password-1", "viewer": "viewer-password-1"}
SEEDED_ALERT = "tests.seeded.scan"  # detector id of alert 1: no real detector uses it
CAMERA = "mac:ac:cc:8e:4a:10:01"  # an Axis camera of the demo network (lab/scenarios/enterprise.yaml)


def camera_findings(store: Store) -> list[FindingRow]:
    """The findings the analysis stored about the camera (the risk checks decide which)."""
    with store.session() as session:
        return list(session.scalars(select(FindingRow).where(FindingRow.device_key == CAMERA)))


def some_vendor(store: Store) -> tuple[str, int]:
    """A vendor value the store knows and on how many devices (from a column once the classifier fills
    one, else from the attributes in which devices state it)."""
    with store.session() as session:
        values = dq.facet_values(session, dq.FACETS["vendor"])
    assert values, "the demo network has devices that state their vendor"
    return values[0]


def open_alerts(store: Store) -> dict[str, int]:
    """Open (not closed, not suppressed) alerts by severity, as stored."""
    with store.session() as session:
        stmt = select(AlertRow.severity).where(AlertRow.status != "closed", AlertRow.suppressed.is_(False))
        return dict(Counter(session.scalars(stmt)))


def seed(store: Store) -> None:
    """One user per role, alert 1 on the camera (:data:`SEEDED_ALERT`, made before the analysis so its
    id is known and no detector aggregates into it), then the demo capture analysed: its risk checks
    and detectors store their own findings and alerts."""
    now = time.time()
    with store.transaction() as session:
        for role, password in PASSWORDS.items():
            accounts.create_user(session, role, password, role)
        session.add(AlertRow(detector_id=SEEDED_ALERT, title="Horizontal port scan", severity="high",
                             device_key=CAMERA, evidence={"ports": [22, 23, 80]}, status="new", suppressed=False,
                             created=now, updated=now, count=3))
    report = analyze([DEMO], store)
    assert not report.failed


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seed") / "seed.db"
    with Store(f"sqlite:///{path}") as store:
        seed(store)
    return path


@pytest.fixture
def store(seeded_db: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "api.db"
    shutil.copy(seeded_db, path)
    with Store(f"sqlite:///{path}") as opened:
        yield opened


@pytest.fixture
def bus() -> InProcessBus:
    return InProcessBus()


@pytest.fixture
def app(store: Store, bus: InProcessBus):  # type: ignore[no-untyped-def]
    return create_app(store, bus=bus)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def login(client: TestClient, role: str) -> str:
    """Log ``client`` in as the user of ``role``; returns the CSRF token (also set as its default header)."""
    response = client.post("/api/v1/auth/login", json={"username": role, "password": PASSWORDS[role]})
    assert response.status_code == 200, response.text
    csrf = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    return str(csrf)


@pytest.fixture
def as_admin(client: TestClient) -> TestClient:
    login(client, "admin")
    return client


@pytest.fixture
def as_analyst(client: TestClient) -> TestClient:
    login(client, "analyst")
    return client


@pytest.fixture
def as_viewer(client: TestClient) -> TestClient:
    login(client, "viewer")
    return client
