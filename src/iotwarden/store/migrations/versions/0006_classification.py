"""Classification: the classifier's conclusions on devices, the approved inventory, per-run snapshots.

Revision ID: 0006_classification
Revises: 0005_firmware_ota
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_classification"
down_revision = "0005_firmware_ota"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PROPERTIES = ("vendor", "model", "device_type", "category", "os", "firmware")
INDEXED = ("vendor", "device_type", "category")


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        for name in PROPERTIES:
            batch.add_column(sa.Column(name, sa.String(200), nullable=True))
            batch.add_column(sa.Column(f"{name}_confidence", sa.Float(), nullable=True))
        batch.add_column(sa.Column("classification", sa.JSON(), nullable=True))
    for name in INDEXED:
        op.create_index(f"ix_devices_{name}", "devices", [name])
    op.create_table(
        "approved_inventory",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("mac", sa.String(17), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("vendor", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("device_type", sa.String(200), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("imported", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approved_inventory"),
    )
    for name in ("mac", "ip", "hostname"):
        op.create_index(f"ix_approved_inventory_{name}", "approved_inventory", [name])
    op.create_table(
        "inventory_snapshots",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("capture_id", BigId, nullable=False),
        sa.Column("device_key", sa.String(300), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name="fk_inventory_snapshots_capture_id_captures",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_inventory_snapshots"),
        sa.UniqueConstraint("capture_id", "device_key", name="uq_inventory_snapshots_capture_id_device_key"),
    )


def downgrade() -> None:
    op.drop_table("inventory_snapshots")
    for name in ("mac", "ip", "hostname"):
        op.drop_index(f"ix_approved_inventory_{name}", table_name="approved_inventory")
    op.drop_table("approved_inventory")
    for name in INDEXED:
        op.drop_index(f"ix_devices_{name}", table_name="devices")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("classification")
        for name in reversed(PROPERTIES):
            batch.drop_column(f"{name}_confidence")
            batch.drop_column(name)
