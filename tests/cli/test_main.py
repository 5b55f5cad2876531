"""The command's edge: our errors become one line and exit code 2; usage errors exit 2; Exit codes pass."""

from __future__ import annotations

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
