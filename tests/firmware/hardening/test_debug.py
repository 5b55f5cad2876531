"""Debug interfaces: a getty on a UART console."""

from __future__ import annotations

from iotwarden.model.finding import Finding
from tests.firmware.hardening.conftest import paths_of


def test_uart_console(weak: dict[str, Finding]) -> None:
    dbg = weak["firmware.hardening.debug_interface"]
    assert paths_of(dbg) == ["/etc/inittab"] and dbg.evidence["kinds"] == ["login on a serial console"]
