"""Store tables of the security team's queues: findings, alerts and the approved inventory.

Risk checks fill ``findings``, detectors fill ``alerts`` (later issues); the console acknowledges,
closes and suppresses them. Also the device-table indexes the console's filters and sorts need.
Migration ``0004_console`` creates exactly these tables and indexes.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, String, Text, UniqueConstraint, cast
from sqlalchemy.orm import Mapped, mapped_column

from iotwarden.store.schema import KEY_LEN, Base, BigId, DeviceRow

CHECK_ID_LEN = 64  # stable ids such as "risk.cleartext.telnet" (DESIGN "Stable identifiers")
SEVERITY_LEN = 16  # info | low | medium | high | critical (model.finding.SEVERITIES)
STATUS_LEN = 16

FINDING_STATUSES = ("open", "accepted", "resolved")  # accepted: risk accepted by a person
ALERT_STATUSES = ("new", "acknowledged", "closed")


class FindingRow(Base):
    """A conclusion of a risk check about one device (model.Finding plus a workflow status)."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("check_id", "device_key"),
        Index("ix_findings_status_severity", "status", "severity"),
        Index("ix_findings_device_key", "device_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    check_id: Mapped[str] = mapped_column(String(CHECK_ID_LEN))
    title: Mapped[str] = mapped_column(String(256))
    severity: Mapped[str] = mapped_column(String(SEVERITY_LEN))
    device_key: Mapped[str] = mapped_column(String(KEY_LEN))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remediation: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(STATUS_LEN), default="open")
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)


class AlertRow(Base):
    """A detection; repeats of the same detector on the same device add to ``count``."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_status_created", "status", "created"),
        Index("ix_alerts_device_key", "device_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    detector_id: Mapped[str] = mapped_column(String(CHECK_ID_LEN))
    title: Mapped[str] = mapped_column(String(256))
    severity: Mapped[str] = mapped_column(String(SEVERITY_LEN))
    device_key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(STATUS_LEN), default="new")
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(BigInteger, default=1)


class ApprovalRow(Base):
    """A device the team has approved as belonging on the network (the approved inventory)."""

    __tablename__ = "approved_devices"

    device_key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    approved_by: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")


# Sorting and time-range filters of the device list at 100,000 devices (bench/api.py measures them).
# Declared here, beside the migration that creates them, so schema.py stays the store engineer's.
DEVICE_INDEXES = (
    Index("ix_devices_first_seen", DeviceRow.first_seen),
    Index("ix_devices_last_seen", DeviceRow.last_seen),
    Index("ix_devices_packets", DeviceRow.packets),
    Index("ix_devices_bytes", DeviceRow.bytes),
)


def _trigram(column: str, as_type: type[String]) -> Index:
    text_of = cast(DeviceRow.__table__.c[column], as_type).label(f"{column}_text")
    return Index(f"ix_devices_{column}_trgm", text_of, postgresql_using="gin",
                 postgresql_ops={f"{column}_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql")


@functools.cache
def device_search_indexes() -> tuple[Index, ...]:
    """PostgreSQL only: the trigram GIN indexes behind the device list's free-text search and protocol
    filter (LIKE/ILIKE '%term%' on these texts), which migration 0009_device_search_pg creates when pg_trgm
    exists. Declared (added to the devices table's metadata) when a PostgreSQL store opens
    (:class:`~iotwarden.store.db.Store`), not at import: SQLAlchemy checks ``postgresql_using`` and
    ``postgresql_ops`` by loading its PostgreSQL dialect (~70 ms CPU), which a SQLite run never needs."""
    return tuple(_trigram(c, t) for c, t in (
        ("key", Text), ("ips", String), ("hostnames", String), ("attributes", String), ("protocols", String)))
