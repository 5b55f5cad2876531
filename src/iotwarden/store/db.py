"""Opening the store: URL resolution (``--db``, ``$IOTWARDEN_DB``, ./iotwarden.db), engine settings
per backend (SQLite, PostgreSQL), and Alembic migrations to head run in-process on open (a store already
at :data:`HEAD_REVISION` is opened without importing Alembic; a new SQLite file is made from the schema
the migrations produce, store/template.py).
"""

from __future__ import annotations

import atexit
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from iotwarden.errors import StoreError
from iotwarden.store import template as schema_template

if TYPE_CHECKING:
    from alembic.config import Config

ENV_VAR = "IOTWARDEN_DB"
DEFAULT_URL = "sqlite:///iotwarden.db"  # relative to the working directory
SQLITE_BUSY_TIMEOUT_S = 30.0  # how long a writer waits for another process's write lock
# The newest migration (migrations/versions/): a store whose alembic_version holds exactly this opens
# without Alembic, whose import (~0.08 CPU s, its dialect modules and Mako) every command that opens a
# store paid. tests/store/test_db.py pins it to the migrations' head; a store elsewhere takes Alembic's path.
HEAD_REVISION = "0012_device_ip_domains"
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps


def resolve_url(url: str | None = None) -> str:
    """The database URL: ``url``, else ``$IOTWARDEN_DB``, else ./iotwarden.db. A plain path means SQLite."""
    chosen = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    if "://" not in chosen:
        chosen = f"sqlite:///{chosen}"
    return chosen


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _migrations_dir() -> str:
    return str(resources.files("iotwarden.store").joinpath("migrations"))


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - Alembic only when migrating (HEAD_REVISION)

    cfg = Config()
    cfg.set_main_option("script_location", _migrations_dir())
    cfg.attributes["connection"] = connection
    return cfg


class Store:
    """A migrated database and its session factory.

    ``schema`` (PostgreSQL only) puts every table, the Alembic version table included, in that
    schema through the connection's ``search_path``: tests use it to isolate parallel runs.
    """

    def __init__(self, url: str | None = None, *, schema: str | None = None, migrate: bool = True) -> None:
        self.url = resolve_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise StoreError(f"invalid database URL {self.url!r}: {exc}") from None
        self.backend = parsed.get_backend_name()
        if self.backend not in ("sqlite", "postgresql"):
            raise StoreError(f"unsupported database {self.backend!r}: use sqlite:/// or postgresql+psycopg://")
        kwargs: dict[str, Any] = {}
        if self.backend == "sqlite":
            db = parsed.database or ""
            uri = parsed.query.get("uri") == "true"  # sqlite:///file:x.db?mode=ro&uri=true names a file URI
            if db and db != ":memory:" and not uri and not Path(db).parent.exists():
                raise StoreError(f"cannot open database {redact(self.url)}: folder {Path(db).parent} does not exist")
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        else:
            # psycopg prepares repeated statements; a cached generic plan for "key IN (...500 keys)"
            # can scan the whole table, so plan each execution with its actual keys
            options = "-cplan_cache_mode=force_custom_plan"
            # the URL's own libpq options (?options=-csearch_path%3Dx: a schema, a statement_timeout) after it, not
            # replaced by it (connect_args win over the URL's query); the last setting of a name is the one taken
            given = parsed.query.get("options")
            for extra in (given,) if isinstance(given, str) else given or ():
                options += f" {extra}"
            if schema is not None:
                options += f" -csearch_path={schema}"
            kwargs["connect_args"] = {"options": options}
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"cannot open database {redact(self.url)}: {exc}") from None
        _OPEN.add(self.engine)  # closed at exit if no one closes the store before (close_open_stores)
        if self.backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:  # the engine has loaded the PostgreSQL dialect, which declaring these indexes needs
            from iotwarden.store.alert_models import device_search_indexes  # noqa: PLC0415

            device_search_indexes()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.upgrade()

    def upgrade(self, *, template: bool = True) -> str | None:
        """Migrate to the newest schema (a no-op when already there); returns the revision reached.

        One transaction: a migration that fails leaves the database at the revision it had. A
        database at a revision this version does not know (made by a newer iotwarden) is refused.
        A SQLite database that holds nothing yet is given the migrations' result directly (the
        template of store/template.py, when it is at :data:`HEAD_REVISION`) unless ``template`` is False.
        """
        try:
            with self.engine.begin() as conn:
                if _at_head(conn):
                    return HEAD_REVISION
                if (template and self.backend == "sqlite" and schema_template.head_template()[0] == HEAD_REVISION
                        and schema_template.is_empty(conn)):
                    return schema_template.create(conn)
                from alembic import command  # noqa: PLC0415 - only when migrating: see HEAD_REVISION
                from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - as above
                from alembic.script import ScriptDirectory  # noqa: PLC0415 - as above

                cfg = _alembic_config(conn)
                scripts = ScriptDirectory.from_config(cfg)
                head = scripts.get_current_head()
                current = MigrationContext.configure(conn).get_current_revision()
                if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
                    raise StoreError(f"database {redact(self.url)} is at schema revision {current!r}, which this "
                                     f"iotwarden does not know (its newest is {head!r}): a newer version made it")
                if current != head:
                    command.upgrade(cfg, "head")
                return head
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open or migrate database {redact(self.url)}: {_first_line(exc)}"
                             f"{self._read_only_hint(exc)}") from None

    def _read_only_hint(self, exc: SQLAlchemyError) -> str:
        """Why SQLite could not write, when the file or its folder is read-only (it needs both: WAL)."""
        if self.backend != "sqlite" or not any(s in str(exc) for s in ("unable to open", "readonly")):
            return ""
        path = Path(make_url(self.url).database or "")
        read_only = f"--db 'sqlite:///file:{path.resolve()}?immutable=1&uri=true' reads it as it is"
        if path.exists() and not os.access(path, os.W_OK):
            return f" ({path} is read-only: {read_only})"
        if path.parent.is_dir() and not os.access(path.parent, os.W_OK):
            return f" (folder {path.parent} is read-only and SQLite keeps its journal beside the database: {read_only})"
        return ""

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - see HEAD_REVISION

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reads; database errors become :class:`StoreError`."""
        try:
            with self._sessions() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"database error on {redact(self.url)}: {_first_line(exc)}") from None
        except OverflowError as exc:
            raise _out_of_range(exc, self.url) from None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on any exception."""
        try:
            with self._sessions() as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"database error on {redact(self.url)}: {_first_line(exc)}") from None
        except OverflowError as exc:
            raise _out_of_range(exc, self.url) from None

    def close(self) -> None:
        self.engine.dispose()
        _OPEN.discard(self.engine)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# The engines of the stores not closed yet. The process's exit closes them: a store may be left open (every command
