"""The monitor's settings that its command line offers as defaults, apart from :mod:`services.monitor`
so that reading them (``iotwarden --help``, the ``monitor`` options) does not load the engine."""

from __future__ import annotations

POLL_S = 2.0  # seconds between two looks at a watched folder
