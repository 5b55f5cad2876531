"""Webhook notification: one JSON document POSTed to an HTTP(S) endpoint, with a per-attempt timeout
and a bounded number of retries (exponential backoff) on connection errors and 5xx/429 answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iotwarden import __version__
from iotwarden.errors import ConfigError

SCHEMA = "iotwarden.notification/1"  # the JSON document's "schema" field
BACKOFF_S = 0.5  # wait before the first retry; doubled for each next one
MAX_BACKOFF_S = 8.0  # no single wait is longer
MAX_BODY_BYTES = 256 * 1024  # a notification larger than this is refused before sending
MAX_REPLY_BYTES = 4096  # of the receiver's answer kept in the action log
SIGNATURE_HEADER = "X-Iotwarden-Signature"  # "sha256=" + hex HMAC-SHA256 (RFC 2104) of the exact body sent
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})  # RFC 9110 §15.6 / RFC 6585 §4: worth trying again


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a notification went: the last HTTP status (None when never answered) and the attempts made."""

    ok: bool
    status: int | None
    attempts: int
    error: str = ""
    reply: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "status": self.status, "attempts": self.attempts, "error": self.error,
                "reply": self.reply}


def signature(secret: str, body: bytes) -> str:
    """The :data:`SIGNATURE_HEADER` value: receivers recompute it over the raw body and compare in
    constant time (``hmac.compare_digest``)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_json(url: str, document: dict[str, Any], *, timeout_s: float, retries: int,
              headers: dict[str, str] | None = None, secret: str | None = None,
              sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST ``document`` as JSON to ``url`` (signed with ``secret`` when given); never raises for a
    failed delivery (it is reported)."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"webhook URL must be http:// or https://, got {url!r}")
    body = json.dumps({"schema": SCHEMA, **document}, sort_keys=True, default=str).encode()
    if len(body) > MAX_BODY_BYTES:
        raise ConfigError(f"notification of {len(body)} bytes is larger than {MAX_BODY_BYTES}")
    hdrs = {"Content-Type": "application/json", "User-Agent": f"iotwarden/{__version__}", **(headers or {})}
    if secret:
        hdrs[SIGNATURE_HEADER] = signature(secret, body)
    status, error, attempts = None, "", 0
    for attempt in range(retries + 1):
        if attempt:
            sleep(min(BACKOFF_S * 2 ** (attempt - 1), MAX_BACKOFF_S))
        attempts += 1
        request = urllib.request.Request(url, data=body, headers=hdrs, method="POST")  # noqa: S310 - scheme checked
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as reply:  # noqa: S310 - scheme checked
                text = reply.read(MAX_REPLY_BYTES).decode("utf-8", "replace")
                return Delivery(True, reply.status, attempts, reply=text)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
            if exc.code not in RETRY_STATUSES:
                break
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            status, error = None, str(getattr(exc, "reason", exc))
    return Delivery(False, status, attempts, error=error)
