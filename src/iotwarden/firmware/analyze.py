"""The firmware analysis pipeline: unpack an image in the sandbox, identify components, find which
binaries init scripts start (a reachability hint), match vulnerabilities, and return one report with a
documented, versioned JSON form (``schema`` = :data:`REPORT_SCHEMA`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotwarden.errors import FirmwareError, describe
from iotwarden.firmware.components import Component, identify, sha256_file
from iotwarden.firmware.extract.driver import UnpackedFile, extract
from iotwarden.firmware.hardening import run_checks
from iotwarden.firmware.hardening.base import BOOT_SCRIPTS, Context
from iotwarden.firmware.sandbox import Limits
from iotwarden.firmware.sbom import ImageInfo
from iotwarden.firmware.vulndb.match import VulnMatch, match
from iotwarden.firmware.vulndb.records import VulnRepository
from iotwarden.model.finding import Finding

REPORT_SCHEMA = "iotwarden.firmware.report/1"  # additive changes keep the version ("findings", "containers[].handler")
MAX_BOOT_SCRIPT_BYTES = 1024 * 1024  # init scripts larger than this are not read


@dataclass(slots=True)
class Report:
    image: ImageInfo
    containers: list[dict[str, Any]]
    files: int
    components: list[Component]
    vulnerabilities: list[VulnMatch]
    incidents: list[dict[str, str]]
    errors: list[str]
    boot_started: list[str] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "image": {"name": self.image.name, "sha256": self.image.sha256, "size": self.image.size},
            "containers": self.containers,
            "files": self.files,
            "components": [c.to_dict() for c in self.components],
            "vulnerabilities": [v.to_dict() for v in self.vulnerabilities],
            "findings": [f.to_dict() for f in self.findings],
            "boot_started": self.boot_started,
            "incidents": self.incidents,
            "errors": self.errors,
            "limits": self.limits,
        }


def boot_started(files: list[UnpackedFile]) -> set[str]:
    """Logical paths of executables named in init scripts (inittab, init.d, rc.d, systemd units)."""
    by_root: dict[str, dict[str, str]] = {}
    for f in files:
        if not f.is_symlink:
            by_root.setdefault(f.root, {})[f.fs_path.rsplit("/", 1)[-1]] = f.path
    started: set[str] = set()
    for f in files:
        if f.is_symlink or not BOOT_SCRIPTS.match(f.fs_path) or f.size > MAX_BOOT_SCRIPT_BYTES:
            continue
        names = by_root.get(f.root, {})
        text = f.host.read_text("latin-1")
        for line in text.splitlines():
            line = line.split("#", 1)[0]
            for word in re.findall(r"[\w./-]+", line):
                base = word.rsplit("/", 1)[-1]
                if base in names and names[base] != f.path:
                    started.add(names[base])
    return started


def analyze_image(image: Path, repo: VulnRepository | None = None, limits: Limits | None = None) -> Report:
    """Analyse ``image``; vulnerabilities are matched only when a repository is given.

    Raises :class:`FirmwareError` when ``image`` is no regular file, is empty or cannot be read."""
    if not image.is_file():
        raise FirmwareError(f"{image}: {'a folder, not' if image.is_dir() else 'no such file or not'} a firmware image")
    try:
        info = ImageInfo(image.name, sha256_file(image), image.stat().st_size)
    except OSError as exc:
        raise FirmwareError(f"{image}: cannot read: {describe(exc)}") from None
    if info.size == 0:
        raise FirmwareError(f"{image}: empty file (0 bytes), not a firmware image")
    with extract(image, limits) as ex:
        comps = identify(ex.files)
        started = boot_started(ex.files)
        vulns = match(comps, repo, started) if repo is not None else []
        errors = list(ex.errors)
        findings = run_checks(Context(f"firmware:{info.sha256}", ex.files, dict(ex.sandbox.dir_modes)), errors)
        return Report(
            info,
            [c.to_dict() for c in ex.containers],
            len(ex.files),
            comps,
            vulns,
            [i.to_dict() for i in ex.sandbox.incidents],
            errors,
            sorted(started),
            ex.sandbox.limits.to_dict(),
            findings,
        )
