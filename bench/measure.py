"""Run one tool as a subprocess and measure it: wall time, CPU time and peak RSS from ``os.wait4``.

Tools start through ``rusage_wrap.py`` (see there why): it reports the tool's own peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WRAPPER = Path(__file__).resolve().parent / "rusage_wrap.py"


@dataclass
class Measurement:
    name: str
    mode: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # user + system (ru_utime + ru_stime): steadier than wall time on a busy host
    peak_rss_mib: float = 0.0
    returncode: int = 0
    result: dict[str, Any] = field(default_factory=dict)  # the JSON line the tool printed, if any
    note: str = ""


def run_measured(name: str, mode: str, cmd: list[str], *, timeout: float = 3600.0,
                 discard_stdout: bool = False, env: dict[str, str] | None = None) -> Measurement:
    """Run ``cmd`` (in ``env``, else this process's environment); stdout is parsed as one JSON object
    unless discarded. Peak RSS covers the process and the children it waited for (Linux ``wait4``
    semantics)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(WRAPPER), *cmd],
                                stdout=subprocess.DEVNULL if discard_stdout else out, stderr=err, env=env)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        proc.wait()
        timer.cancel()
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        err_lines = err.read().decode(errors="replace").strip().splitlines() or ["{}"]
        try:
            usage = json.loads(err_lines[-1])
        except json.JSONDecodeError:
            usage = {}
        m = Measurement(name, mode, usage.get("rusage_wall", elapsed), usage.get("rusage_cpu", 0.0),
                        usage.get("rusage_maxrss_kib", 0) / 1024, proc.returncode)
        text = out.read().decode(errors="replace").strip()
        if proc.returncode != 0:
            m.note = (err_lines[:-1] or ["failed"])[-1][:200]
        elif text and not discard_stdout:
            try:
                m.result = json.loads(text.splitlines()[-1])
            except json.JSONDecodeError:
                m.note = f"unexpected output: {text[-120:]}"
    return m
