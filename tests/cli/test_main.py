"""The command's edge: our errors become one line and exit code 2; usage errors exit 2; Exit codes pass."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from iotwarden import __version__
from iotwarden.cli.main import app, main
from iotwarden.errors import CaptureError


@app.command("zz-test-fail", hidden=True)
def _fail() -> None:
    raise CaptureError("capture.pcap: not a capture file (read 0 packets)")


@app.command("zz-test-exit", hidden=True)
def _exit() -> None:
    raise typer.Exit(3)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_our_error_is_one_line_on_stderr_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zz-test-fail"]) == 2
    err = capsys.readouterr().err
    assert "not a capture file" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_exit_codes_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zz-test-exit"]) == 3
    assert main(["no-such-command"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def _declared_commands() -> dict[str, str]:
    """Top-level command -> the cli module declaring it (``@app.command("x")``, ``app.add_typer(.., name="x")``)."""
    import ast
    from pathlib import Path

    import iotwarden.cli

    found: dict[str, str] = {}
    for path in sorted(Path(iotwarden.cli.__file__).parent.glob("*.py")):
        if path.stem == "main":  # declares the root, no command
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "app"):
                continue
            if node.func.attr == "command" and node.args and isinstance(node.args[0], ast.Constant):
                name = node.args[0].value
            elif node.func.attr == "add_typer":
                name = next(k.value.value for k in node.keywords
                            if k.arg == "name" and isinstance(k.value, ast.Constant))
            else:
                continue
            found[name] = path.stem
    return found


def test_each_command_loads_only_the_module_that_declares_it() -> None:
    from iotwarden.cli.main import COMMAND_MODULES

    assert _declared_commands() == COMMAND_MODULES


def test_the_command_word_is_the_first_that_is_not_an_option() -> None:
    from iotwarden.cli.main import _command_of

    assert _command_of(["--version"]) is None
    assert _command_of(["analyze", "--db", "x", "a.pcap"]) == "analyze"
    assert _command_of(["--help"]) is None


@app.command("zz-test-bug", hidden=True)
def _bug() -> None:
    {}["missing"]  # a bug no layer turned into one of our errors


@app.command("zz-test-multiline", hidden=True)
def _multiline() -> None:
    raise CaptureError("first line\n  second line\n")


def test_a_bug_is_one_line_naming_where_with_exit_70(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from iotwarden.cli.main import DEBUG_ENV, INTERNAL_ERROR_EXIT

    monkeypatch.delenv(DEBUG_ENV, raising=False)
    assert main(["zz-test-bug"]) == INTERNAL_ERROR_EXIT
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: internal error (KeyError in ") and "please report it" in line
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(KeyError):
        main(["zz-test-bug"])


def test_a_message_of_several_lines_is_printed_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zz-test-multiline"]) == 2
    assert capsys.readouterr().err.strip() == "error: first line; second line"


def test_a_usage_error_is_one_line_pointing_at_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--no-such-option"]) == 2
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: No such option: --no-such-option") and "(see 'iotwarden stats --help')" in line


def test_a_group_without_its_command_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb"]) == 2
    captured = capsys.readouterr()
    assert "Usage: iotwarden kb" in captured.out + captured.err and "error:" not in captured.err


def test_listing_the_commands_does_not_import_the_firmware_unpacker() -> None:
    """`iotwarden --help` imports every command module: the firmware commands import unblob and CycloneDX's
    schema validation (~2 s) only when they run."""
    code = ("import sys, iotwarden.cli.main as m; m._register([]); "
            "print(sorted(n for n in ('unblob', 'cyclonedx', 'jsonschema') if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
