"""Store tables of incident response: the automatic-action log, which alerts each playbook has handled,
cases with their timeline (NIST SP 800-61 phases) and device tags.

Migration ``0007_respond`` creates exactly these tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from iotwarden.store.schema import KEY_LEN, Base, BigId

NAME_LEN = 64  # playbook names, action kinds, actors ("playbook:contain-mirai", "user:alice"), tags
UID_LEN = 64  # alert uids (detect.pipeline.alert_uid: 32 hex) with room to spare
STATUS_LEN = 16
TITLE_LEN = 256


class ActionRow(Base):
    """One response action: who did what, when, with which parameters, and what came of it.

    ``undo_of`` points at the action this one reversed; the reversed one gets ``undone_at``/``undone_by``.
    """

    __tablename__ = "response_actions"
    __table_args__ = (
        Index("ix_response_actions_ts", "ts"),
        Index("ix_response_actions_device_key", "device_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float)  # wall clock, epoch seconds
    actor: Mapped[str] = mapped_column(String(NAME_LEN))
    kind: Mapped[str] = mapped_column(String(NAME_LEN))  # respond.playbook.ACTION_KINDS or an undo kind
    playbook: Mapped[str | None] = mapped_column(String(NAME_LEN))
    alert_uid: Mapped[str | None] = mapped_column(String(UID_LEN))
    device_key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    case_id: Mapped[int | None] = mapped_column(BigId)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(STATUS_LEN))  # done | failed | skipped
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reversible: Mapped[bool] = mapped_column(Boolean, default=False)
    undone_at: Mapped[float | None] = mapped_column(Float)
    undone_by: Mapped[str | None] = mapped_column(String(NAME_LEN))
    undo_of: Mapped[int | None] = mapped_column(BigId)


class HandledRow(Base):
    """An alert a playbook has already run on: running playbooks again over the store never repeats."""

    __tablename__ = "response_handled"
    __table_args__ = (UniqueConstraint("alert_uid", "playbook"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_uid: Mapped[str] = mapped_column(String(UID_LEN))
    playbook: Mapped[str] = mapped_column(String(NAME_LEN))
    handled_at: Mapped[float] = mapped_column(Float)


class CaseRow(Base):
    """An incident case about one device (or none), in one NIST SP 800-61 phase at a time."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status_updated", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(TITLE_LEN))
    severity: Mapped[str] = mapped_column(String(STATUS_LEN))
    status: Mapped[str] = mapped_column(String(STATUS_LEN))  # open | closed
    phase: Mapped[str] = mapped_column(String(32))  # respond.cases.PHASES
    device_key: Mapped[str | None] = mapped_column(String(KEY_LEN), index=True)
    opened_at: Mapped[float] = mapped_column(Float)
    opened_by: Mapped[str] = mapped_column(String(NAME_LEN))
    updated_at: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[float | None] = mapped_column(Float)


class CaseEntryRow(Base):
    """One timeline entry of a case: a linked alert, device or action, a note, or a status change."""

    __tablename__ = "case_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    ts: Mapped[float] = mapped_column(Float)
    phase: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(STATUS_LEN))  # alert | device | action | note | status
    ref: Mapped[str | None] = mapped_column(String(KEY_LEN))  # alert uid, device key or action id
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(NAME_LEN))


class DeviceTagRow(Base):
    """A label put on a device by a person or a playbook (``compromised``, ``under-investigation``)."""

    __tablename__ = "device_tags"
    __table_args__ = (UniqueConstraint("device_key", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_key: Mapped[str] = mapped_column(String(KEY_LEN), index=True)
    tag: Mapped[str] = mapped_column(String(NAME_LEN))
    added_at: Mapped[float] = mapped_column(Float)
    added_by: Mapped[str] = mapped_column(String(NAME_LEN))
