"""Cases: a timeline of entries in the NIST SP 800-61 phases; later phases move the case on; notes,
close and reopen; lists and the entry limit."""

from __future__ import annotations

import pytest

from iotwarden.errors import ConfigError
from iotwarden.respond import cases
from iotwarden.store import Store
from tests.respond.conftest import CAMERA_KEY, PLC_KEY


def test_a_case_keeps_a_timeline_in_incident_phases(store: Store) -> None:
    with store.transaction() as session:
        row = cases.open_case(session, "Mirai on the lobby camera", author="user:alice", now=100.0,
                              severity="high", device_key=CAMERA_KEY)
        cases.add_entry(session, row, "alert", "detect.scan.telnet_mirai", author="user:alice", now=101.0,
                        ref="uid1")
        cases.add_entry(session, row, "action", "quarantine done", author="playbook:p", now=102.0, ref="7",
                        phase=cases.CONTAINMENT)
        cases.note(session, row.id, "re-imaged the camera", author="user:bob", now=103.0)
        case_id = row.id
    with store.session() as session:
        case = cases.to_case(session, cases.get_row(session, case_id))
    assert case.phase == cases.CONTAINMENT and case.updated_at == 103.0
    assert [(e["kind"], e["phase"]) for e in case.timeline] == [
        ("status", cases.DETECTION), ("device", cases.DETECTION), ("alert", cases.DETECTION),
        ("action", cases.CONTAINMENT), ("note", cases.CONTAINMENT)]
    assert case.timeline[1]["ref"] == CAMERA_KEY and case.timeline[4]["author"] == "user:bob"
    assert cases.PHASES == ("preparation", "detection_analysis", "containment_eradication_recovery", "post_incident")


def test_close_and_reopen(store: Store) -> None:
    with store.transaction() as session:
        case_id = cases.open_case(session, "c", author="a", now=1.0).id
        cases.close(session, case_id, author="a", now=2.0, reason="false positive")
        with pytest.raises(ConfigError, match="already closed"):
            cases.close(session, case_id, author="a", now=3.0)
        row = cases.get_row(session, case_id)
        assert (row.status, row.phase, row.closed_at) == ("closed", cases.POST_INCIDENT, 2.0)
        cases.reopen(session, case_id, author="b", now=4.0, reason="it scanned again")
        with pytest.raises(ConfigError, match="open already"):
            cases.reopen(session, case_id, author="b", now=5.0)
        row = cases.get_row(session, case_id)
        assert (row.status, row.phase, row.closed_at) == ("open", cases.DETECTION, None)
        texts = [e["text"] for e in cases.to_case(session, row).timeline]
    assert texts == ["opened: c", "closed: false positive", "reopened: it scanned again"]


def test_listing_filters_and_the_open_case_of_a_device(store: Store) -> None:
    with store.transaction() as session:
        cam = cases.open_case(session, "cam", author="a", now=1.0, device_key=CAMERA_KEY).id
        plc = cases.open_case(session, "plc", author="a", now=2.0, device_key=PLC_KEY).id
        cases.close(session, plc, author="a", now=3.0)
    with store.session() as session:
        assert [c.id for c in cases.list_cases(session)] == [plc, cam]
        assert [c.id for c in cases.list_cases(session, status="open")] == [cam]
        assert [c.id for c in cases.list_cases(session, device=PLC_KEY)] == [plc]
        assert cases.open_for_device(session, CAMERA_KEY).id == cam  # type: ignore[union-attr]
        assert cases.open_for_device(session, PLC_KEY) is None
        with pytest.raises(ConfigError, match="one of open, closed"):
            cases.list_cases(session, status="pending")


def test_bad_input_is_refused(store: Store) -> None:
    with store.transaction() as session:
        with pytest.raises(ConfigError, match="severity"):
            cases.open_case(session, "c", author="a", now=1.0, severity="dire")
        row = cases.open_case(session, "c", author="a", now=1.0)
        with pytest.raises(ConfigError, match="unknown incident phase"):
            cases.note(session, row.id, "x", author="a", now=2.0, phase="panic")
        with pytest.raises(ConfigError, match="needs some text"):
            cases.note(session, row.id, "  ", author="a", now=2.0)
        with pytest.raises(ConfigError, match="unknown timeline entry kind"):
            cases.add_entry(session, row, "gossip", "x", author="a", now=2.0)
        with pytest.raises(ConfigError, match="longer than"):
            cases.note(session, row.id, "x" * (cases.MAX_NOTE_CHARS + 1), author="a", now=2.0)
        with pytest.raises(ConfigError, match="no case with id 42"):
            cases.get_row(session, 42)


def test_a_case_timeline_stops_at_its_limit(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cases, "MAX_ENTRIES", 3)
    with store.transaction() as session:
        row = cases.open_case(session, "c", author="a", now=1.0)  # 1 entry
        cases.note(session, row.id, "two", author="a", now=2.0)
        cases.note(session, row.id, "three", author="a", now=3.0)
        with pytest.raises(ConfigError, match="already has 3 timeline entries"):
            cases.note(session, row.id, "four", author="a", now=4.0)
