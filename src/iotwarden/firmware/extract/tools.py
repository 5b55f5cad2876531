"""Running an external extractor (unsquashfs, fsck.cramfs, bsdtar, jefferson, ubireader): no shell,
a bounded time, a per-file size limit (``prlimit --fsize``) and one clear error when it fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from iotwarden.errors import FirmwareError
from iotwarden.firmware.sandbox import Sandbox

STDERR_KEEP = 400  # characters of a failing tool's stderr kept in the error


def find_tool(name: str) -> str | None:
    """The tool on PATH, in the running interpreter's bin folder (venv console scripts) or sbin."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def run_tool(
    argv: Sequence[str],
    sb: Sandbox,
    where: str,
    *,
    cwd: Path | None = None,
    stdin: IO[bytes] | None = None,
    ok_codes: Sequence[int] = (0,),
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` under the sandbox limits; raise FirmwareError naming the tool when it is missing,
    too slow or fails."""
    exe = find_tool(argv[0])
    if exe is None:
        raise FirmwareError(f"{where}: extractor {argv[0]!r} is not installed")
    prlimit = shutil.which("prlimit")
    cmd = [exe, *argv[1:]]
    if prlimit:
        cmd = [prlimit, f"--fsize={sb.limits.max_file_bytes}", "--", *cmd]
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd,
            cwd=cwd,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=sb.limits.tool_timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise FirmwareError(f"{where}: {argv[0]} ran past {sb.limits.tool_timeout_s:.0f}s") from None
    if proc.returncode not in ok_codes:
        err = proc.stderr.decode("utf-8", "replace").strip()[-STDERR_KEEP:]
        raise FirmwareError(f"{where}: {argv[0]} failed (exit {proc.returncode}): {err}")
    return proc
