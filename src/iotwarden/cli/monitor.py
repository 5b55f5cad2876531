"""``iotwarden monitor SOURCE``: watch a live interface or a growing folder of captures and report
alerts as they happen (printed with Rich, exported with ``--export``, stored in ``--db``, answered by
response playbooks with ``--playbooks``)."""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from iotwarden.cli.analyze import DB_OPTION, open_store, ts_text
from iotwarden.cli.files import check_watched
from iotwarden.cli.identity import CA_DIR_OPTION, PASS_ENV_OPTION
from iotwarden.cli.main import app
from iotwarden.cli.respond import (
    ALLOW_OPTION,
    ENFORCE_OPTION,
    NETNS_OPTION,
    POLICY_OPTION,
    YES_OPTION,
    Enforce,
    _ca,
    _enforcers,
    read_playbooks,
)
from iotwarden.detect import load_options
from iotwarden.detect.pipeline import load_suppressions
from iotwarden.errors import ConfigError, IotwardenError
from iotwarden.export import Discardable, Exporter, exporter_names, open_exporter
from iotwarden.model.alert import Alert
from iotwarden.services.monitor_settings import POLL_S

if TYPE_CHECKING:
    from iotwarden.respond.playbook import Playbook
    from iotwarden.store import Store

console = Console()
err = Console(stderr=True)
STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


SUPPRESSIONS_OPTION = typer.Option(None, "--suppressions", help="YAML suppression rules.")
DETECT_OPTIONS_OPTION = typer.Option(None, "--detect-options",
                                     help="YAML: detector name -> {option: value} (see docs/detection.md).")
# identity's CA options, defaulting to None here so that one given without --playbooks is told from the
# default (and refused); with --playbooks an absent one takes identity's default
MONITOR_CA_DIR_OPTION = typer.Option(None, "--ca-dir", help=f"With --playbooks: {CA_DIR_OPTION.help}")
MONITOR_PASS_ENV_OPTION = typer.Option(None, "--passphrase-env", help=f"With --playbooks: {PASS_ENV_OPTION.help}")


def print_alert(alert: Alert) -> None:
    where = f"{alert.src_ip or ''}{' -> ' + alert.dst_ip if alert.dst_ip else ''}"
    console.print(f"{ts_text(alert.first_seen)} [{STYLE[alert.severity]}]{alert.severity:8}[/] {alert.id:32} "
                  f"{alert.subject:26} {where:34} {alert.title}", highlight=False, soft_wrap=True)


def _responder(store: Store, found: list[Playbook], *, enforce: Enforce, netns: str | None, allow: list[str],
               policy: str | None, yes: bool, ca_dir: Path | None,
               passphrase_env: str | None) -> Callable[[Alert], None]:
    """The response engine's alert subscriber; each alert's actions are printed as they are taken. The
    device CA (for revocations) is identity's: its default folder and variable where none is given."""
    from iotwarden.respond.engine import ResponseEngine  # noqa: PLC0415 - the store's tables: not for --help

    default, named = _enforcers(enforce, netns, allow, store, policy=policy, yes=yes)
    ca = _ca(store, CA_DIR_OPTION.default if ca_dir is None else ca_dir,
             PASS_ENV_OPTION.default if passphrase_env is None else passphrase_env)
    engine = ResponseEngine(store, found, enforcer=default, enforcers=named, ca=ca)

    def respond(alert: Alert) -> None:
        before = engine.errors
        for record in engine.on_alert(alert):
            console.print(f"  -> {record.kind} {record.status} (action {record.id}, playbook "
                          f"{record.playbook})", highlight=False)
        if engine.errors > before:
            err.print(f"[yellow]warning:[/] response to {alert.id} on {alert.subject} failed (see the log)",
                      highlight=False)

    return respond


def _without_playbooks(*, enforce: Enforce, netns: str | None, allow: list[str], policy: str | None,
                       yes: bool, ca_dir: Path | None, passphrase_env: str | None) -> None:
    """The response options only say how playbooks act: given without --playbooks they would do nothing."""
    given = [flag for flag, on in (("--enforce", enforce is not Enforce.dry_run), ("--netns", netns is not None),
                                   ("--allow", bool(allow)), ("--policy", policy is not None), ("--yes", yes),
                                   ("--ca-dir", ca_dir is not None), ("--passphrase-env", passphrase_env is not None))
             if on]
    if given:
        raise ConfigError(f"{', '.join(given)}: how response playbooks act on alerts; give --playbooks too")


def _close_untaken(exporter: Exporter, started: threading.Event) -> None:
    """Close an exporter that no monitor took (what comes after it failed to open or build) or whose finish() failed:
    a failing close is a warning, the failure that stopped the command stays the error reported. One that writes only
    when closed (a STIX bundle file) is let go without writing when the run never ``started``, so a previous run's
    file is kept rather than replaced by an empty bundle."""
    if not started.is_set() and isinstance(exporter, Discardable):
        exporter.discard()
        return
    try:
        exporter.close()
    except (IotwardenError, OSError) as exc:  # OSError: a bundle file that cannot be written (as Monitor.finish)
        err.print(f"[yellow]warning:[/] export {exporter_names([exporter])[0]}: {exc}", highlight=False)


def _capture_filter(source: str, bpf: str | None) -> list[tuple[int, int, int, int]] | None:
    """``--bpf`` compiled once for a live interface, before anything starts: a bad or oversized filter is
    one line at once; given for a watched folder, which it would not filter, it is refused."""
    if Path(source).is_dir():
        if bpf is not None:
            raise ConfigError("--bpf filters a live interface: SOURCE is a folder")
        return None
    from iotwarden.sources.live import interface_filter  # noqa: PLC0415 - only for live capture

    return interface_filter(source, bpf)


