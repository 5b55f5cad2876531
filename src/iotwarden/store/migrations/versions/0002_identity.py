"""Device identity: issued certificates and EST enrolment tokens.

Revision ID: 0002_identity
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_identity"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_certificates",
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("device_key", sa.String(300), nullable=True),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("not_after", sa.Float(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("serial", name="pk_identity_certificates"),
        sa.UniqueConstraint("sha256", name="uq_identity_certificates_sha256"),
    )
    op.create_index("ix_identity_certificates_device_id", "identity_certificates", ["device_id"])
    op.create_index("ix_identity_certificates_device_key", "identity_certificates", ["device_key"])
    op.create_index("ix_identity_certificates_not_after", "identity_certificates", ["not_after"])
    op.create_index("ix_identity_certificates_status", "identity_certificates", ["status"])
    op.create_table(
        "identity_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("device_key", sa.String(300), nullable=True),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_identity_tokens"),
    )


def downgrade() -> None:
    op.drop_table("identity_tokens")
    op.drop_index("ix_identity_certificates_status", "identity_certificates")
    op.drop_index("ix_identity_certificates_not_after", "identity_certificates")
    op.drop_index("ix_identity_certificates_device_key", "identity_certificates")
    op.drop_index("ix_identity_certificates_device_id", "identity_certificates")
    op.drop_table("identity_certificates")
