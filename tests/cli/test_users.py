"""``iotwarden users``: the first admin is created from a prompt, a file or stdin, never with a default."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

import iotwarden.cli.users  # noqa: F401 - registers its commands (cli.main imports it only when its command runs)
from iotwarden.api import accounts
from iotwarden.cli.main import main
from iotwarden.store import Store
from iotwarden.store.auth_models import AuditRow, UserRow


def test_create_admin_from_a_password_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    secret = tmp_path / "pw"
    secret.write_text("a very long admin passphrase\n")
    assert main(["users", "create-admin", "--username", "root", "--password-file", str(secret), "--db", db]) == 0
    assert "created admin 'root'" in capsys.readouterr().out
    with Store(db) as store, store.transaction() as session:
        assert accounts.authenticate(session, "root", "a very long admin passphrase") is not None
        assert session.scalars(select(UserRow)).one().role == "admin"
        assert session.scalars(select(AuditRow)).one().action == "user.create"


def test_create_admin_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("piped in passphrase\n"))
    assert main(["users", "create-admin", "--password-file", "-", "--db", db]) == 0
    with Store(db) as store, store.session() as session:
        assert session.scalars(select(UserRow.username)).one() == "admin"


def test_a_weak_empty_or_repeated_admin_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "create-admin", "--password-file", "-", "--db", db]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["users", "create-admin", "--password-file", "-", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "at least 12 characters" in err and "no password given" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough passphrase\n"))
    assert main(["users", "create-admin", "--password-file", "-", "--db", db]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough passphrase\n"))
    assert main(["users", "create-admin", "--password-file", "-", "--db", db]) == 2  # already exists


def test_create_list_and_set_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("first passphrase!\n"))
    assert main(["users", "create", "vic", "--role", "viewer", "--password-file", "-", "--db", db]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("second passphrase!\n"))
    assert main(["users", "set-password", "vic", "--password-file", "-", "--db", db]) == 0
    assert main(["users", "list", "--db", db]) == 0
    assert "vic\tviewer\tenabled" in capsys.readouterr().out
    with Store(db) as store, store.transaction() as session:
        assert accounts.authenticate(session, "vic", "second passphrase!") is not None