# closes its own, in a ``with``; a library caller may not), and an engine, which its pool and event hooks hold in
# reference cycles, outlives its store until a collection; what is alive at exit is not collected (cli/main.py
# freeze_at_exit), so their connections would stay open until the OS takes them back. Closed, SQLite folds its
# write-ahead log into the database file (https://sqlite.org/wal.html), which then holds the store alone, and
# PostgreSQL sees each session end.
_OPEN: weakref.WeakSet[Engine] = weakref.WeakSet()


@atexit.register
def close_open_stores() -> None:
    """Close the connections of every store not closed (an exit hook: see :data:`_OPEN`)."""
    for engine in list(_OPEN):
        engine.dispose()
    _OPEN.clear()


def _at_head(conn: Connection) -> bool:
    """Whether the store's version table holds exactly :data:`HEAD_REVISION` (one row), read in plain
    SQL: then Alembic's upgrade would do nothing and is not imported. Anything else (no table yet, an
    older or unknown revision, several rows) is left to Alembic."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return False
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()  # noqa: S608 - a constant
    return [r[0] for r in rows] == [HEAD_REVISION]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL: readers (``iotwarden devices``) never block on a running analysis, and a killed writer
    # leaves the database exactly as of the last commit (https://sqlite.org/wal.html)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _out_of_range(exc: OverflowError, url: str) -> Exception:
    """sqlite3's refusal to bind an integer beyond 64 bits (an id or limit typed by hand) as a StoreError, as
    PostgreSQL's DataError already is; any other OverflowError is a bug and is handed back unchanged."""
    if "SQLite INTEGER" not in str(exc):
        return exc
    return StoreError(f"database error on {redact(url)}: a number beyond the database's 64-bit integers ({exc})")


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__


def ping(store: Store) -> None:
    """Raise :class:`StoreError` when the database cannot be reached."""
    with store.session() as session:
        session.execute(text("SELECT 1"))
