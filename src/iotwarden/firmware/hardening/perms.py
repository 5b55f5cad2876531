"""World-writable files and folders in the image (any user on the device may change them); folders
with the sticky bit (``/tmp``) are as intended."""

from __future__ import annotations

import stat

from iotwarden.firmware.hardening.base import Context, finding
from iotwarden.model.finding import Finding

WORLD_WRITABLE = "firmware.hardening.world_writable"
CHECK_IDS = (WORLD_WRITABLE,)


def run(ctx: Context) -> list[Finding]:
    paths = [f.path for f in ctx.regular() if f.mode & stat.S_IWOTH]
    paths += [p for p, mode in ctx.dir_modes.items() if mode & stat.S_IWOTH and not mode & stat.S_ISVTX]
    if not paths:
        return []
    return [
        finding(
            WORLD_WRITABLE,
            "World-writable files or folders",
            "medium",
            ctx,
            paths=paths,
            remediation="Remove write permission for others (chmod o-w) in the build.",
            references=["https://cwe.mitre.org/data/definitions/732.html"],
        )
    ]
