"""What every hardening check gets: the unpacked files of one image, indexed by their path inside the
file system, bounded readers for text, and one way to build a :class:`~iotwarden.model.finding.Finding`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from iotwarden.firmware.extract.driver import UnpackedFile
from iotwarden.model.finding import Finding, Severity

MAX_TEXT_BYTES = 1024 * 1024  # a configuration file larger than this is not read
MAX_PATHS_PER_FINDING = 50  # paths listed in one finding's evidence (the count is always exact)
# where System V init, BusyBox init, OpenWrt procd and systemd start services
BOOT_SCRIPTS = re.compile(
    r"^/etc/(inittab|rc\.local|init\.d/[^/]+|rc\.d/[^/]+|rcS\.d/[^/]+|rc\d\.d/[^/]+"
    r"|systemd/system/[^/]+\.service|systemd/system/[^/]+\.wants/[^/]+\.service)$"
)


@dataclass(slots=True)
class Context:
    """One image's unpacked files; ``subject`` names the image in findings (``firmware:<sha256>``)
    and ``dir_modes`` holds the modes folders had in the image (sanitising changes them on disk)."""

    subject: str
    files: list[UnpackedFile]
    dir_modes: dict[str, int] = field(default_factory=dict)

    def regular(self) -> Iterator[UnpackedFile]:
        return (f for f in self.files if not f.is_symlink)

    def named(self, *fs_paths: str) -> list[UnpackedFile]:
        """Regular files at these paths in any file-system root of the image."""
        wanted = set(fs_paths)
        return [f for f in self.regular() if f.fs_path in wanted]

    def text(self, f: UnpackedFile) -> str:
        if f.size > MAX_TEXT_BYTES:
            return ""
        try:
            return f.host.read_text("latin-1")
        except OSError:
            return ""


def finding(
    check_id: str,
    title: str,
    severity: Severity,
    ctx: Context,
    *,
    paths: list[str],
    remediation: str,
    references: list[str],
    **evidence: Any,
) -> Finding:
    """A finding about the image with the paths that show it (capped) and their exact count."""
    return Finding(
        id=check_id,
        title=title,
        severity=severity,
        subject=ctx.subject,
        evidence={"paths": sorted(paths)[:MAX_PATHS_PER_FINDING], "count": len(paths), **evidence},
        remediation=remediation,
        references=references,
    )
