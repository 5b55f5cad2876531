"""Entry point of the ``iotwarden`` command; errors of our own become one line and exit code 2.

Each command group lives in its own module and registers itself on :data:`app` here.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from iotwarden import __version__
from iotwarden.errors import IotwardenError

app = typer.Typer(
    name="iotwarden",
    help="Find, classify and watch the devices on a network from its traffic.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


# top-level command (or group) -> the module of iotwarden.cli that registers it on ``app``. A run imports
# only the module of the command it runs: importing every group costs seconds (the firmware group alone
# pulls in CycloneDX's JSON-schema validation). tests/cli/test_main.py keeps this table true.
COMMAND_MODULES: dict[str, str] = {
    "actions": "respond", "alerts": "alerts", "analyze": "analyze", "cases": "respond", "db": "analyze",
    "demo": "demo", "devices": "devices", "findings": "findings", "firmware": "firmware", "flows": "flows",
    "identity": "identity", "inventory": "inventory", "kb": "kb", "lab": "lab", "monitor": "monitor",
    "mud": "mud", "playbooks": "respond", "policy": "policy", "report": "report", "sensor": "sensor",
    "serve": "serve", "stats": "stats", "users": "users", "vulndb": "firmware", "worker": "sensor",
}


def _command_of(argv: list[str]) -> str | None:
    """The command ``argv`` runs: its first word that is not an option (the root takes no values)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _register(argv: list[str] | None = None) -> None:
    """Import the module of the command ``argv`` runs, or every command module (help, unknown command)."""
    module = COMMAND_MODULES.get(_command_of(sys.argv[1:] if argv is None else argv) or "")
    for name in [module] if module else sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"iotwarden.cli.{name}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; an :class:`IotwardenError` is printed as one line, never a traceback."""
    _register(argv)
    try:
        # without standalone mode click returns a typer.Exit's code instead of raising SystemExit
        rc = app(args=argv, standalone_mode=False)
    except IotwardenError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except SystemExit as exc:  # typer.Exit / click usage errors
        return int(exc.code or 0) if isinstance(exc.code, int | None) else 1
    except Exception as exc:
        # click's, or the copy typer vendors (typer._click): usage errors show themselves, Exit has a code
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if not isinstance(exit_code, int):
            raise
        if callable(show):
            show()
        return exit_code
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
