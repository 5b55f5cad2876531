"""Request bodies refuse what the store could not hold: oversized ids, unknown roles and scopes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from iotwarden.api import schemas as s


def test_bodies_validate_roles_scopes_and_lengths() -> None:
    with pytest.raises(ValidationError):
        s.UserCreate(username="x", password="long enough password", role="root")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        s.TokenCreate(name="t", scopes=["delete"])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        s.TokenCreate(name="t", scopes=[])
    assert s.TokenCreate(name="t", scopes=["read"]).expires_in_days == 90  # tokens expire unless told not to


def test_row_ids_beyond_64_bits_are_422_not_database_errors(as_viewer: TestClient) -> None:
    assert as_viewer.get(f"/api/v1/alerts/{s.MAX_ROW_ID + 1}").status_code == 422
    assert as_viewer.get(f"/api/v1/alerts/{s.MAX_ROW_ID}").status_code == 404
