"""Firmware integrity and OTA: golden hashes, signed releases, managed devices, campaigns, targets, check-ins.

Revision ID: 0005_firmware_ota
Revises: 0004_console
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_firmware_ota"
down_revision = "0004_console"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fw_golden_hashes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("added", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fw_golden_hashes"),
        sa.UniqueConstraint("model", "version", "sha256", name="uq_fw_golden_hashes_model_version_sha256"),
    )
    op.create_index("ix_fw_golden_hashes_model", "fw_golden_hashes", ["model"])
    op.create_table(
        "fw_releases",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("vendor", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("added", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fw_releases"),
        sa.UniqueConstraint("model", "sequence", name="uq_fw_releases_model_sequence"),
    )
    op.create_index("ix_fw_releases_model", "fw_releases", ["model"])
    op.create_table(
        "fw_managed_devices",
        sa.Column("device_key", sa.String(300), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("zone", sa.String(200), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("last_checkin", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("device_key", name="pk_fw_managed_devices"),
    )
    op.create_index("ix_fw_managed_devices_model", "fw_managed_devices", ["model"])
    op.create_table(
        "fw_campaigns",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("release_id", BigId, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("from_version", sa.String(100), nullable=True),
        sa.Column("zone", sa.String(200), nullable=True),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("max_failure_rate", sa.Float(), nullable=False),
        sa.Column("min_reports", sa.Float(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fw_campaigns"),
        sa.ForeignKeyConstraint(["release_id"], ["fw_releases.id"], name="fk_fw_campaigns_release_id_fw_releases"),
        sa.UniqueConstraint("name", name="uq_fw_campaigns_name"),
    )
    op.create_table(
        "fw_campaign_targets",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("device_key", sa.String(300), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=True),
        sa.Column("previous_release_id", BigId, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reported_sha256", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fw_campaign_targets"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["fw_campaigns.id"],
            name="fk_fw_campaign_targets_campaign_id_fw_campaigns",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("campaign_id", "device_key", name="uq_fw_campaign_targets_campaign_id_device_key"),
    )
    op.create_index("ix_fw_campaign_targets_campaign_id", "fw_campaign_targets", ["campaign_id"])
    op.create_table(
        "fw_checkins",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=True),
        sa.Column("device_key", sa.String(300), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("version", sa.String(100), nullable=True),
        sa.Column("reported_sha256", sa.String(64), nullable=True),
        sa.Column("golden", sa.String(16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fw_checkins"),
    )
    op.create_index("ix_fw_checkins_campaign_id", "fw_checkins", ["campaign_id"])
    op.create_index("ix_fw_checkins_device_key", "fw_checkins", ["device_key"])


def downgrade() -> None:
    op.drop_index("ix_fw_checkins_device_key", "fw_checkins")
    op.drop_index("ix_fw_checkins_campaign_id", "fw_checkins")
    op.drop_table("fw_checkins")
    op.drop_index("ix_fw_campaign_targets_campaign_id", "fw_campaign_targets")
    op.drop_table("fw_campaign_targets")
    op.drop_table("fw_campaigns")
    op.drop_index("ix_fw_managed_devices_model", "fw_managed_devices")
    op.drop_table("fw_managed_devices")
    op.drop_index("ix_fw_releases_model", "fw_releases")
    op.drop_table("fw_releases")
    op.drop_index("ix_fw_golden_hashes_model", "fw_golden_hashes")
    op.drop_table("fw_golden_hashes")
