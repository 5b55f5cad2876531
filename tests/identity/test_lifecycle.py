"""Lifecycle: rotation points, expiry reminders, revocation and the inventory link."""

from __future__ import annotations

import pytest

from iotwarden.errors import IdentityError
from iotwarden.identity import lifecycle
from iotwarden.identity.ca import DeviceCA
from tests.identity.conftest import make_csr


def test_reminders_list_certificates_expiring_within_the_horizon(ca: DeviceCA) -> None:
    _, rec = ca.issue(make_csr("cam-1")[0], device_key="mac:00:00:00:00:00:01")
    now = rec.not_before
    assert lifecycle.expiring(ca.repo, now, within_days=30) == []  # 90-day certificate, fresh
    due = lifecycle.expiring(ca.repo, rec.not_after - 10 * 86400, within_days=14)
    assert [r.serial for r in due] == [rec.serial]
    assert due[0].days_left == pytest.approx(10.0)
    assert due[0].device_key == "mac:00:00:00:00:00:01"


def test_rotation_is_due_after_two_thirds_of_the_lifetime(ca: DeviceCA) -> None:
    _, rec = ca.issue(make_csr("cam-1")[0])
    point = lifecycle.renew_at(rec)
    assert point == pytest.approx(rec.not_before + (rec.not_after - rec.not_before) * 2 / 3)
    assert lifecycle.rotation_due(ca.repo, point - 1) == []
    assert [r.serial for r in lifecycle.rotation_due(ca.repo, point + 1)] == [rec.serial]


def test_revoked_certificates_leave_the_reminders_and_the_inventory_link(ca: DeviceCA) -> None:
    _, a = ca.issue(make_csr("cam-1")[0], device_key="mac:00:00:00:00:00:01")
    _, b = ca.issue(make_csr("cam-2")[0], device_key="mac:00:00:00:00:00:02")
    assert set(lifecycle.holders(ca.repo)) == {"mac:00:00:00:00:00:01", "mac:00:00:00:00:00:02"}
    lifecycle.revoke(ca, b.serial, "cessation_of_operation")
    assert set(lifecycle.holders(ca.repo)) == {"mac:00:00:00:00:00:01"}
    assert [r.serial for r in lifecycle.expiring(ca.repo, a.not_after, 1)] == [a.serial]
    with pytest.raises(IdentityError, match="already revoked"):
        lifecycle.revoke(ca, b.serial)
    with pytest.raises(IdentityError, match="reason"):
        lifecycle.revoke(ca, a.serial, "because")


def test_tokens_are_one_time_expire_and_are_stored_hashed(ca: DeviceCA) -> None:
    token = lifecycle.new_token(ca.repo, "cam-9", 1000.0, valid_hours=1)
    digest = lifecycle.token_hash(token)
    assert token not in digest
    assert ca.repo.consume_token(digest, 1000.0 + 3601) is None  # expired
    token = lifecycle.new_token(ca.repo, "cam-9", 1000.0, valid_hours=1)
    granted = ca.repo.consume_token(lifecycle.token_hash(token), 1001.0)
    assert granted is not None and granted.device_id == "cam-9"
    assert ca.repo.consume_token(lifecycle.token_hash(token), 1002.0) is None  # used
    with pytest.raises(IdentityError):
        lifecycle.new_token(ca.repo, "cam-9", 1000.0, valid_hours=lifecycle.MAX_TOKEN_HOURS + 1)
