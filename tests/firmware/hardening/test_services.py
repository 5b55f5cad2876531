"""telnetd and ftpd started at boot (init.d, inetd.conf), commented lines ignored."""

from __future__ import annotations

from iotwarden.model.finding import Finding
from tests.firmware.hardening.conftest import paths_of


def test_telnetd_and_ftpd_at_boot(weak: dict[str, Finding]) -> None:
    assert paths_of(weak["firmware.hardening.telnetd_boot"]) == ["/etc/init.d/S50telnet"]
    assert paths_of(weak["firmware.hardening.ftpd_boot"]) == ["/etc/inetd.conf"]  # the commented inittab line is not
