"""``iotwarden sensor SOURCE --nats URL --site NAME`` (the engine on a live interface, capture files or
Zeek logs, publishing to NATS JetStream) and ``iotwarden worker --nats URL --db URL`` (the analyzers and
the store, consuming it): a multi-sensor deployment (docs/adr/0005-nats-jetstream.md)."""

from __future__ import annotations

import contextlib
import math
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from iotwarden.bus.limits import OUTAGE_LIMIT_S
from iotwarden.cli.analyze import DB_OPTION, open_store
from iotwarden.cli.main import app
from iotwarden.cli.monitor import DETECT_OPTIONS_OPTION, SUPPRESSIONS_OPTION
from iotwarden.detect import load_options
from iotwarden.detect.pipeline import load_suppressions
from iotwarden.errors import CaptureError, ConfigError

if TYPE_CHECKING:
    from iotwarden.services.sensor import RunReport

err = Console(stderr=True)
NATS_OPTION = typer.Option("nats://127.0.0.1:4222", "--nats", help="NATS server URL (JetStream enabled).")


def _finite_seconds(value: float) -> float:
    """``--outage-limit`` as a number of seconds: click's ``min=0`` lets NaN (it compares false) and inf through,
    and a NaN limit would never be reached nor be 'forever' (0)."""
    if not 0 <= value < math.inf:
        raise typer.BadParameter(f"seconds must be 0 (forever) or more, and finite, not {value}")
    return value


OUTAGE_OPTION = typer.Option(
    OUTAGE_LIMIT_S, "--outage-limit", min=0.0, callback=_finite_seconds,
    help="Seconds NATS may stay unreachable (restarts are waited out) before this stops with an error; 0: forever.")


@contextlib.contextmanager
def _graceful(stop: Any) -> Iterator[None]:
    """The first Ctrl-C (or SIGTERM) asks ``stop()`` to end cleanly; a second one interrupts at once."""
    def first(signum: int, frame: Any) -> None:
        stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        err.print("stopping (Ctrl-C again to interrupt)", highlight=False)

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, first)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _line(report: RunReport) -> str:
    text = (f"{report.source}: {report.status}, {report.packets} packets, {report.observations} observations, "
            f"{report.flows} flows in {report.messages} messages")
    return f"{text} ({report.error})" if report.error else text


def _check_sources(sources: list[str], paths: list[Path], *, live: bool,
                   bpf: str | None) -> list[tuple[int, int, int, int]] | None:
    """Refuse what the sensor could not read before it connects: an interface that does not exist (its
    ``--bpf`` compiled once, here), a named file missing or not a regular file, ``--bpf`` for files."""
    if live:
        try:
            socket.if_nametoindex(sources[0])
        except (OSError, ValueError):  # ValueError: a NUL in the name
            raise CaptureError(f"{sources[0]!r}: no such file, folder or network interface") from None
        from iotwarden.sources.live import interface_filter  # noqa: PLC0415 - Linux only

        return interface_filter(sources[0], bpf)
    if bpf is not None:
        raise ConfigError("--bpf filters a live interface: SOURCE names files or folders")
    for path in paths:
        if not path.exists():
            raise CaptureError(f"{path}: no such file or folder")
        if not (path.is_dir() or path.is_file()):
            raise CaptureError(f"{path}: not a regular file")
    return None


