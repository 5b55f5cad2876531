"""The web console's tests use the API's fixtures: the seeded demo store, its app and clients."""

from tests.api.conftest import app, bus, client, seeded_db, store

__all__ = ["app", "bus", "client", "seeded_db", "store"]


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    # until pyproject.toml lists it (the lead adds it there)
    config.addinivalue_line("markers", "browser: drives a real headless Chromium (Debian's chromium package)")
