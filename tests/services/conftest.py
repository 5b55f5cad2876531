"""The store fixtures (SQLite file, private PostgreSQL schema) shared with tests/store."""

from tests.store.conftest import pg_schema, pg_store, sqlite_store, store

__all__ = ["pg_schema", "pg_store", "sqlite_store", "store"]
