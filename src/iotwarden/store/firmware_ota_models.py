"""Store tables of firmware integrity and OTA: the golden-hash registry (model, version -> SHA-256),
signed releases (image digest, SUIT envelope), managed devices' firmware state, campaigns, their
targets and the device check-in log.

Migration ``0005_firmware_ota`` creates exactly these tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from iotwarden.store.schema import Base, BigId

MODEL_LEN = 200
VERSION_LEN = 100
DEVICE_LEN = 300  # same room as devices.key
NAME_LEN = 200


class GoldenHashRow(Base):
    """One known-good image of one model and version (SHA-256 of the whole image)."""

    __tablename__ = "fw_golden_hashes"
    __table_args__ = (UniqueConstraint("model", "version", "sha256"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(MODEL_LEN), index=True)
    version: Mapped[str] = mapped_column(String(VERSION_LEN))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(NAME_LEN), default="")  # "signed release", "vendor", ...
    added: Mapped[float] = mapped_column(Float)


class ReleaseRow(Base):
    """A signed firmware release: the image digest, where the image is served, and its SUIT envelope."""

    __tablename__ = "fw_releases"
    # sequence numbers are unique per model; a version may come back re-signed by a rollback
    __table_args__ = (UniqueConstraint("model", "sequence"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    vendor: Mapped[str] = mapped_column(String(NAME_LEN))
    model: Mapped[str] = mapped_column(String(MODEL_LEN), index=True)
    version: Mapped[str] = mapped_column(String(VERSION_LEN))
    sequence: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    uri: Mapped[str] = mapped_column(Text)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    added: Mapped[float] = mapped_column(Float)


class ManagedDeviceRow(Base):
    """A device under firmware management: what it runs as far as its last check-in says."""

    __tablename__ = "fw_managed_devices"

    device_key: Mapped[str] = mapped_column(String(DEVICE_LEN), primary_key=True)
    model: Mapped[str] = mapped_column(String(MODEL_LEN), index=True)
    version: Mapped[str] = mapped_column(String(VERSION_LEN))
    zone: Mapped[str | None] = mapped_column(String(NAME_LEN))
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    last_checkin: Mapped[float | None] = mapped_column(Float)


class CampaignRow(Base):
    """A staged rollout of one release to the devices that match model, version and zone."""

    __tablename__ = "fw_campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    release_id: Mapped[int] = mapped_column(BigId, ForeignKey("fw_releases.id"))
    model: Mapped[str] = mapped_column(String(MODEL_LEN))
    from_version: Mapped[str | None] = mapped_column(String(VERSION_LEN))
    zone: Mapped[str | None] = mapped_column(String(NAME_LEN))
    stages: Mapped[list[Any]] = mapped_column(JSON)  # cumulative percentages of targets, e.g. [1, 10, 50, 100]
    stage: Mapped[int] = mapped_column(Integer, default=-1)  # index of the stage reached; -1 before start
    max_failure_rate: Mapped[float] = mapped_column(Float)
    min_reports: Mapped[float] = mapped_column(Float)  # share of a stage that must have reported
    state: Mapped[str] = mapped_column(String(16))  # draft | running | paused | completed | rolled_back
    reason: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float)


class CampaignTargetRow(Base):
    """One device of one campaign: the stage it was put in and what it last reported."""

    __tablename__ = "fw_campaign_targets"
    __table_args__ = (UniqueConstraint("campaign_id", "device_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("fw_campaigns.id", ondelete="CASCADE"), index=True)
    device_key: Mapped[str] = mapped_column(String(DEVICE_LEN))
    stage: Mapped[int | None] = mapped_column(Integer)  # None until a stage takes it in
    previous_release_id: Mapped[int | None] = mapped_column(BigId)  # what to revert to
    status: Mapped[str] = mapped_column(String(16))  # pending|offered|downloaded|installed|healthy|failed|revert
    reported_sha256: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    updated: Mapped[float] = mapped_column(Float)


class CheckinRow(Base):
    """The log of device check-ins, in arrival order."""

    __tablename__ = "fw_checkins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int | None] = mapped_column(BigId, index=True)
    device_key: Mapped[str] = mapped_column(String(DEVICE_LEN), index=True)
    ts: Mapped[float] = mapped_column(Float)
    event: Mapped[str] = mapped_column(String(16))
    version: Mapped[str | None] = mapped_column(String(VERSION_LEN))
    reported_sha256: Mapped[str | None] = mapped_column(String(64))
    golden: Mapped[str | None] = mapped_column(String(16))  # match | mismatch | unknown
    detail: Mapped[str] = mapped_column(Text, default="")
