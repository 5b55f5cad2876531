"""The store's tables as typed SQLAlchemy 2 models, portable between SQLite and PostgreSQL.

Times are epoch seconds (UTC) as floats; the migrations in store/migrations create exactly these.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# 64-bit ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY (same 64-bit storage)
BigId = BigInteger().with_variant(Integer(), "sqlite")

# constraint names are fixed so migrations and both backends agree
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

KEY_LEN = 300  # device keys: "mac:" + 17, or "ip:" + up to 45 (IPv6 text); room for later key kinds
IP_LEN = 64  # IPv6 text with a zone id fits
DOMAIN_LEN = 64  # a broadcast domain's name (model/observation.link_domain: nested VNIs and a VLAN)
CLASS_LEN = 200  # a classified value (vendor, model, type, category, OS, firmware); longer is cut


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}  # noqa: RUF012 - SQLAlchemy API


class CaptureRow(Base):
    """One analysed input file (pcap, pcapng or Zeek log), one row per analysis run."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # of the file bytes as stored
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    format: Mapped[str] = mapped_column(String(16))  # "capture" (pcap/pcapng, gzip or not) or "zeek"
    started: Mapped[float] = mapped_column(Float)  # wall clock
    finished: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # complete | partial | failed
    packets: Mapped[int] = mapped_column(BigInteger, default=0)  # packets (or log records) read
    flows: Mapped[int] = mapped_column(BigInteger, default=0)
    observations: Mapped[int] = mapped_column(BigInteger, default=0)
    devices: Mapped[int] = mapped_column(Integer, default=0)  # devices seen in this capture
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # CaptureStats.to_dict() + extras


class DeviceRow(Base):
    """The merged state of one device across every capture (model.Device plus storage ids)."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), unique=True)
    mac: Mapped[str | None] = mapped_column(String(17), index=True)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    ips: Mapped[list[str]] = mapped_column(JSON, default=list)
    hostnames: Mapped[list[str]] = mapped_column(JSON, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # name -> sorted list of values
    protocols: Mapped[list[str]] = mapped_column(JSON, default=list)
    packets: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # the classifier's latest conclusions (inventory/classifier.py; migration 0006_classification):
    # value and confidence per property, and every conclusion with its evidence as JSON
    vendor: Mapped[str | None] = mapped_column(String(CLASS_LEN), index=True)
    vendor_confidence: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str | None] = mapped_column(String(CLASS_LEN))
    model_confidence: Mapped[float | None] = mapped_column(Float)
    device_type: Mapped[str | None] = mapped_column(String(CLASS_LEN), index=True)
    device_type_confidence: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str | None] = mapped_column(String(CLASS_LEN), index=True)
    category_confidence: Mapped[float | None] = mapped_column(Float)
    os: Mapped[str | None] = mapped_column(String(CLASS_LEN))
    os_confidence: Mapped[float | None] = mapped_column(Float)
    firmware: Mapped[str | None] = mapped_column(String(CLASS_LEN))
    firmware_confidence: Mapped[float | None] = mapped_column(Float)
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)


class DeviceIpRow(Base):
    """History of the addresses a device used: when each was first and last seen."""

    __tablename__ = "device_ips"
    __table_args__ = (UniqueConstraint("device_key", "ip"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_key: Mapped[str] = mapped_column(String(KEY_LEN), ForeignKey("devices.key", ondelete="CASCADE"))
    ip: Mapped[str] = mapped_column(String(IP_LEN), index=True)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    # the broadcast domain the device held the address in (Observation.domain: "vlan10", "vni4001"), "" untagged
    # or outside the site; one per device and address (the first stored), migration 0012
    domain: Mapped[str] = mapped_column(String(DOMAIN_LEN), default="", server_default="")


class FlowRow(Base):
    """A closed flow (model.Flow); its natural key makes re-analysis idempotent."""

    __tablename__ = "flows"
    __table_args__ = (
        UniqueConstraint("vlan", "ip_proto", "a_ip", "a_port", "b_ip", "b_port", "first_seen"),
        Index("ix_flows_a_ip", "a_ip"),
        Index("ix_flows_b_ip", "b_ip"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    capture_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("captures.id", ondelete="SET NULL"))
    vlan: Mapped[int] = mapped_column(Integer)  # 0 when untagged
    ip_proto: Mapped[int] = mapped_column(Integer)
    a_ip: Mapped[str] = mapped_column(String(IP_LEN))
    a_port: Mapped[int] = mapped_column(Integer)
    b_ip: Mapped[str] = mapped_column(String(IP_LEN))
    b_port: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    a_mac: Mapped[str | None] = mapped_column(String(17))
    b_mac: Mapped[str | None] = mapped_column(String(17))
    pkts_ab: Mapped[int] = mapped_column(BigInteger, default=0)
    pkts_ba: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_ab: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_ba: Mapped[int] = mapped_column(BigInteger, default=0)
    payload_ab: Mapped[int] = mapped_column(BigInteger, default=0)
    payload_ba: Mapped[int] = mapped_column(BigInteger, default=0)
    tcp_flags_ab: Mapped[int] = mapped_column(Integer, default=0)
    tcp_flags_ba: Mapped[int] = mapped_column(Integer, default=0)
    app: Mapped[str | None] = mapped_column(String(32))
    end_reason: Mapped[str | None] = mapped_column(String(16))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EvidenceRow(Base):
    """One identity fact about a device, deduplicated: how often and when it was seen."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("device_key", "proto", "kind", "field", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_key: Mapped[str] = mapped_column(String(KEY_LEN), ForeignKey("devices.key", ondelete="CASCADE"))
    proto: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(512))
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(BigInteger, default=1)
