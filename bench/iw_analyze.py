"""``iotwarden analyze`` as the CLI runs it, optionally without the detectors and the alert pipeline.

    python bench/iw_analyze.py [--no-detectors] FILE --db DB ...   (the rest goes to ``iotwarden analyze``)

With ``--no-detectors`` the analyzer registry (``iotwarden.addons.DEFAULT_ANALYZERS``) is used minus
``iotwarden.detect.DETECTORS`` and the pipeline, so the two runs differ only by detection.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


def analyzers_without_detectors() -> list[Any]:
    from iotwarden.addons import DEFAULT_ANALYZERS
    from iotwarden.detect import DETECTORS, PIPELINE

    skip = {*DETECTORS, PIPELINE}
    out = []
    for spec in DEFAULT_ANALYZERS:
        if spec not in skip:
            module_name, class_name = spec.split(":")
            out.append(getattr(importlib.import_module(module_name), class_name)())
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["--no-detectors"]:
        import iotwarden.services.analyze as service

        service.default_analyzers = analyzers_without_detectors  # the name analyze._run looks up
        argv = argv[1:]
    from iotwarden.cli.main import main as cli

    return int(cli(["analyze", *argv]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
