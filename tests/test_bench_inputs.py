"""Where the bench scripts read the shared data: IOTWARDEN_SHARED_DATA, as tests/conftest.py honours it, else
../shared/data beside the checkout (bench/sweep_inputs.SHARED_DATA, which classify_eval.py, firmware.py and the
capture sweeps take their paths from)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# each bench script's path to the shared data, printed by a fresh interpreter (the module reads the variable on import)
PROBE = """
import json, sys
sys.path.insert(0, "bench")
import classify_eval, firmware, qa_captures, resegment, sweep_inputs
names = {"sweep_inputs": ("SHARED_DATA", "PCAPS"), "classify_eval": ("SHARED",), "firmware": ("SHARED",),
         "qa_captures": ("PCAPS",), "resegment": ("PCAPS",)}
print(json.dumps({f"{m}.{a}": str(getattr(sys.modules[m], a, None)) for m, attrs in names.items() for a in attrs}))
"""


def bench_paths(shared: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "IOTWARDEN_SHARED_DATA"}
    if shared is not None:
        env["IOTWARDEN_SHARED_DATA"] = shared
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bench_scripts_read_the_shared_data_where_the_environment_says(tmp_path: Path) -> None:
    paths = bench_paths(str(tmp_path))
    assert paths["sweep_inputs.SHARED_DATA"] == str(tmp_path)
    assert paths["firmware.SHARED"] == str(tmp_path)
    for name in ("sweep_inputs.PCAPS", "classify_eval.SHARED", "qa_captures.PCAPS", "resegment.PCAPS"):
        assert paths[name] == str(tmp_path / "pcaps"), name


def test_without_the_variable_they_read_shared_data_beside_the_checkout() -> None:
    paths = bench_paths(None)
    assert paths["sweep_inputs.SHARED_DATA"] == str(REPO.parent / "shared" / "data")
    assert paths["classify_eval.SHARED"] == str(REPO.parent / "shared" / "data" / "pcaps")


def test_a_capture_sweep_that_finds_no_capture_fails_instead_of_comparing_as_unchanged(tmp_path: Path) -> None:
    """A worktree without ../shared gave an empty run, which bench/qa_captures.py diff then read as 'no difference'
    (or failed dividing by its zero CPU)."""
    out = subprocess.run([sys.executable, "bench/qa_captures.py", "run", str(tmp_path / "run.jsonl"), "--pcaps",
                          str(tmp_path)], cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 2 and f"no capture under {tmp_path}" in out.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"total": True, "files": 0, "cpu_s": 0.0, "wall_s": 0.0}) + "\n")
    diff = subprocess.run([sys.executable, "bench/qa_captures.py", "diff", str(empty), str(empty)], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=120)
    assert diff.returncode == 0 and "Traceback" not in diff.stderr


def classify_eval(shared: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IOTWARDEN_SHARED_DATA": str(shared)}
    return subprocess.run([sys.executable, "bench/classify_eval.py", "--quiet", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False, timeout=300)


def test_an_accuracy_run_that_finds_no_real_capture_fails_instead_of_reporting_the_lab_alone(tmp_path: Path) -> None:
    """Without ../shared, classify_eval.py skipped every real capture and printed a summary of the lab scenarios
    alone, with rc 0, which read like a whole evaluation."""
    for args in ((), ("--only", "real")):
        out = classify_eval(tmp_path, *args)
        assert out.returncode == 2, (args, out.stderr)
        assert f"none of the 13 labelled real captures is under {tmp_path / 'pcaps'}" in out.stderr
        assert "all lab" not in out.stdout


def test_an_accuracy_run_names_the_real_captures_it_could_not_evaluate(tmp_path: Path) -> None:
    capture = "ics_iti/pcaps/s7/s7comm_reading_plc_status.pcap"
    source = Path(os.environ.get("IOTWARDEN_SHARED_DATA", REPO.parent / "shared" / "data")) / "pcaps" / capture
    if not source.is_file():
        pytest.skip(f"{source} is not here")
    (tmp_path / "pcaps" / capture).parent.mkdir(parents=True)
    (tmp_path / "pcaps" / capture).symlink_to(source)
    out = classify_eval(tmp_path, "--only", "real")
    assert out.returncode == 0, out.stderr
    assert "all real                   1" in out.stdout
    warning = next(line for line in out.stdout.splitlines() if line.startswith("warning:"))
    assert warning.startswith(f"warning: 12 of 13 labelled real captures missing under {tmp_path / 'pcaps'}")
    assert "blink-cam-01" in warning and "s7 (reading PLC status)" not in warning
