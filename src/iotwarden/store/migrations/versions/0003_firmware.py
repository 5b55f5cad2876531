"""Firmware: the local vulnerability database (vulnerabilities, affected ranges, CISA KEV).

Revision ID: 0003_firmware
Revises: 0002_identity
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_firmware"
down_revision = "0002_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fw_vulns",
        sa.Column("vuln_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("published", sa.String(40), nullable=True),
        sa.Column("cvss_score", sa.Float(), nullable=True),
        sa.Column("cvss_vector", sa.String(200), nullable=True),
        sa.Column("severity", sa.String(20), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("vuln_id", "source", name="pk_fw_vulns"),
    )
    op.create_table(
        "fw_vuln_ranges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("vuln_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("product_key", sa.String(200), nullable=False),
        sa.Column("exact", sa.String(100), nullable=True),
        sa.Column("start_incl", sa.String(100), nullable=True),
        sa.Column("start_excl", sa.String(100), nullable=True),
        sa.Column("end_incl", sa.String(100), nullable=True),
        sa.Column("end_excl", sa.String(100), nullable=True),
        sa.Column("note", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fw_vuln_ranges"),
    )
    op.create_index("ix_fw_vuln_ranges_vuln_id", "fw_vuln_ranges", ["vuln_id"])
    op.create_index("ix_fw_vuln_ranges_product_key", "fw_vuln_ranges", ["product_key"])
    op.create_table(
        "fw_kev",
        sa.Column("cve_id", sa.String(64), nullable=False),
        sa.Column("date_added", sa.String(20), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("ransomware", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("cve_id", name="pk_fw_kev"),
    )


def downgrade() -> None:
    op.drop_table("fw_kev")
    op.drop_index("ix_fw_vuln_ranges_product_key", "fw_vuln_ranges")
    op.drop_index("ix_fw_vuln_ranges_vuln_id", "fw_vuln_ranges")
    op.drop_table("fw_vuln_ranges")
    op.drop_table("fw_vulns")
