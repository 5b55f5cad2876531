"""Response: the automatic-action log, handled alerts per playbook, cases and their timeline, device tags.

Revision ID: 0007_respond
Revises: 0006_classification
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_respond"
down_revision = "0006_classification"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY_LEN, NAME_LEN, UID_LEN, STATUS_LEN = 300, 64, 64, 16


def upgrade() -> None:
    op.create_table(
        "response_actions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(NAME_LEN), nullable=False),
        sa.Column("kind", sa.String(NAME_LEN), nullable=False),
        sa.Column("playbook", sa.String(NAME_LEN), nullable=True),
        sa.Column("alert_uid", sa.String(UID_LEN), nullable=True),
        sa.Column("device_key", sa.String(KEY_LEN), nullable=True),
        sa.Column("case_id", BigId, nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(STATUS_LEN), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("reversible", sa.Boolean(), nullable=False),
        sa.Column("undone_at", sa.Float(), nullable=True),
        sa.Column("undone_by", sa.String(NAME_LEN), nullable=True),
        sa.Column("undo_of", BigId, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_response_actions"),
    )
    op.create_index("ix_response_actions_ts", "response_actions", ["ts"])
    op.create_index("ix_response_actions_device_key", "response_actions", ["device_key"])
    op.create_table(
        "response_handled",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("alert_uid", sa.String(UID_LEN), nullable=False),
        sa.Column("playbook", sa.String(NAME_LEN), nullable=False),
        sa.Column("handled_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_response_handled"),
        sa.UniqueConstraint("alert_uid", "playbook", name="uq_response_handled_alert_uid_playbook"),
    )
    op.create_table(
        "cases",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("severity", sa.String(STATUS_LEN), nullable=False),
        sa.Column("status", sa.String(STATUS_LEN), nullable=False),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("device_key", sa.String(KEY_LEN), nullable=True),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("opened_by", sa.String(NAME_LEN), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
    )
    op.create_index("ix_cases_status_updated", "cases", ["status", "updated_at"])
    op.create_index("ix_cases_device_key", "cases", ["device_key"])
    op.create_table(
        "case_entries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(STATUS_LEN), nullable=False),
        sa.Column("ref", sa.String(KEY_LEN), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(NAME_LEN), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_entries_case_id_cases", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_case_entries"),
    )
    op.create_index("ix_case_entries_case_id", "case_entries", ["case_id"])
    op.create_table(
        "device_tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_key", sa.String(KEY_LEN), nullable=False),
        sa.Column("tag", sa.String(NAME_LEN), nullable=False),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.Column("added_by", sa.String(NAME_LEN), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device_tags"),
        sa.UniqueConstraint("device_key", "tag", name="uq_device_tags_device_key_tag"),
    )
    op.create_index("ix_device_tags_device_key", "device_tags", ["device_key"])


def downgrade() -> None:
    op.drop_index("ix_device_tags_device_key", table_name="device_tags")
    op.drop_table("device_tags")
    op.drop_index("ix_case_entries_case_id", table_name="case_entries")
    op.drop_table("case_entries")
    op.drop_index("ix_cases_device_key", table_name="cases")
    op.drop_index("ix_cases_status_updated", table_name="cases")
    op.drop_table("cases")
    op.drop_table("response_handled")
    op.drop_index("ix_response_actions_device_key", table_name="response_actions")
    op.drop_index("ix_response_actions_ts", table_name="response_actions")
    op.drop_table("response_actions")
