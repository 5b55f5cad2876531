"""Policies versioned in the store, and the migration chain staying one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from iotwarden.errors import PolicyError
from iotwarden.policy import storage
from iotwarden.policy.model import Policy
from iotwarden.store import Store
from iotwarden.store.db import _migrations_dir


def test_each_save_is_a_new_version_and_any_version_loads_back(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'w.db'}") as store:
        first = Policy.from_dict({"name": "site", "zones": [{"name": "iot", "categories": ["iot"]}]})
        second = Policy.from_dict({"name": "site", "default": "log", "zones": [{"name": "ot", "categories": ["ot"]}]})
        assert storage.save(store, first, "initial") == 1
        assert storage.save(store, second, "x" * 5000) == 2
        assert storage.load(store, "site").to_dict() == second.to_dict()
        assert storage.load(store, "site", 1).to_dict() == first.to_dict()
        history = storage.versions(store, "site")
        assert [h["version"] for h in history] == [1, 2] and len(str(history[1]["comment"])) == storage.COMMENT_LEN
        with pytest.raises(PolicyError, match="no stored policy 'other'"):
            storage.load(store, "other")


def test_the_policies_revision_is_in_the_single_migration_line() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", _migrations_dir())
    scripts = ScriptDirectory.from_config(cfg)
    heads = scripts.get_heads()
    assert len(heads) == 1
    assert "0008_policies" in {rev.revision for rev in scripts.walk_revisions()}
