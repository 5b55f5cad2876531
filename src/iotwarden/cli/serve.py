"""``iotwarden serve``: the REST API and web console in one process (uvicorn), optionally ingesting a
capture folder or a live interface in the background while the console shows it live."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import typer

from iotwarden.cli.analyze import DB_OPTION, open_store
from iotwarden.cli.files import check_watched
from iotwarden.cli.main import app, err_console
from iotwarden.errors import ConfigError, describe

if TYPE_CHECKING:
    from iotwarden.store import Store

# seconds a stop (Ctrl-C, SIGTERM) waits for open requests; the consoles' event streams never end by
# themselves, so without this bound the server would wait for every browser tab to close
SHUTDOWN_GRACE_S = 3


def _check_listen(host: str, port: int) -> None:
    """Bind ``host``:``port`` once, as uvicorn will (SO_REUSEADDR), so that an address in use or a host name that
    does not resolve is one error line: uvicorn logs its own and exits 3."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:  # socket.gaierror included
        raise ConfigError(f"cannot listen on {host}:{port}: {describe(exc)}") from None


@app.command("serve")
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
          port: int = typer.Option(8080, "--port", help="TCP port."),
          db: str | None = DB_OPTION,
          capture: str | None = typer.Option(
              None, "--capture", help="Also ingest: a folder (new capture files) or a network interface."),
          secure_cookies: bool = typer.Option(
              False, "--secure-cookies", help="Mark cookies Secure (behind a TLS-terminating proxy)."),
          *,
          nats: str | None = typer.Option(
              None, "--nats", help="Live updates over NATS (nats://HOST:4222): show what workers store."),
          ) -> None:
    """Serve the console and API; log in with a user made by `iotwarden users create-admin`."""
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be 1-65535, not {port}")
    if capture is not None:
        check_watched(capture)
    _check_listen(host, port)
    with open_store(db) as store:  # the store lives as long as the server, and is closed however it stops
        _serve(store, host, port, capture=capture, secure_cookies=secure_cookies, nats=nats)


def _serve(store: Store, host: str, port: int, *, capture: str | None, secure_cookies: bool,
           nats: str | None) -> None:
    """Serve the console over ``store`` until interrupted; the ingestor and the NATS bus stopped as it stops."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    from iotwarden.api import create_app  # noqa: PLC0415
    from iotwarden.api.ingest import Ingestor  # noqa: PLC0415
    from iotwarden.bus import InProcessBus  # noqa: PLC0415

    with store.session() as session:
        from sqlalchemy import func, select  # noqa: PLC0415

        from iotwarden.store.auth_models import UserRow  # noqa: PLC0415

        if not session.scalar(select(func.count()).select_from(UserRow)):
            err_console.print("no users yet: create one with `iotwarden users create-admin`")
    nats_bus = None
    if nats:
        from iotwarden.bus.nats import NatsBus  # noqa: PLC0415 - only a multi-sensor deployment needs it

        nats_bus = NatsBus(nats, name="iotwarden console")
    bus = nats_bus or InProcessBus()
    ingestor = None
    try:
        web_app = create_app(store, bus=bus, secure_cookies=True if secure_cookies else None)
        if capture:
            ingestor = Ingestor(store, bus, capture)
            web_app.state.ctx.sources.append(ingestor.status)
            ingestor.start()
        err_console.print(f"iotwarden console on http://{host}:{port}/")
        uvicorn.run(web_app, host=host, port=port, log_level="warning", proxy_headers=False,
                    timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
    finally:
        if ingestor is not None:
            ingestor.stop()
        if nats_bus is not None:
            nats_bus.close()
