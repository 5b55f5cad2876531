"""The response tables: migrated with the rest, one handled row per alert and playbook, one tag per
device and tag, timeline entries go with their case."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from iotwarden.errors import StoreError
from iotwarden.store import Store
from iotwarden.store.respond_models import CaseEntryRow, CaseRow, DeviceTagRow, HandledRow


@pytest.fixture
def db(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'respond.db'}")


def test_the_migration_creates_the_response_tables(db: Store) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {"response_actions", "response_handled", "cases", "case_entries", "device_tags"} <= tables


def test_a_playbook_handles_an_alert_once(db: Store) -> None:
    with db.transaction() as session:
        session.add(HandledRow(alert_uid="u1", playbook="p", handled_at=1.0))
    with pytest.raises(StoreError, match=r"(?i)unique"), db.transaction() as session:
        session.add(HandledRow(alert_uid="u1", playbook="p", handled_at=2.0))


def test_a_device_has_each_tag_once(db: Store) -> None:
    with db.transaction() as session:
        session.add(DeviceTagRow(device_key="mac:x", tag="compromised", added_at=1.0, added_by="a"))
    with pytest.raises(StoreError, match=r"(?i)unique"), db.transaction() as session:
        session.add(DeviceTagRow(device_key="mac:x", tag="compromised", added_at=2.0, added_by="b"))


def test_deleting_a_case_deletes_its_timeline(db: Store) -> None:
    with db.transaction() as session:
        case = CaseRow(title="t", severity="high", status="open", phase="detection_analysis", device_key=None,
                       opened_at=1.0, opened_by="a", updated_at=1.0, closed_at=None)
        session.add(case)
        session.flush()
        session.add(CaseEntryRow(case_id=case.id, ts=1.0, phase="detection_analysis", kind="note", ref=None,
                                 text="x", author="a"))
    with db.transaction() as session:
        session.delete(session.get(CaseRow, case.id))
    with db.session() as session:
        assert session.scalars(select(CaseEntryRow)).all() == []
