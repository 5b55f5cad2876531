"""Device search on PostgreSQL: pg_trgm GIN indexes on the texts the device list searches and filters.

Revision ID: 0009_device_search_pg
Revises: 0008_policies
Create Date: 2026-11-26

The free-text search (``q``) is ILIKE '%term%' over the key and the JSON texts of addresses, names
and attributes, and ``protocol=`` is LIKE '%"modbus"%' over the protocol list's JSON text
(api/devicequery.py ``where``). A B-tree cannot serve a leading wildcard; a trigram GIN index can
(PostgreSQL docs, F.35 pg_trgm §F.35.5 "Index Support"). PostgreSQL only: SQLite scans 100,000 rows
fast enough (bench/api.py). Without the pg_trgm extension (not installed, or no right to create it)
the revision creates nothing and the queries stay correct, only slower.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0009_device_search_pg"
down_revision = "0008_policies"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

# index name -> the expression, exactly as the device list's SQL writes it, so the planner matches it
TRIGRAM_INDEXES = {
    "ix_devices_key_trgm": "(CAST(key AS TEXT))",
    "ix_devices_ips_trgm": "(CAST(ips AS VARCHAR))",
    "ix_devices_hostnames_trgm": "(CAST(hostnames AS VARCHAR))",
    "ix_devices_attributes_trgm": "(CAST(attributes AS VARCHAR))",
    "ix_devices_protocols_trgm": "(CAST(protocols AS VARCHAR))",
}


def _trgm_schema(bind: sa.Connection) -> str | None:
    """The schema holding pg_trgm, installing it into ``public`` when absent (never into a per-test
    schema on the search path, whose DROP ... CASCADE would take every other schema's indexes with it)."""
    found = bind.scalar(sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"))
    if found:
        return str(found)
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm unavailable (%s): device search stays unindexed", str(exc).splitlines()[0])
        return None
    return "public"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = _trgm_schema(bind)
    if schema is None:
        return
    for name, expr in TRIGRAM_INDEXES.items():
        op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON devices USING gin ({expr} "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
