"""Device aliases: the keys of devices merged into others (iotwarden.store.inventory_models.DeviceAliasRow).

Revision ID: 0011_device_aliases
Revises: 0010_stream_messages
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_device_aliases"
down_revision = "0010_stream_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_aliases",
        sa.Column("alias_key", sa.String(300), nullable=False),
        sa.Column("device_key", sa.String(300), nullable=False),
        sa.Column("merged_at", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("alias_key", name="pk_device_aliases"),
    )
    op.create_index("ix_device_aliases_device_key", "device_aliases", ["device_key"])


def downgrade() -> None:
    op.drop_index("ix_device_aliases_device_key", table_name="device_aliases")
    op.drop_table("device_aliases")
