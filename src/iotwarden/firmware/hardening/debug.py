"""Debug interfaces left in production images: login or root shells on serial consoles (UART), a
gdbserver, and tools that read and write physical memory through /dev/mem."""

from __future__ import annotations

import re

from iotwarden.firmware.hardening.base import BOOT_SCRIPTS, Context, finding
from iotwarden.model.finding import Finding

DEBUG_INTERFACE = "firmware.hardening.debug_interface"
CHECK_IDS = (DEBUG_INTERFACE,)
SERIAL = r"tty(?:S|AMA|USB|MSM|HS|O|SAC|MFD|PS|LP)\d+"
# BusyBox inittab "id:runlevels:action:process" (id = the tty) or a getty naming a serial tty
SERIAL_CONSOLE = re.compile(rf"^(?:{SERIAL}::\w+:.*|.*\bgetty\b.*\b{SERIAL}\b.*)$", re.M)
ROOT_SHELL = re.compile(r"^[\w]*::(?:respawn|askfirst|once):-?/bin/(?:ba|a)?sh\s*$", re.M)  # shell without login
SERIAL_GETTY_UNIT = re.compile(rf"/serial-getty@{SERIAL}\.service$")
DEBUG_TOOLS = ("gdbserver", "gdb", "devmem", "devmem2", "memtool", "peekpoke", "strace")


def run(ctx: Context) -> list[Finding]:
    hits: dict[str, str] = {}
    for f in ctx.files:
        base = f.fs_path.rsplit("/", 1)[-1]
        if SERIAL_GETTY_UNIT.search(f.fs_path):
            hits[f.path] = "serial getty unit enabled"
        elif not f.is_symlink and base in DEBUG_TOOLS and f.fs_path.startswith(("/bin/", "/sbin/", "/usr/")):
            hits[f.path] = f"debug tool {base}"
        elif not f.is_symlink and BOOT_SCRIPTS.match(f.fs_path):
            text = "\n".join(line.split("#", 1)[0].rstrip() for line in ctx.text(f).splitlines())
            if SERIAL_CONSOLE.search(text):
                hits[f.path] = "login on a serial console"
            elif f.fs_path == "/etc/inittab" and ROOT_SHELL.search(text):
                hits[f.path] = "root shell on the console without login"
            elif re.search(r"\bgdbserver\b", text):
                hits[f.path] = "gdbserver started at boot"
    if not hits:
        return []
    return [
        finding(
            DEBUG_INTERFACE,
            "Debug interfaces are enabled",
            "medium",
            ctx,
            paths=list(hits),
            kinds=sorted(set(hits.values())),
            remediation="Disable consoles on UART in production builds and remove debuggers and /dev/mem tools.",
            references=["https://cwe.mitre.org/data/definitions/1191.html"],
        )
    ]