@app.command("sensor")
def sensor_cmd(
    sources: Annotated[list[str], typer.Argument(help="A network interface (live capture), or capture files, "
                                                      "folders of them, Zeek log folders.")],
    *,
    nats: str = NATS_OPTION,
    site: Annotated[str, typer.Option("--site", help="Site name: the records go to iotwarden.<site>.records.")],
    bpf: Annotated[str | None, typer.Option("--bpf", help="Kernel filter for a live interface.")] = None,
    outage_limit: float = OUTAGE_OPTION,
) -> None:
    """Run the engine on SOURCE and publish its Observations and closed Flows to NATS JetStream."""
    from iotwarden.bus.jetstream import BusError, NatsLink, check_site, redact  # noqa: PLC0415 - asyncio: not for --help

    check_site(site)
    paths = [Path(s) for s in sources]
    live = len(sources) == 1 and not paths[0].exists()
    program = _check_sources(sources, paths, live=live, bpf=bpf)  # before NATS is tried for seconds
    from iotwarden.services.sensor import DRAIN_WAIT_S, Sensor  # noqa: PLC0415 - the engine: not for --help

    with NatsLink(nats, name=f"iotwarden sensor {site}").connect() as link:
        sensor = Sensor(link, site, outage_limit_s=outage_limit)
        started = f"sensor for site {site} publishing to {redact(nats)} (Ctrl-C stops)"
        reports: list[RunReport] = []
        try:
            with _graceful(sensor.stop):
                if live:
                    from iotwarden.sources.live import (  # noqa: PLC0415 - Linux, needs CAP_NET_RAW
                        IDLE_TICK_S,
                        capture_live,
                    )

                    # the socket is open once capture_live returns: from this line on, no packet is missed; a quiet
                    # link's heartbeats carry its time to the workers (their held scans come due)
                    batches = capture_live(sources[0], bpf=bpf, program=program, stop=sensor.stopping,
                                           idle_s=IDLE_TICK_S)
                    err.print(f"capturing on {sources[0]}; {started}", highlight=False, soft_wrap=True)
                    reports.append(sensor.run_live(batches, sources[0]))
                else:
                    err.print(started, highlight=False, soft_wrap=True)
                    reports.extend(sensor.run_paths(paths))
        finally:
            unsent = sensor.close(DRAIN_WAIT_S)
        for report in reports:
            err.print(_line(report), highlight=False, soft_wrap=True)
        if sensor.outbox.dropped or sensor.records_dropped:
            err.print(f"[yellow]warning:[/] {sensor.outbox.dropped} messages dropped while NATS was away, "
                      f"{sensor.records_dropped} records too large to send", highlight=False)
        err.print(f"published {sensor.published} messages ({sensor.retries} retries)", highlight=False)
    if sensor.failure is not None:
        raise sensor.failure
    if unsent:  # NATS did not take the end of the output in DRAIN_WAIT_S: the runs reached it incomplete
        raise BusError(f"{unsent} messages left unsent: NATS at {redact(nats)} did not take them within "
                       f"{DRAIN_WAIT_S:g} s ({sensor.last_error or 'no acknowledgement'})")
    if any(r.status == "failed" for r in reports):
        raise typer.Exit(1)


@app.command("worker")
def worker_cmd(
    *,
    nats: str = NATS_OPTION,
    db: str | None = DB_OPTION,
    site: Annotated[str | None, typer.Option("--site", help="Consume this site only (default: every site).")] = None,
    durable: Annotated[str | None, typer.Option(
        "--durable", help="Durable consumer name (default iotwarden-worker-<site|all>); one worker per name.")] = None,
    idle_exit: Annotated[float | None, typer.Option(
        "--idle-exit", help="Stop after this many seconds without messages (batch jobs, tests).")] = None,
    suppress: Path | None = SUPPRESSIONS_OPTION,
    options: Path | None = DETECT_OPTIONS_OPTION,
    outage_limit: float = OUTAGE_OPTION,
) -> None:
    """Consume the sensors' records, run the analyzers and write devices, flows, findings and alerts."""
    from iotwarden.bus.jetstream import NatsLink, redact  # noqa: PLC0415 - asyncio: not for --help
    from iotwarden.bus.nats import NatsBus  # noqa: PLC0415
    from iotwarden.services.worker import Worker  # noqa: PLC0415 - imports nats-py: only for this command

    if idle_exit is not None and not 0 <= idle_exit < math.inf:  # NaN fails both
        raise typer.BadParameter(f"seconds without messages must be 0 or more, not {idle_exit}",
                                 param_hint="--idle-exit")
    rules = load_suppressions(suppress) if suppress else []  # site policy, checked before connecting
    tunables = load_options(options) if options else None
    store = open_store(db)
    try:
        with NatsLink(nats, name=f"iotwarden worker {site or 'all'}").connect() as link:
            bus = NatsBus(nats, name="iotwarden worker events")
            try:
                worker = Worker(link, store, site=site, bus=bus, durable=durable, options=tunables,
                                suppressions=rules, outage_limit_s=outage_limit)
                err.print(f"worker {worker.durable} consuming {worker.subject} from {redact(nats)} (Ctrl-C stops)",
                          highlight=False, soft_wrap=True)
                with _graceful(worker.stop):
                    worker.run(idle_exit_s=idle_exit)
            finally:
                bus.close()
    finally:
        store.close()
    stats = worker.stats
    err.print(f"stopped: {stats.messages} messages stored in {stats.checkpoints} checkpoints, {stats.runs_ended} "
              f"runs ended, {stats.duplicates} already stored, {stats.malformed} malformed messages, "
              f"{stats.malformed_records} malformed records, {stats.store_errors} store errors", highlight=False)
