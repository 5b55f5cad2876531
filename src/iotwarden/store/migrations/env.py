"""Alembic environment: runs the store's migrations on the connection the Store hands over.

The store calls Alembic programmatically (``iotwarden.store.db.upgrade``); there is no alembic.ini.
"""

from __future__ import annotations

from alembic import context

from iotwarden.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite ALTER TABLE goes through batch mode in later migrations
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
