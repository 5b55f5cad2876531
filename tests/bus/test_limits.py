"""bus/limits.py: the NATS outage limit the sensor and worker options show, defined once and read without asyncio."""

from __future__ import annotations

import subprocess
import sys

import pytest

import iotwarden.bus
from iotwarden.bus import jetstream, limits


def test_the_nats_link_reads_the_one_definition() -> None:
    assert jetstream.OUTAGE_LIMIT_S == limits.OUTAGE_LIMIT_S == 300.0


def test_reading_the_limit_imports_neither_asyncio_nor_the_nats_link() -> None:
    script = ("import sys, iotwarden.bus.limits; "
              "print(sorted(m for m in sys.modules if m == 'asyncio' or m.startswith('iotwarden.bus.') "
              "and m != 'iotwarden.bus.limits'))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_the_package_still_gives_the_in_process_bus_and_refuses_other_names() -> None:
    from iotwarden.bus import InProcessBus
    from iotwarden.bus.inprocess import InProcessBus as Direct

    assert InProcessBus is Direct
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = iotwarden.bus.no_such_name
