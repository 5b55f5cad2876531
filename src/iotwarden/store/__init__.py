"""The store: SQLAlchemy models, Alembic migrations run in-process, writers and queries.

SQLite by default (``./iotwarden.db`` or ``$IOTWARDEN_DB``), PostgreSQL through ``postgresql+psycopg://``.
``Store`` and ``resolve_url`` are imported from :mod:`.db` on first use, not with the package, so that a module
of the store that needs no SQLAlchemy (:mod:`.limits`) costs nothing to read (~0.25 s CPU for SQLAlchemy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iotwarden.store.db import Store, resolve_url

__all__ = ["Store", "resolve_url"]


def __getattr__(name: str) -> Any:
    """``Store`` and ``resolve_url`` from :mod:`.db` (PEP 562), imported when first asked for."""
    if name in __all__:
        from iotwarden.store import db  # noqa: PLC0415 - see the module docstring

        return getattr(db, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
