"""The store: SQLAlchemy models, Alembic migrations run in-process, writers and queries.

SQLite by default (``./iotwarden.db`` or ``$IOTWARDEN_DB``), PostgreSQL through ``postgresql+psycopg://``.
"""

from iotwarden.store.db import Store, resolve_url

__all__ = ["Store", "resolve_url"]
