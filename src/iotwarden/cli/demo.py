"""``iotwarden demo``: analyse the bundled demo capture and show the inventory and statistics."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from iotwarden.cli.analyze import DB_OPTION, Format, emit, open_store, report_errors, run_analysis
from iotwarden.cli.main import app
from iotwarden.cli.stats import render_stats
from iotwarden.errors import CaptureError

DEMO_PACKAGE = "iotwarden.lab"
DEMO_FILE = ("captures", "demo.pcap")


def demo_capture() -> Path:
    """The bundled demo capture (``iotwarden.lab`` captures/demo.pcap), or CaptureError if absent."""
    try:
        ref: Traversable = resources.files(DEMO_PACKAGE).joinpath(*DEMO_FILE)
    except ModuleNotFoundError:
        ref = None  # type: ignore[assignment]
    if ref is None or not ref.is_file():
        raise CaptureError(f"the bundled demo capture ({DEMO_PACKAGE}/{'/'.join(DEMO_FILE)}) is not installed")
    return Path(str(ref))


@app.command("demo")
def demo_command(db: str | None = DB_OPTION) -> None:
    """Analyse the bundled demo capture into the database and print the inventory and statistics."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    path = demo_capture()
    with open_store(db) as store:
        report = run_analysis([path], store, Format.table, None)
        data = inventory.stats(store)
    emit(Format.table, data, lambda console: render_stats(console, data), None)
    code = report_errors(report)
    if code:
        raise SystemExit(code)
