"""Entry point of the ``iotwarden`` command; errors of our own become one line and exit code 2.

Each command group lives in its own module and registers itself on :data:`app` here.
"""

from __future__ import annotations

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


def _register() -> None:
    # one import per command group; each module adds its commands to ``app``
    from iotwarden.cli import (  # noqa: PLC0415 - loaded when the command runs, not on import
        alerts,  # noqa: F401
        analyze,  # noqa: F401
        demo,  # noqa: F401
        devices,  # noqa: F401
        findings,  # noqa: F401
        firmware,  # noqa: F401
        flows,  # noqa: F401
        identity,  # noqa: F401
        inventory,  # noqa: F401
        kb,  # noqa: F401
        lab,  # noqa: F401
        monitor,  # noqa: F401
        mud,  # noqa: F401
        policy,  # noqa: F401
        report,  # noqa: F401
        respond,  # noqa: F401
        serve,  # noqa: F401
        stats,  # noqa: F401
        users,  # noqa: F401
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; an :class:`IotwardenError` is printed as one line, never a traceback."""
    _register()
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
