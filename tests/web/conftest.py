"""The web console's tests use the API's fixtures: the seeded demo store, its app and clients."""

from tests.api.conftest import app, bus, client, seeded_db, store

__all__ = ["app", "bus", "client", "seeded_db", "store"]
