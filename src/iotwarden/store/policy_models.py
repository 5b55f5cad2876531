"""Store table of segmentation policies versioned in the store (policy/storage.py reads and writes it):
one row per saved version of a policy's validated YAML; migration ``0008_policies`` creates exactly
this table.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from iotwarden.store.schema import Base, BigId

NAME_LEN = 64
COMMENT_LEN = 1000  # longer comments are cut


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
