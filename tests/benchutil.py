"""Scripts of bench/ loaded as modules, for the tests that pin their logic."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "bench"


def bench_module(name: str) -> ModuleType:
    """bench/``name``.py loaded as the module ``name``, registered in sys.modules (its dataclasses look it up there),
    with bench/ on sys.path while it loads, so a script that imports a sibling (fingerprint_eval imports
    sweep_inputs) loads as it does when run."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))
