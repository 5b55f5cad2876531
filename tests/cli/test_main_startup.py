"""Start-up of the command: what a run imports before it needs it (issue 4, start-up of analyze).

Each heavy library below is imported where it is used, not when the command's modules load; these tests
pin that, so that a top-level import added later cannot bring one back silently. One fresh interpreter
walks the stages in order (each stage only adds modules), so the whole check costs one start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

STAGES = r"""
import contextlib, io, json, sys

def present(*names):
    return sorted(n for n in names if n in sys.modules)

out = {}
import iotwarden.cli.main as m
with contextlib.redirect_stdout(io.StringIO()) as printed:
    code = m.main(["--version"])
out["version"] = {"code": code, "printed": printed.getvalue().strip(),
                  "imported": sorted(n for n in sys.modules if n.startswith("iotwarden.cli.") and n != m.__name__)}

m._register(["devices"])  # a store command shares cli/analyze.py's helpers, not the engine
out["devices"] = present("numpy", "iotwarden.services.analyze", "iotwarden.engine.core", "fastapi", "argon2")

m._register(["analyze"])  # the analyze command, its engine with every dissector and its analyzers
from iotwarden.addons import default_analyzers
from iotwarden.services.feed import new_engine
new_engine()
default_analyzers()
out["analyze"] = present("cryptography.x509", "fastapi", "argon2", "asyncssh")

from iotwarden.dissect import x509info
x509info.describe(b"not a certificate")  # the first certificate imports the parser
out["certificate"] = present("cryptography.x509")

m._register([])  # every command module: what --help lists
out["help"] = present("fastapi", "argon2", "asyncssh", "nats", "iotwarden.api", "iotwarden.lab.generator")
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, object]:
    """Stage -> the modules of interest that the stage found imported."""
    done = subprocess.run([sys.executable, "-c", STAGES], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_version_imports_no_command_module(imported: dict[str, object]) -> None:
    from iotwarden import __version__

    assert imported["version"] == {"code": 0, "printed": __version__, "imported": []}


def test_a_store_command_imports_neither_the_engine_nor_the_api(imported: dict[str, object]) -> None:
    assert imported["devices"] == []


def test_analyze_imports_the_certificate_parser_with_the_first_certificate(imported: dict[str, object]) -> None:
    assert imported["analyze"] == []
    assert imported["certificate"] == ["cryptography.x509"]


def test_listing_the_commands_imports_neither_the_api_nor_ssh_nor_nats_nor_the_lab_generator(
        imported: dict[str, object]) -> None:
    assert imported["help"] == []