@app.command("monitor")
def monitor_cmd(
    source: Annotated[str, typer.Argument(help="A network interface (live capture) or a folder that capture "
                                               "files are written into.")],
    *,
    db: str | None = DB_OPTION,
    export: Annotated[list[str] | None, typer.Option(
        "--export", help="Send alerts to a SIEM: cef+udp|tcp|tls://HOST:PORT[?ca=CA.pem], ecs+file:///PATH, "
                         "ecs+http(s)://HOST/PATH, stix+file:///PATH (repeatable).")] = None,
    suppress: Path | None = SUPPRESSIONS_OPTION,
    options: Path | None = DETECT_OPTIONS_OPTION,
    bpf: Annotated[str | None, typer.Option("--bpf", help="Kernel filter for a live interface.")] = None,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between looks at a watched folder.")] = POLL_S,
    once: Annotated[bool, typer.Option("--once", help="Folder: process what is there now, then stop.")] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not write alerts to the database.")] = False,
    playbooks: Annotated[Path | None, typer.Option(
        "--playbooks", help="Response playbooks (YAML file or folder) run on each new alert as it happens; "
                            "their actions are logged in --db (see iotwarden playbooks).")] = None,
    enforce: Enforce = ENFORCE_OPTION, netns: str | None = NETNS_OPTION, allow: list[str] = ALLOW_OPTION,
    policy: str | None = POLICY_OPTION, yes: bool = YES_OPTION,
    ca_dir: Path | None = MONITOR_CA_DIR_OPTION, passphrase_env: str | None = MONITOR_PASS_ENV_OPTION,
) -> None:
    """Watch SOURCE continuously and report alerts as they happen; Ctrl-C stops cleanly."""
    if not 0 < poll < math.inf:  # NaN fails both: Event.wait(nan) never returns
        raise typer.BadParameter(f"seconds between looks must be a positive number, not {poll}", param_hint="--poll")
    check_watched(source)
    folder = Path(source)
    program = _capture_filter(source, bpf)
    rules = load_suppressions(suppress) if suppress else []
    tunables = load_options(options) if options else None
    if not playbooks:
        _without_playbooks(enforce=enforce, netns=netns, allow=allow, policy=policy, yes=yes, ca_dir=ca_dir,
                           passphrase_env=passphrase_env)
    found = read_playbooks(playbooks) if playbooks else []
    if found and no_store:
        raise ConfigError("--playbooks log every action in the database: drop --no-store")
    # what is opened is closed on every path, whatever fails after it opens: the store when the block ends; the
    # exporters (sockets, files) by the monitor's finish() once it has run, by the stack when a later --export URL,
    # the store, the responder, the monitor or its finish() fails first
    with ExitStack() as opened:
        untaken = opened.enter_context(ExitStack())  # closed after the store (last in, first out)
        exporters: list[Exporter] = []
        started = threading.Event()  # set once the monitor runs: from then on a bundle file is written, not let go
        for url in export or []:
            exporters.append(open_exporter(url))
            untaken.callback(_close_untaken, exporters[-1], started)
        store = None if no_store else opened.enter_context(open_store(db))
        subscribers: list[Callable[[Alert], None]] = [print_alert]
        if store is not None and found:
            subscribers.append(_responder(store, found, enforce=enforce, netns=netns, allow=allow, policy=policy,
                                          yes=yes, ca_dir=ca_dir, passphrase_env=passphrase_env))
        from iotwarden.services.monitor import Monitor  # noqa: PLC0415 - the engine and analyzers: not for --help

        mon = Monitor(store=store, exporters=exporters, suppressions=rules, options=tunables, on_alert=subscribers)
        err.print(f"monitoring {'folder ' + source if folder.is_dir() else 'interface ' + source} "
                  "(Ctrl-C stops)", highlight=False)
        # a service manager stops with SIGTERM (systemd, docker stop): end as Ctrl-C does, so done() raises what the
        # analyzers hold (held scans, waiting flows) and the store gets it; signals reach the main thread only
        previous = (signal.signal(signal.SIGTERM, lambda signum, frame: mon.stop())
                    if threading.current_thread() is threading.main_thread() else None)
        started.set()
        try:
            if folder.is_dir():
                mon.poll(folder, interval=poll, once=once)
            else:
                from iotwarden.sources.live import IDLE_TICK_S, capture_live  # noqa: PLC0415 - only for live capture

                mon.run_live(capture_live(source, bpf=bpf, program=program, stop=mon.stopping, idle_s=IDLE_TICK_S))
        except KeyboardInterrupt:
            mon.stop()
        finally:
            try:
                alerts = mon.finish()  # under the handler still: a second SIGTERM does not cut it short
            finally:
                # finish() closed the exporters it could, each once: the stack closes only the rest (a close cut
                # short, those after it, all of them when finish() failed before closing any), never one again
                untaken.pop_all()
                for exporter in mon.unclosed:
                    untaken.callback(_close_untaken, exporter, started)
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)
    for name, message in mon.export_errors.items():
        err.print(f"[yellow]warning:[/] export {name}: {message}", highlight=False)
    shown = sum(not a.suppressed for a in alerts)
    err.print(f"stopped: {mon.files} files, {len(alerts)} alerts ({len(alerts) - shown} suppressed)", highlight=False)
