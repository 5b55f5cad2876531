"""Policies versioned in the store: table ``policies`` (name, version, yaml, created_at, comment), one
row per saved version; migration ``0008_policies`` creates exactly this table.
"""

from __future__ import annotations

import time

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column

from iotwarden.errors import PolicyError
from iotwarden.policy.model import Policy, dump_text, load_text
from iotwarden.store import Store
from iotwarden.store.schema import Base, BigId

NAME_LEN = 64
COMMENT_LEN = 1000  # longer comments are cut
MAX_VERSIONS = 100_000  # versions per policy name


class PolicyRow(Base):
    """One saved version of a policy (its YAML as validated)."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    version: Mapped[int] = mapped_column(Integer)
    yaml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(String(COMMENT_LEN), default="")


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
