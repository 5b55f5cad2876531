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
out["version_libraries"] = present("pydantic")

m._register(["firmware"])  # firmware analyze, sbom ...: the image tools, not the store, OTA or signing keys
out["firmware"] = present("sqlalchemy", "iotwarden.firmware.signing.golden", "iotwarden.firmware.signing.keys",
                          "iotwarden.firmware.ota.service", "cryptography")

m._register(["devices"])  # a store command shares cli/analyze.py's helpers, not the engine
out["devices"] = present("numpy", "iotwarden.services.analyze", "iotwarden.engine.core", "fastapi", "argon2")

import tempfile
from iotwarden.model import Device
from iotwarden.store import Store
from iotwarden.store.writer import merge_devices
with tempfile.TemporaryDirectory() as folder:  # a SQLite store opened and written: SQLite's dialect alone
    with Store(f"sqlite:///{folder}/s.db") as store, store.transaction() as session:
        merge_devices(session, [Device(key="mac:02:00:00:00:00:01", first_seen=1.0, last_seen=2.0)])
out["sqlite"] = present("sqlalchemy.dialects.postgresql")

m._register(["analyze"])  # the analyze command, its engine with every dissector and its analyzers
from iotwarden.addons import default_analyzers
from iotwarden.services.feed import new_engine
new_engine()
default_analyzers()
out["analyze"] = present("cryptography.x509", "fastapi", "argon2", "asyncssh")

from iotwarden.dissect import x509info
x509info.describe(b"not a certificate")  # the first certificate imports the parser
out["certificate"] = present("cryptography.x509")

import argon2  # a user command: FastAPI and the accounts, but no argon2 hash made by importing them
made = []
hash_password = argon2.PasswordHasher.hash
argon2.PasswordHasher.hash = lambda self, *a, **k: made.append(1) or hash_password(self, *a, **k)
m._register(["users"])
from iotwarden.api import accounts
out["accounts"] = len(made)
argon2.PasswordHasher.hash = hash_password

print(json.dumps(out))
"""

# a fresh interpreter: the stages above import the engine and numpy, which listing the commands must not
HELP = r"""
import json, sys
import iotwarden.cli.main as m
m._register([])  # every command module: what --help lists
print(json.dumps(sorted(n for n in (
    "fastapi", "argon2", "asyncssh", "nats", "iotwarden.api", "iotwarden.lab.generator",
    "numpy", "iotwarden.engine.core", "iotwarden.services.analyze", "iotwarden.services.monitor",
    "iotwarden.services.sensor", "iotwarden.report.html", "sqlalchemy.dialects.postgresql",
    "iotwarden.identity.estserver", "asn1crypto", "iotwarden.firmware.ota.service", "cryptography",
    "iotwarden.firmware.signing.cose", "iotwarden.services.inventory") if n in sys.modules)))
"""


# a fresh interpreter: a group's help, and a command's, as people and scripts ask for them
GROUP_HELP = r"""
import contextlib, io, json, sys
import iotwarden.cli.main as m
asked = [["identity", "--help"], ["identity", "list", "--help"], ["devices", "--help"], ["analyze", "--help"]]
with contextlib.redirect_stdout(io.StringIO()) as printed:
    codes = [m.main(args) for args in asked]
print(json.dumps({"codes": codes, "usage": printed.getvalue().count("Usage: iotwarden "), "imported": sorted(
    n for n in ("pydantic", "cryptography", "iotwarden.identity.ca", "iotwarden.identity.keystore", "sqlalchemy",
                "iotwarden.store.db", "iotwarden.services.inventory", "iotwarden.kb.taxonomy") if n in sys.modules)}))
"""


# a fresh interpreter: the root's --help, which imports every command module to list them
ROOT_HELP = r"""
import contextlib, io, json, sys
import iotwarden.cli.main as m
with contextlib.redirect_stdout(io.StringIO()) as printed:
    code = m.main(["--help"])
