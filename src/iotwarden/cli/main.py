"""Entry point of the ``iotwarden`` command; errors of our own and usage errors become one line on
stderr and exit code 2, never a traceback.

Each command group lives in its own module and registers itself on :data:`app` here.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import traceback
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from iotwarden import __version__
from iotwarden.errors import IotwardenError, one_line

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


# --help defaults to False, not None, on the root and each command: typer coerces a parameter's None through
# a pydantic TypeAdapter it builds first (importing pydantic, ~70 ms CPU) only to return None, and a group's
# --help is unset whenever one of its commands runs or shows its help. A flag's bool is taken as it is, so
# `--version`, `identity --help` or `identity list --help` import no pydantic; options given a value still do.
HELP_UNSET: dict[str, object] = {"help": False, **{command: {"help": False} for command in COMMAND_MODULES}}
app = typer.Typer(
    name="iotwarden",
    help="Find, classify and watch the devices on a network from its traffic.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"default_map": HELP_UNSET},
)
err_console = Console(stderr=True)
IMPORT_GC_THRESHOLD = 50_000  # young-generation threshold while a command's modules are imported
DEBUG_ENV = "IOTWARDEN_DEBUG"  # set: an unexpected exception shows its traceback instead of one line
INTERNAL_ERROR = "internal error"
INTERNAL_ERROR_EXIT = 70  # EX_SOFTWARE (sysexits.h): a bug, not the user's input
INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C; no command exits with it on purpose


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def _command_of(argv: list[str]) -> str | None:
    """The command ``argv`` runs: its first word that is not an option (the root takes no values)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _register(argv: list[str] | None = None) -> None:
    """Import the module of the command ``argv`` runs, or every command module (help, unknown command);
    none for ``--version`` alone, which lists no command."""
    args = sys.argv[1:] if argv is None else argv
    command = _command_of(args)
    if command is None and "--version" in args and "--help" not in args:
        return
    module = COMMAND_MODULES.get(command or "")
    # importing a command (SQLAlchemy, numpy, the analyzers) makes ~10^5 objects that all live on: the
    # collector's default young threshold (700) walks them again and again, ~4% of a short analyze's CPU
    threshold = gc.get_threshold()
    gc.set_threshold(IMPORT_GC_THRESHOLD, *threshold[1:])
    try:
        for name in [module] if module else sorted(set(COMMAND_MODULES.values())):
            importlib.import_module(f"iotwarden.cli.{name}")
    finally:
        gc.set_threshold(*threshold)


def print_error(message: str) -> None:
    """``error: message`` as one line on stderr (the form of every error the command reports)."""
    # a Text, not markup: file names and messages may hold brackets
    err_console.print(Text.assemble(("error:", "bold red"), " ", one_line(message)), highlight=False, soft_wrap=True)


def _usage_error(exc: Exception) -> int | None:
    """A usage error of click (or of the copy typer vendors) as one line; None if ``exc`` is none.

    A group run without its command prints its help, as click does."""
    exit_code, format_message = getattr(exc, "exit_code", None), getattr(exc, "format_message", None)
    if not isinstance(exit_code, int) or not callable(format_message):
        return None
    if type(exc).__name__ == "NoArgsIsHelpError":
        exc.show()  # type: ignore[attr-defined]
        return exit_code
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    print_error(f"{format_message()}{hint}")
    return exit_code


def _internal_error(exc: Exception) -> int:
    """An exception no layer turned into one of ours: a bug. One line saying where, unless
    ``$IOTWARDEN_DEBUG`` asks for the traceback."""
    if os.environ.get(DEBUG_ENV):
        raise exc
    ours = [f for f in traceback.extract_tb(exc.__traceback__) if f"{os.sep}iotwarden{os.sep}" in f.filename]
    where = f" in {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
    kind = type(exc).__qualname__ if type(exc).__module__ == "builtins" else \
        f"{type(exc).__module__}.{type(exc).__qualname__}"
    print_error(f"{INTERNAL_ERROR} ({kind}{where}: {exc}); please report it, {DEBUG_ENV}=1 shows the traceback")
    return INTERNAL_ERROR_EXIT


# Extension modules that check at exit that their objects were freed and print each one still alive (nanobind's
# leak report): lief, which the firmware extras import. With one loaded, freeze_at_exit leaves the exit as it was.
EXIT_LEAK_CHECKED = ("lief",)


def freeze_at_exit() -> None:
    """Leave the objects still alive at exit out of the interpreter's last collections (an atexit hook).

    Python's finalisation collects every generation while it tears the modules down: it walks each object a
    command leaves alive (the knowledge base's tables, SQLAlchemy's registries, the report), ~0.3 CPU s of
    an ``analyze``, a quarter of a short one's and as much as its analyzers spend on 200,000 packets, only to
    free memory the operating system takes back anyway. Frozen (:func:`gc.freeze`), they are freed by
    reference counting as the modules go, as before; what only the collector could free (cycles) is left to
    the OS, with no ``__del__`` call, which Python never promises at exit (the data model's ``__del__``
    note). Nothing is left to such a call: files are closed by the commands' context managers, the stores a
    command leaves open (their engines sit in reference cycles) by the store's own exit hook
    (store/db.py close_open_stores), and the other exit hooks (logging's flush) still run. Not with a module
    of :data:`EXIT_LEAK_CHECKED` loaded: it would report its objects left in cycles as leaks.
    """
    if any(name in sys.modules for name in EXIT_LEAK_CHECKED):
        return
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI. An :class:`IotwardenError` or a usage error is printed as one line on stderr and
    exits 2; Ctrl-C exits 130; any other exception is a bug, reported in one line (exit 70)."""
    atexit.unregister(freeze_at_exit)  # once per process, however often main runs in it (tests)
    atexit.register(freeze_at_exit)
    _register(argv)
    try:
        # without standalone mode click returns a typer.Exit's code instead of raising SystemExit
        rc = app(args=argv, prog_name="iotwarden", standalone_mode=False)
    except IotwardenError as exc:
        print_error(str(exc))
        return 2
    except typer.Abort:
        err_console.print("aborted")
        return INTERRUPTED
    except KeyboardInterrupt:
        rc = INTERRUPTED
    except SystemExit as exc:  # typer.Exit / click usage errors
        return int(exc.code or 0) if isinstance(exc.code, int | None) else 1
    except Exception as exc:  # noqa: BLE001 - the last edge: a bug becomes one line, not a traceback
        code = _usage_error(exc)
        return _internal_error(exc) if code is None else code
    if rc == INTERRUPTED:  # typer turns Ctrl-C inside a command into Exit(130), silently
        err_console.print("interrupted")
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    # ``python -m iotwarden.cli.main``: the command modules register on iotwarden.cli.main's app, which is
    # not this __main__ module's own copy
    from iotwarden.cli.main import main as registered_main

    sys.exit(registered_main())
