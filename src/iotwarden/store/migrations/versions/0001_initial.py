"""Initial store schema: captures, devices, device_ips, flows, evidence.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("started", sa.Float(), nullable=False),
        sa.Column("finished", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("packets", sa.BigInteger(), nullable=False),
        sa.Column("flows", sa.BigInteger(), nullable=False),
        sa.Column("observations", sa.BigInteger(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_captures"),
    )
    op.create_index("ix_captures_sha256", "captures", ["sha256"])

    op.create_table(
        "devices",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("mac", sa.String(17), nullable=True),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("ips", sa.JSON(), nullable=False),
        sa.Column("hostnames", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("protocols", sa.JSON(), nullable=False),
        sa.Column("packets", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("key", name="uq_devices_key"),
    )
    op.create_index("ix_devices_mac", "devices", ["mac"])

    op.create_table(
        "device_ips",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("device_key", sa.String(300), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device_ips"),
        sa.ForeignKeyConstraint(
            ["device_key"], ["devices.key"], name="fk_device_ips_device_key_devices", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("device_key", "ip", name="uq_device_ips_device_key_ip"),
    )
    op.create_index("ix_device_ips_ip", "device_ips", ["ip"])

    op.create_table(
        "flows",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("capture_id", BigId, nullable=True),
        sa.Column("vlan", sa.Integer(), nullable=False),
        sa.Column("ip_proto", sa.Integer(), nullable=False),
        sa.Column("a_ip", sa.String(64), nullable=False),
        sa.Column("a_port", sa.Integer(), nullable=False),
        sa.Column("b_ip", sa.String(64), nullable=False),
        sa.Column("b_port", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("a_mac", sa.String(17), nullable=True),
        sa.Column("b_mac", sa.String(17), nullable=True),
        sa.Column("pkts_ab", sa.BigInteger(), nullable=False),
        sa.Column("pkts_ba", sa.BigInteger(), nullable=False),
        sa.Column("bytes_ab", sa.BigInteger(), nullable=False),
        sa.Column("bytes_ba", sa.BigInteger(), nullable=False),
        sa.Column("payload_ab", sa.BigInteger(), nullable=False),
        sa.Column("payload_ba", sa.BigInteger(), nullable=False),
        sa.Column("tcp_flags_ab", sa.Integer(), nullable=False),
        sa.Column("tcp_flags_ba", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(32), nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flows"),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.id"], name="fk_flows_capture_id_captures", ondelete="SET NULL"
        ),
        sa.UniqueConstraint(
            "vlan", "ip_proto", "a_ip", "a_port", "b_ip", "b_port", "first_seen",
            name="uq_flows_vlan_ip_proto_a_ip_a_port_b_ip_b_port_first_seen",
        ),
    )
    op.create_index("ix_flows_a_ip", "flows", ["a_ip"])
    op.create_index("ix_flows_b_ip", "flows", ["b_ip"])

    op.create_table(
        "evidence",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("device_key", sa.String(300), nullable=False),
        sa.Column("proto", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evidence"),
        sa.ForeignKeyConstraint(
            ["device_key"], ["devices.key"], name="fk_evidence_device_key_devices", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "device_key", "proto", "kind", "field", "value",
            name="uq_evidence_device_key_proto_kind_field_value",
        ),
    )


def downgrade() -> None:
    op.drop_table("evidence")
    op.drop_table("flows")
    op.drop_index("ix_device_ips_ip", table_name="device_ips")
    op.drop_table("device_ips")
    op.drop_index("ix_devices_mac", table_name="devices")
    op.drop_table("devices")
    op.drop_index("ix_captures_sha256", table_name="captures")
    op.drop_table("captures")
