"""The action log: what is written (secrets redacted), how it lists, and why an action cannot be undone."""

from __future__ import annotations

import pytest

from iotwarden.errors import ConfigError
from iotwarden.respond import actions
from iotwarden.respond.actions import check_undoable, list_actions, log_action
from iotwarden.store import Store
from tests.respond.conftest import CAMERA_KEY, PLC_KEY


def test_actions_are_logged_with_who_what_when_and_listed_newest_first(store: Store) -> None:
    with store.transaction() as session:
        log_action(session, ts=1.0, actor="playbook:p", kind="quarantine", params={}, status="done",
                   result={"rules": "..."}, reversible=True, device_key=CAMERA_KEY, case_id=4)
        log_action(session, ts=2.0, actor="playbook:p", kind="notify_webhook",
                   params={"url": "http://x", "headers": {"Authorization": "Bearer t"}}, status="failed",
                   result={"error": "refused"}, reversible=True, device_key=PLC_KEY)
    with store.session() as session:
        newest, oldest = list_actions(session)
        assert [a.id for a in list_actions(session, device=PLC_KEY)] == [newest.id]
        assert [a.id for a in list_actions(session, case_id=4)] == [oldest.id]
        assert [a.id for a in list_actions(session, kind="quarantine")] == [oldest.id]
    assert newest.params["headers"] == {"Authorization": actions.REDACTED}
    assert not newest.reversible  # a failed action has nothing to reverse
    assert oldest.to_dict()["actor"] == "playbook:p" and oldest.ts == 1.0
    with store.transaction() as session, pytest.raises(ConfigError, match="action status"):
        log_action(session, ts=1.0, actor="a", kind="quarantine", params={}, status="maybe", result={})


def test_why_an_action_cannot_be_undone(store: Store) -> None:
    with store.transaction() as session:
        rows = [log_action(session, ts=1.0, actor="a", kind=kind, params={}, status=status, result=result,
                           reversible=reversible)
                for kind, status, result, reversible in (
                    ("revoke_certificate", "done", {}, False), ("quarantine", "failed", {}, True),
                    ("tag_device", "done", {"note": "the device already had this tag"}, False),
                    ("quarantine", "done", {}, True))]
        with pytest.raises(ConfigError, match="RFC 5280"):
            check_undoable(rows[0])
        with pytest.raises(ConfigError, match="was failed: there is nothing to undo"):
            check_undoable(rows[1])
        with pytest.raises(ConfigError, match="already had this tag"):
            check_undoable(rows[2])
        check_undoable(rows[3])
        rows[3].undone_at, rows[3].undone_by = 2.0, "user:bob"
        with pytest.raises(ConfigError, match="already undone by user:bob"):
            check_undoable(rows[3])
