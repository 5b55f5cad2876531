"""SIEM exports of alerts: CEF over RFC 5424 syslog (UDP, TCP, TLS), ECS JSON (file, webhook), STIX 2.1.

:func:`open_exporter` turns one ``--export`` URL into an exporter (``send(alert)``, ``close()``):

* ``cef+udp://HOST:PORT``, ``cef+tcp://HOST:PORT``, ``cef+tls://HOST:PORT?ca=CA.pem[&cert=..&key=..]``
* ``ecs+file:///PATH`` (JSON lines), ``ecs+http://HOST:PORT/PATH`` or ``ecs+https://...`` (webhook)
* ``stix+file:///PATH`` (one bundle written at the end)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit

from iotwarden.errors import ConfigError
from iotwarden.model.alert import Alert

SYSLOG_PORT = {"udp": 514, "tcp": 601, "tls": 6514}  # IANA: syslog, syslog-conn (RFC 3195), syslog-tls (RFC 5425)


class Exporter(Protocol):
    def send(self, alert: Alert) -> None: ...

    def close(self) -> None: ...


def exporter_names(exporters: Sequence[object]) -> list[str]:
    """Each exporter's name in warnings and errors: its ``destination`` (the ``--export`` URL it sends to), else its
    class's name; a name two of them share gets its place after it (``StixFile #2``), so no error hides another."""
    names = [str(getattr(e, "destination", None) or type(e).__name__) for e in exporters]
    counts = Counter(names)
    return [f"{name} #{i + 1}" if counts[name] > 1 else name for i, name in enumerate(names)]


@runtime_checkable
class Discardable(Protocol):
    """An exporter that writes only when closed (a STIX bundle file): ``discard`` lets it go without writing, for
    a run that never started."""

    def discard(self) -> None: ...


def open_exporter(url: str) -> Exporter:
    """The exporter an ``--export`` URL names (ConfigError with the URL when it is not one)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if scheme.startswith("cef+"):
        from iotwarden.export.syslog import SyslogSender  # noqa: PLC0415

        transport = scheme[4:]
        if transport not in SYSLOG_PORT or not parts.hostname:
            raise ConfigError(f"--export {url}: expected cef+udp|tcp|tls://HOST:PORT")
        path = {k: Path(query[k]) if k in query else None for k in ("ca", "cert", "key")}
        return SyslogSender(transport, parts.hostname, parts.port or SYSLOG_PORT[transport], ca=path["ca"],
                            cert=path["cert"], key=path["key"])
    if scheme in {"ecs+file", "stix+file"}:
        if not parts.path:
            raise ConfigError(f"--export {url}: expected {scheme}:///PATH")
        if scheme == "ecs+file":
            from iotwarden.export.ecs import EcsFile  # noqa: PLC0415

            return EcsFile(Path(parts.path))
        from iotwarden.export.stix import StixFile  # noqa: PLC0415

        return StixFile(Path(parts.path))
    if scheme in ("ecs+http", "ecs+https"):
        from iotwarden.export.ecs import EcsWebhook  # noqa: PLC0415

        return EcsWebhook(url[4:])
    raise ConfigError(f"--export {url}: unknown scheme; use cef+udp, cef+tcp, cef+tls, ecs+file, ecs+http(s), "
                      "stix+file")


__all__ = ["Exporter", "exporter_names", "open_exporter"]
