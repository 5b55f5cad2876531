"""Progress of long commands on stderr: a bar when the amount of work is known (bytes, files), a
spinner with the elapsed time when it is not. Shown on terminals only and never with ``--format
json``, so pipes, files and machine output stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from iotwarden.cli import main


def bar(description: str, *, quiet: bool = False, in_bytes: bool = False) -> Progress:
    """A transient progress display on stderr; its tasks count bytes (``in_bytes``) or items.

    Disabled when ``quiet`` (machine output asked for) or when stderr is not a terminal. Lines the
    command prints to stdout meanwhile appear above the bar when stdout is that terminal too, and go
    straight to stdout otherwise (a pipe never receives them on stderr).
    """
    console = main.err_console  # looked up per call: tests substitute a terminal console
    amount: ProgressColumn = DownloadColumn() if in_bytes else MofNCompleteColumn()
    return Progress(
        SpinnerColumn(), TextColumn(description), BarColumn(), amount, TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, transient=True, disable=quiet or not console.is_terminal,
        redirect_stdout=sys.stdout.isatty(), redirect_stderr=False,
    )


@contextmanager
def activity(description: str, *, quiet: bool = False) -> Iterator[None]:
    """A spinner with the elapsed time while the block runs (work whose size is not known ahead)."""
    with bar(description, quiet=quiet) as progress:
        progress.add_task(description, total=None)
        yield
