"""Alerts as Elastic Common Schema (ECS 8.x) documents: JSON lines to a file, or POSTed to a webhook.

Fields used (ECS reference 8.11): ``@timestamp``, ``event.*`` (kind "alert", category
"intrusion_detection"/"network", severity, start, end, id), ``rule.id``/``rule.name``, ``threat.*``
(framework "MITRE ATT&CK", technique ids), ``source.ip``, ``destination.ip``, ``observer.*``,
``message``; iotwarden's own fields under ``iotwarden.*`` (device key, alert key, count, status,
evidence), as ECS asks for custom fields.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from iotwarden import __version__
from iotwarden.errors import ConfigError
from iotwarden.model.alert import Alert

ECS_VERSION = "8.11.0"
ECS_SEVERITY = {"info": 10, "low": 25, "medium": 50, "high": 75, "critical": 100}  # event.severity, 0-100
WEBHOOK_TIMEOUT_S = 10.0


def shown_url(url: str) -> str:
    """``url`` as warnings and errors show it: its scheme, host and port, and "/…" for a path or query, which a
    webhook's secret often is (a Slack or Teams incoming webhook's path, a ``?token=``): never printed or logged."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    origin = f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{f':{parts.port}' if parts.port else ''}"
    return origin + ("/…" if parts.path.strip("/") or parts.query else "")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_ecs(alert: Alert) -> dict[str, Any]:
    """The ECS document of one alert (JSON-compatible)."""
    doc: dict[str, Any] = {
        "@timestamp": _iso(alert.last_seen),
        "ecs": {"version": ECS_VERSION},
        "message": alert.title,
        "event": {"kind": "alert", "category": ["intrusion_detection", "network"], "type": ["info"],
                  "id": alert.uid, "code": alert.id, "severity": ECS_SEVERITY[alert.severity],
                  "start": _iso(alert.first_seen), "end": _iso(alert.last_seen), "module": "iotwarden",
                  "dataset": "iotwarden.alert"},
        "rule": {"id": alert.id, "name": alert.title, "ruleset": "iotwarden"},
        "observer": {"vendor": "iotwarden", "product": "iotwarden", "version": __version__, "type": "ids"},
        "iotwarden": {"device_key": alert.subject, "alert_key": alert.key, "count": alert.count,
                      "status": alert.status, "severity": alert.severity, "evidence": alert.evidence,
                      "flows": alert.flows, "observations": alert.observations},
    }
    if alert.mitre:
        doc["threat"] = {"framework": "MITRE ATT&CK",
                         "technique": {"id": [t.split(".")[0] for t in alert.mitre]},
                         "technique.subtechnique": {"id": [t for t in alert.mitre if "." in t]}}
    if alert.src_ip:
        doc["source"] = {"ip": alert.src_ip}
    if alert.dst_ip:
        doc["destination"] = {"ip": alert.dst_ip}
    return doc


class EcsFile:
    """Appends one ECS JSON document per line to a file (flushed after each alert)."""

    def __init__(self, path: Path) -> None:
        self.destination = f"ecs+file://{path}"
        try:
            self._fh: TextIO | None = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot open ECS output {path}: {exc.strerror}") from None

    def send(self, alert: Alert) -> None:
        if self._fh is not None:
            self._fh.write(json.dumps(to_ecs(alert), default=str) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class EcsWebhook:
    """POSTs each alert's ECS document as ``application/json`` to an HTTP(S) endpoint."""

    def __init__(self, url: str, *, timeout: float = WEBHOOK_TIMEOUT_S) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook URL must be http:// or https://, got {url!r}")
        self.url, self.timeout = url, timeout
        self.destination = f"ecs+{shown_url(url)}"

    def send(self, alert: Alert) -> None:
        body = json.dumps(to_ecs(alert), default=str).encode()
        req = urllib.request.Request(self.url, data=body, method="POST",  # noqa: S310 - http(s) checked above
                                     headers={"Content-Type": "application/json", "User-Agent": "iotwarden"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise ConfigError(f"webhook {shown_url(self.url)}: {exc}") from None

    def close(self) -> None:
        """Nothing held between requests."""
