"""``iotwarden users``: create the first admin (and other users), list them, reset a password.

Passwords are prompted for (twice, hidden), or read from ``--password-file`` or stdin (``-``); there
is never a default password.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from iotwarden.cli.analyze import DB_OPTION, open_store
from iotwarden.cli.main import app
from iotwarden.errors import ConfigError, describe

users_app = typer.Typer(help="Manage console and API users.", no_args_is_help=True)
app.add_typer(users_app, name="users")

PASSWORD_FILE_OPTION = typer.Option(
    None, "--password-file", help="Read the password from the first line of this file ('-': stdin).")


def read_password(password_file: Path | None) -> str:
    """The password from a file, stdin or a hidden prompt (asked twice); never a default."""
    if password_file is not None:
        try:
            text = sys.stdin.readline() if str(password_file) == "-" else password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # a binary file (or stdin) is not a password
            raise ConfigError(f"cannot read {password_file}: {describe(exc)}") from None
        lines = text.splitlines()
        password = lines[0] if lines else ""
    elif not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise ConfigError("no password given")
    return password


def _create(username: str, role: str, password_file: Path | None, db: str | None) -> None:
    from iotwarden.api import accounts  # noqa: PLC0415 - FastAPI and an argon2 hash: not for every command's start

    password = read_password(password_file)
    with open_store(db) as store, store.transaction() as session:
        row = accounts.create_user(session, username, password, role)
        accounts.audit(session, "cli", "user.create", f"user:{row.username}", role=role)
    typer.echo(f"created {role} {row.username!r}")


@users_app.command("create-admin")
def create_admin(username: str = typer.Option("admin", "--username", "-u", help="Name of the admin."),
                 password_file: Path | None = PASSWORD_FILE_OPTION, db: str | None = DB_OPTION) -> None:
    """Create an admin user (the first-run command: the console has no default account)."""
    _create(username, "admin", password_file, db)


@users_app.command("create")
def create(username: str = typer.Argument(..., help="Name of the new user."),
           role: str = typer.Option("viewer", "--role", help="viewer, analyst or admin."),
           password_file: Path | None = PASSWORD_FILE_OPTION, db: str | None = DB_OPTION) -> None:
    """Create a user with a role."""
    _create(username, role, password_file, db)


@users_app.command("list")
def list_users(db: str | None = DB_OPTION) -> None:
    """Users, their roles and when they last logged in."""
    from sqlalchemy import select  # noqa: PLC0415 - the store's tables: not for --help

    from iotwarden.store.auth_models import UserRow  # noqa: PLC0415

    with open_store(db) as store, store.session() as session:
        for row in session.scalars(select(UserRow).order_by(UserRow.username)):
            state = "disabled" if row.disabled else "enabled"
            typer.echo(f"{row.username}\t{row.role}\t{state}")


@users_app.command("set-password")
def set_password(username: str = typer.Argument(..., help="The user."),
                 password_file: Path | None = PASSWORD_FILE_OPTION, db: str | None = DB_OPTION) -> None:
    """Set a new password (also ends the user's console sessions)."""
    from sqlalchemy import delete, select  # noqa: PLC0415

    from iotwarden.api import accounts  # noqa: PLC0415
    from iotwarden.store.auth_models import SessionRow, UserRow  # noqa: PLC0415

    password = read_password(password_file)
    with open_store(db) as store, store.transaction() as session:
        row = session.scalars(select(UserRow).where(UserRow.username == accounts.check_username(username))).first()
        if row is None:
            raise ConfigError(f"no user {username!r}")
        accounts.set_password(row, password)
        session.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
        accounts.audit(session, "cli", "user.set_password", f"user:{row.username}")
    typer.echo(f"password of {row.username!r} changed")
