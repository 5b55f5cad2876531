"""respond/phases.py: a case's phases (NIST SP 800-61 Rev. 2 §3), defined once and read without the store."""

from __future__ import annotations

import subprocess
import sys

from iotwarden.respond import cases, engine, phases


def test_the_cases_and_the_engine_read_the_one_definition() -> None:
    assert cases.PHASES is phases.PHASES
    assert phases.PHASES == ("preparation", "detection_analysis", "containment_eradication_recovery", "post_incident")
    assert (cases.PREPARATION, cases.DETECTION, cases.CONTAINMENT, cases.POST_INCIDENT) == phases.PHASES
    assert set(engine.PHASE_OF.values()) <= set(phases.PHASES)


def test_reading_the_phases_imports_no_sqlalchemy() -> None:
    script = "import sys, iotwarden.respond.phases; print(sorted(m for m in sys.modules if m.startswith('sqlalchemy')))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
