"""Store tables of the inventory: the approved inventory imported from CSV (shadow IoT), the
per-run device snapshots ``iotwarden devices diff`` compares (migration 0006_classification creates them)
and the keys of devices merged into others (migration 0011_device_aliases).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from iotwarden.store.schema import CLASS_LEN, IP_LEN, KEY_LEN, Base, BigId

HOSTNAME_LEN = 255  # RFC 1035 §2.3.4: a full domain name is at most 255 octets
TEXT_LEN = 200  # owner, location


class ApprovedEntryRow(Base):
    """One line of the approved inventory (docs/approved-inventory.md): who a known device is."""

    __tablename__ = "approved_inventory"
    __table_args__ = (
        Index("ix_approved_inventory_mac", "mac"),
        Index("ix_approved_inventory_ip", "ip"),
        Index("ix_approved_inventory_hostname", "hostname"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mac: Mapped[str | None] = mapped_column(String(17))  # lower case aa:bb:cc:dd:ee:ff
    ip: Mapped[str | None] = mapped_column(String(IP_LEN))
    hostname: Mapped[str | None] = mapped_column(String(HOSTNAME_LEN))  # lower case, no trailing dot
    vendor: Mapped[str | None] = mapped_column(String(CLASS_LEN))
    model: Mapped[str | None] = mapped_column(String(CLASS_LEN))
    device_type: Mapped[str | None] = mapped_column(String(CLASS_LEN))
    owner: Mapped[str | None] = mapped_column(String(TEXT_LEN))
    location: Mapped[str | None] = mapped_column(String(TEXT_LEN))
    notes: Mapped[str] = mapped_column(Text, default="")
    imported: Mapped[float] = mapped_column(Float)  # wall clock of the import


class SnapshotRow(Base):
    """What one analysis run (a capture) concluded about one device it saw."""

    __tablename__ = "inventory_snapshots"
    __table_args__ = (UniqueConstraint("capture_id", "device_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    capture_id: Mapped[int] = mapped_column(BigId, ForeignKey("captures.id", ondelete="CASCADE"))
    device_key: Mapped[str] = mapped_column(String(KEY_LEN))
    # {"vendor": ..., "device_type": ..., ..., "ips": [...], "hostnames": [...]}: the compared facts
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DeviceAliasRow(Base):
    """A device key merged into another device (store/merge.py): lookups of ``alias_key`` find
    ``device_key``, and say so."""

    __tablename__ = "device_aliases"

    alias_key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    device_key: Mapped[str] = mapped_column(String(KEY_LEN), index=True)
    merged_at: Mapped[float] = mapped_column(Float)  # wall clock
    reason: Mapped[str] = mapped_column(String(32))  # store.merge.REASONS: manual | address_tenure
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # table -> rows moved or merged
