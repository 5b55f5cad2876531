"""The shipped migrations create exactly the ORM schema (no drift between the two)."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import UniqueConstraint

from iotwarden.store import Store
from iotwarden.store.schema import Base


def _import_all_models() -> None:
    """Other packages add their tables in store/<name>_models.py; the migrations must cover them too."""
    import iotwarden.store

    for info in pkgutil.iter_modules(iotwarden.store.__path__):
        if info.name.endswith("_models"):
            importlib.import_module(f"iotwarden.store.{info.name}")


def test_migrated_database_matches_the_models(store: Store) -> None:
    _import_all_models()
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_flow_natural_key_and_device_key_are_unique_constraints() -> None:
    flows = Base.metadata.tables["flows"]
    uniques = {tuple(c.name for c in con.columns) for con in flows.constraints if isinstance(con, UniqueConstraint)}
    assert ("vlan", "ip_proto", "a_ip", "a_port", "b_ip", "b_port", "first_seen") in uniques
    assert Base.metadata.tables["devices"].c.key.unique
