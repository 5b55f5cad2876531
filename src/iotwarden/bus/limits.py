"""The bus's limits that the CLI shows as option defaults: a light module (no asyncio, no nats-py), so listing
the commands (``iotwarden --help``) does not import the NATS link (bus/jetstream.py) to read them."""

from __future__ import annotations

OUTAGE_LIMIT_S = 300.0  # sensor and worker give up (one error line, exit 2) once NATS is away this long