text = printed.getvalue()
listed = all(name in text for name in ("alerts", "findings", "monitor", "policy", "cases", "sensor", "users"))
print(json.dumps({"code": code, "usage": text.count("Usage: iotwarden "), "lists": listed, "imported": sorted(
    n for n in ("sqlalchemy", "iotwarden.store.db", "iotwarden.store.schema", "iotwarden.respond.cases",
                "iotwarden.respond.engine", "iotwarden.policy.observed", "iotwarden.inventory.classifier",
                "asyncio", "iotwarden.bus.jetstream", "iotwarden.bus.inprocess")
    if n in sys.modules)}))
"""


def _run(script: str) -> object:
    """What ``script``, run in a fresh interpreter, printed last (JSON)."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def imported() -> dict[str, object]:
    """Stage -> the modules of interest that the stage found imported."""
    result = _run(STAGES)
    assert isinstance(result, dict)
    return result


def test_version_imports_no_command_module(imported: dict[str, object]) -> None:
    from iotwarden import __version__

    assert imported["version"] == {"code": 0, "printed": __version__, "imported": []}


def test_version_imports_no_pydantic(imported: dict[str, object]) -> None:
    """typer coerces an unset --help (None) through a pydantic TypeAdapter; cli/main.py's HELP_UNSET makes it
    False, a flag's bool, which typer takes as it is."""
    assert imported["version_libraries"] == []


def test_a_group_s_help_and_a_command_s_help_import_neither_pydantic_cryptography_nor_the_store() -> None:
    """The identity options show identity/defaults.py's values; the CA, keys, CRL and Mosquitto modules
    (cryptography) are imported by the commands that use them. The store (SQLAlchemy) and the inventory
    service (classifier, taxonomy) are imported when a command opens its store; the defaults the options
    show (--max-probe-flows, --limit) are in store/limits.py."""
    assert _run(GROUP_HELP) == {"codes": [0, 0, 0, 0], "usage": 4, "imported": []}


def test_the_firmware_commands_import_neither_the_store_nor_the_ota_service_nor_the_keys(
        imported: dict[str, object]) -> None:
    """Only the commands that read the store, sign or verify import it (``firmware analyze`` reads an image)."""
    assert imported["firmware"] == []


def test_a_store_command_imports_neither_the_engine_nor_the_api(imported: dict[str, object]) -> None:
    assert imported["devices"] == []


def test_analyze_imports_the_certificate_parser_with_the_first_certificate(imported: dict[str, object]) -> None:
    assert imported["analyze"] == []
    assert imported["certificate"] == ["cryptography.x509"]


def test_a_sqlite_store_loads_no_postgresql_dialect(imported: dict[str, object]) -> None:
    """The writer's upserts import their dialect's INSERT when used, and the trigram indexes (PostgreSQL
    only) are declared when a PostgreSQL store opens: declaring them loads that dialect (~70 ms CPU)."""
    assert imported["sqlite"] == []


def test_importing_the_accounts_makes_no_password_hash(imported: dict[str, object]) -> None:
    """The dummy hash burnt on unknown names (one argon2 hash, ~0.1 s) is made on first use, not at import."""
    assert imported["accounts"] == 0


def test_listing_the_commands_imports_neither_the_engine_nor_the_api_nor_ssh_nats_or_the_lab_generator() -> None:
    """--help imports every command module: none imports at its top the engine (monitor, sensor: their
    services), numpy (report's page), the PostgreSQL dialect, the EST server (asn1crypto) or the OTA
    service, nor FastAPI, argon2, asyncssh, nats-py or the lab generator, nor cryptography (the identity
    CA, the response engine's revocation, the SUIT codec's COSE signatures import it when used), nor the
    inventory service (devices, flows, inventory, stats, demo import it when they run)."""
    assert _run(HELP) == []


def test_the_root_help_imports_neither_the_store_nor_the_response_engine_nor_the_classifier() -> None:
    """alerts, findings, monitor, policy, respond (playbooks, cases, actions), sensor and users import the store's
    tables, the response modules and the policy's traffic reader in the commands that use them; the defaults their
    options show are in store/limits.py (findings --limit) and respond/phases.py (cases note --phase). Nor asyncio
    (~11 ms): sensor and worker import the NATS link (bus/jetstream.py) when they run, the bus package its in-process
    bus when named, and --outage-limit's default is in bus/limits.py."""
    assert _run(ROOT_HELP) == {"code": 0, "usage": 1, "lists": True, "imported": []}
