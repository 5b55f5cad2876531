"""store/limits.py: the bounds the front ends show as defaults, defined once and read without SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys

import pytest

import iotwarden.store
from iotwarden.services import inventory
from iotwarden.store import findings, limits, writer


def test_the_writer_and_the_inventory_service_read_the_one_definition() -> None:
    assert writer.MAX_PROBE_FLOWS == limits.MAX_PROBE_FLOWS == 1_000_000
    assert inventory.DEFAULT_FLOW_LIMIT == limits.DEFAULT_FLOW_LIMIT == 100
    assert findings.DEFAULT_LIST_LIMIT == limits.DEFAULT_FINDING_LIMIT == 1000


def test_reading_the_limits_imports_no_sqlalchemy() -> None:
    script = ("import sys, iotwarden.store, iotwarden.store.limits; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy' or m == 'iotwarden.store.db'))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_the_package_still_gives_the_store_and_refuses_other_names() -> None:
    from iotwarden.store import Store, resolve_url
    from iotwarden.store.db import Store as DbStore

    assert Store is DbStore and callable(resolve_url)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = iotwarden.store.no_such_name  # type: ignore[attr-defined]
