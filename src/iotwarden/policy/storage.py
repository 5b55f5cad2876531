"""Policies versioned in the store: save, list and load the versions of a policy (table ``policies``,
store/policy_models.py: one row per saved version).
"""

from __future__ import annotations

import time

from sqlalchemy import func, select

from iotwarden.errors import PolicyError
from iotwarden.policy.model import Policy, dump_text, load_text
from iotwarden.store import Store
from iotwarden.store.policy_models import COMMENT_LEN, NAME_LEN, PolicyRow

__all__ = ["COMMENT_LEN", "MAX_VERSIONS", "NAME_LEN", "PolicyRow", "load", "save", "versions"]

MAX_VERSIONS = 100_000  # versions per policy name


def save(store: Store, policy: Policy, comment: str = "") -> int:
    """Store ``policy`` as the next version of its name; returns that version (1 for the first)."""
    text = dump_text(policy)
    with store.transaction() as session:
        latest = session.scalar(select(func.max(PolicyRow.version)).where(PolicyRow.name == policy.name)) or 0
        if latest >= MAX_VERSIONS:
            raise PolicyError(f"policy {policy.name!r}: {MAX_VERSIONS} versions stored, the limit")
        session.add(PolicyRow(name=policy.name, version=latest + 1, yaml=text, created_at=time.time(),
                              comment=comment[:COMMENT_LEN]))
    return int(latest + 1)


def load(store: Store, name: str, version: int | None = None) -> Policy:
    """A stored version of a policy (the latest when ``version`` is None)."""
    with store.session() as session:
        query = select(PolicyRow).where(PolicyRow.name == name)
        query = query.where(PolicyRow.version == version) if version else query.order_by(PolicyRow.version.desc())
        row = session.scalars(query.limit(1)).first()
        if row is None:
            raise PolicyError(f"no stored policy {name!r}" + (f" version {version}" if version else ""))
        return load_text(row.yaml)


def versions(store: Store, name: str) -> list[dict[str, object]]:
    with store.session() as session:
        rows = session.scalars(select(PolicyRow).where(PolicyRow.name == name).order_by(PolicyRow.version))
        return [{"version": r.version, "created_at": r.created_at, "comment": r.comment} for r in rows]
