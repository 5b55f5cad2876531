"""Stream messages: the JetStream messages a worker has stored (iotwarden.store.stream_models).

Revision ID: 0010_stream_messages
Revises: 0009_device_search_pg
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_stream_messages"
down_revision = "0009_device_search_pg"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_messages",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("capture_id", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_stream_messages"),
    )
    op.create_index("ix_stream_messages_stored_at", "stream_messages", ["stored_at"])


def downgrade() -> None:
    op.drop_index("ix_stream_messages_stored_at", table_name="stream_messages")
    op.drop_table("stream_messages")
