"""Opening the store: URL resolution, migrations to head on open, clear errors for bad URLs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from iotwarden.errors import StoreError
from iotwarden.model import Device
from iotwarden.store import Store
from iotwarden.store import writer as w
from iotwarden.store.addresses import prior_owners
from iotwarden.store.db import DEFAULT_URL, ENV_VAR, HEAD_REVISION, redact, resolve_url

TABLES = {"alembic_version", "captures", "devices", "device_ips", "flows", "evidence"}


def head() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from iotwarden.store.db import _migrations_dir

    cfg = Config()
    cfg.set_main_option("script_location", _migrations_dir())
    return ScriptDirectory.from_config(cfg).get_current_head()  # raises if the graph has several heads


def test_url_defaults_to_sqlite_file_in_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///iotwarden.db"


def test_environment_variable_overrides_default_and_option_overrides_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "postgresql+psycopg://u@h/db")
    assert resolve_url(None) == "postgresql+psycopg://u@h/db"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"


def test_plain_path_means_sqlite() -> None:
    assert resolve_url("/var/lib/iotwarden/inv.db") == "sqlite:////var/lib/iotwarden/inv.db"


def test_password_is_hidden_in_messages() -> None:
    assert "secret" not in redact("postgresql+psycopg://user:secret@db/iot")


def test_open_runs_migrations_to_head(store: Store) -> None:
    assert store.revision() == head()
    assert set(inspect(store.engine).get_table_names()) >= TABLES


def test_reopening_a_migrated_database_keeps_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inv.db'}"
    with Store(url) as first, first.transaction() as session:
        from iotwarden.store.writer import begin_capture

        begin_capture(session, path="a.pcap", sha256="0" * 64, size=1, fmt="capture")
    with Store(url) as again, again.session() as session:
        from iotwarden.store.queries import list_captures

        assert [c.path for c in list_captures(session)] == ["a.pcap"]


def test_migrate_false_leaves_an_empty_database_until_upgrade(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'new.db'}", migrate=False) as store:
        assert store.revision() is None
        assert store.upgrade() == head()
        assert store.revision() == head()


def test_head_revision_is_the_newest_migration() -> None:
    assert head() == HEAD_REVISION, "a new migration: set store/db.py HEAD_REVISION to its revision"


def test_a_store_at_head_opens_without_alembic(tmp_path: Path) -> None:
    """Alembic's import is left out when the version table already names the head (HEAD_REVISION); a
    store behind it or new is migrated through Alembic as before."""
    url = f"sqlite:///{tmp_path / 'inv.db'}"
    Store(url).close()
    code = ("import sys; from iotwarden.store import Store; "
            f"s = Store({url!r}); print(s.upgrade(), 'alembic' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == [HEAD_REVISION, "False"]
    older = tmp_path / "older.db"
    with Store(f"sqlite:///{older}") as store, store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE device_ips DROP COLUMN domain"))  # 0012's downgrade, by hand
        conn.execute(text("DROP TABLE device_aliases"))  # 0011's
        conn.execute(text("UPDATE alembic_version SET version_num = '0010_stream_messages'"))
    code = code.replace(url, f"sqlite:///{older}")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == [HEAD_REVISION, "True"]  # behind: Alembic's path, 0011 and 0012 run again
    with Store(f"sqlite:///{older}") as store:
        assert "device_aliases" in inspect(store.engine).get_table_names()


def test_a_store_before_address_domains_opens_with_its_address_history_untagged(tmp_path: Path) -> None:
    """A store at 0011 (device_ips without ``domain``) with its rows migrates to the head: every row kept, each
    untagged (""), and it reads as the address history it was."""
    path = tmp_path / "at0011.db"
    with Store(f"sqlite:///{path}") as store:
        with store.transaction() as session:
            w.merge_devices(session, [Device(key="mac:02:00:00:00:00:01", first_seen=1.0, last_seen=2.0,
                                             mac="02:00:00:00:00:01")])
            w.merge_device_ips(session, {"mac:02:00:00:00:00:01": {"10.0.0.5": (1.0, 2.0)}})
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE device_ips DROP COLUMN domain"))  # 0012's downgrade, by hand
            conn.execute(text("UPDATE alembic_version SET version_num = '0011_device_aliases'"))
    with Store(f"sqlite:///{path}") as store:
        assert store.revision() == HEAD_REVISION
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT device_key, ip, domain FROM device_ips")).all() == [
                ("mac:02:00:00:00:00:01", "10.0.0.5", "")]
        with store.session() as session:
            assert prior_owners(session).owner("10.0.0.5", 1.5) == "02:00:00:00:00:01"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unsupported database"),
        ("sqlite:////nonexistent-dir/sub/inv.db", "does not exist"),
        ("not a url://", "invalid database URL"),
    ],
)
def test_bad_urls_raise_store_error_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        Store(url)


def test_unreachable_postgres_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open or migrate"):
        Store("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")


def test_an_integer_beyond_64_bits_is_a_store_error_and_rolls_back(store: Store) -> None:
    from sqlalchemy import text

    if store.backend != "sqlite":
        pytest.skip("psycopg binds such a number as numeric: PostgreSQL compares it, nothing to convert")
    with pytest.raises(StoreError, match="64-bit integers"), store.transaction() as s:  # sqlite3: OverflowError
        s.execute(text("INSERT INTO captures (path, size, format, started, status, packets, flows, observations, "
                       "devices, stats) VALUES ('a.pcap', 1, 'pcap', 1.0, 'complete', 0, 0, 0, 0, '{}')"))
        s.execute(text("SELECT * FROM captures WHERE id = :id"), {"id": 2**64})
    with store.session() as s:
        assert s.execute(text("SELECT count(*) FROM captures")).scalar() == 0
    with pytest.raises(StoreError, match="64-bit integers"), store.session() as s:
        s.execute(text("SELECT id FROM captures WHERE id = :n"), {"n": -(2**70)})


def test_an_overflow_of_our_own_code_is_not_taken_for_the_store(store: Store) -> None:
    with pytest.raises(OverflowError, match="math range"), store.session():
        raise OverflowError("math range error")
