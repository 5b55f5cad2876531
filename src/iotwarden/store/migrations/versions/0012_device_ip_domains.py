"""Address history per broadcast domain: ``device_ips.domain`` (Observation.domain, "" untagged), so that a MAC's
10.0.0.5 on VLAN 10 is not taken as VLAN 20's 10.0.0.5 (iotwarden.store.addresses, inventory/priors.py).

Rows stored before have no domain and become untagged ones (""): nothing is lost, and a tagged address is not
recalled from them (an untagged history never vouches for a VLAN's host).

Revision ID: 0012_device_ip_domains
Revises: 0011_device_aliases
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_device_ip_domains"
down_revision = "0011_device_aliases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("device_ips", sa.Column("domain", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("device_ips") as batch:
        batch.drop_column("domain")
