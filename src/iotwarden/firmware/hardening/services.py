"""Cleartext remote-login services started at boot: telnetd and FTP daemons named in init scripts
(inittab, rc.d, init.d, systemd units) or enabled in (x)inetd configuration (inetd.conf(5))."""

from __future__ import annotations

import re

from iotwarden.firmware.hardening.base import BOOT_SCRIPTS, Context, finding
from iotwarden.model.finding import Finding

TELNETD_BOOT = "firmware.hardening.telnetd_boot"
FTPD_BOOT = "firmware.hardening.ftpd_boot"
CHECK_IDS = (TELNETD_BOOT, FTPD_BOOT)
INETD = re.compile(r"^/etc/(inetd\.conf|xinetd\.d/[^/]+)$")
TELNETD = re.compile(r"(?<![\w-])(u?telnetd|in\.telnetd)(?![\w-])|^telnet\s+stream\s+tcp", re.M)
FTPD = re.compile(r"(?<![\w-])(ftpd|vsftpd|proftpd|pure-ftpd|bftpd|in\.ftpd)(?![\w-])|^ftp\s+stream\s+tcp", re.M)
XINETD_DISABLED = re.compile(r"^\s*disable\s*=\s*yes", re.M)


def _active_lines(text: str) -> str:
    return "\n".join(line.split("#", 1)[0].strip() for line in text.splitlines())


def run(ctx: Context) -> list[Finding]:
    telnet: list[str] = []
    ftp: list[str] = []
    for f in ctx.regular():
        if not (BOOT_SCRIPTS.match(f.fs_path) or INETD.match(f.fs_path)):
            continue
        text = ctx.text(f)
        if f.fs_path.startswith("/etc/xinetd.d/") and XINETD_DISABLED.search(text):
            continue
        active = _active_lines(text)
        if TELNETD.search(active):
            telnet.append(f.path)
        if FTPD.search(active):
            ftp.append(f.path)
    out: list[Finding] = []
    if telnet:
        out.append(
            finding(
                TELNETD_BOOT,
                "Telnet server started at boot",
                "high",
                ctx,
                paths=telnet,
                remediation="Remove telnetd from the boot scripts and inetd; use SSH with per-device keys.",
                references=["https://www.rfc-editor.org/rfc/rfc854", "https://cwe.mitre.org/data/definitions/319.html"],
            )
        )
    if ftp:
        out.append(
            finding(
                FTPD_BOOT,
                "FTP server started at boot",
                "medium",
                ctx,
                paths=ftp,
                remediation="Remove the FTP daemon or replace it with SFTP.",
                references=["https://www.rfc-editor.org/rfc/rfc959", "https://cwe.mitre.org/data/definitions/319.html"],
            )
        )
    return out
