"""A PostgreSQL URL's own server options (libpq ``options``: a ``search_path``, a ``statement_timeout``) reach the
server beside the store's plan_cache_mode, instead of being replaced by it (store/db.py Store)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from iotwarden.store import Store
from tests.store.conftest import PG_URL


@pytest.mark.postgres
def test_the_url_s_own_server_options_are_kept_beside_the_store_s(pg_schema: str) -> None:
    joiner = "&" if "?" in PG_URL else "?"
    # not migrated: with its options dropped, the store would make its tables in the public schema
    store = Store(f"{PG_URL}{joiner}options=-csearch_path%3D{pg_schema}%20-cstatement_timeout%3D12345", migrate=False)
    try:
        with store.engine.connect() as c:
            assert c.execute(text("SHOW search_path")).scalar() == pg_schema
            assert c.execute(text("SHOW statement_timeout")).scalar() == "12345ms"
            assert c.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
    finally:
        store.close()


@pytest.mark.postgres
def test_the_schema_argument_still_wins_over_the_url_s_search_path(pg_schema: str) -> None:
    joiner = "&" if "?" in PG_URL else "?"
    store = Store(f"{PG_URL}{joiner}options=-csearch_path%3Delsewhere", schema=pg_schema, migrate=False)
    try:
        with store.engine.connect() as c:
            assert c.execute(text("SHOW search_path")).scalar() == pg_schema
    finally:
        store.close()
