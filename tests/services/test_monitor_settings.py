"""The monitor's settings module: one definition of each default, read by the service and its command."""

from __future__ import annotations

import inspect

from iotwarden.cli import monitor as monitor_command
from iotwarden.services import monitor, monitor_settings


def test_the_service_and_the_command_read_the_one_poll_interval() -> None:
    assert monitor.POLL_S is monitor_settings.POLL_S  # still importable from the service, not a copy
    assert inspect.signature(monitor.Monitor.poll).parameters["interval"].default == monitor_settings.POLL_S
    assert inspect.signature(monitor_command.monitor_cmd).parameters["poll"].default == monitor_settings.POLL_S
    assert 0 < monitor_settings.POLL_S < float("inf")
