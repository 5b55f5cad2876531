"""The console's tables and indexes: one migration head, device sort/range indexes, queue constraints."""

from __future__ import annotations

import time

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from iotwarden.errors import StoreError
from iotwarden.store import Store
from iotwarden.store.alert_models import FindingRow
from iotwarden.store.db import _migrations_dir


def test_the_migrations_have_one_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", _migrations_dir())
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


def test_device_list_sorts_and_ranges_have_indexes(store: Store) -> None:
    names = {ix["name"] for ix in inspect(store.engine).get_indexes("devices")}
    assert {"ix_devices_first_seen", "ix_devices_last_seen", "ix_devices_packets", "ix_devices_bytes"} <= names


def test_one_finding_per_check_and_device(store: Store) -> None:
    def finding() -> FindingRow:
        return FindingRow(check_id="risk.cleartext.telnet", title="t", severity="medium", device_key="mac:x",
                          evidence={}, remediation="", references=[], status="open", first_seen=time.time(),
                          last_seen=time.time())

    with store.transaction() as session:
        session.add(finding())
    with pytest.raises(StoreError, match=r"(?i)unique"), store.transaction() as session:
        session.add(finding())
