"""The hardening registry: stable ids, and a crashing check reported without stopping the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.firmware import hardening
from iotwarden.firmware.hardening import CHECK_IDS, run_checks
from iotwarden.firmware.hardening.base import Context


def test_every_check_has_a_stable_id() -> None:
    assert len(set(CHECK_IDS)) == len(CHECK_IDS) == 13
    assert all(cid.startswith("firmware.hardening.") for cid in CHECK_IDS)


def test_a_crashing_check_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def boom(_ctx: Context) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(hardening.perms, "run", boom)
    errors: list[str] = []
    assert run_checks(Context("firmware:x", []), errors) == []
    assert errors == ["hardening check perms failed: RuntimeError('boom')"]
