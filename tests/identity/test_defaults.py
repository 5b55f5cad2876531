"""identity/defaults.py: what the identity commands show, defined once and read by the modules that use it."""

from __future__ import annotations

import subprocess
import sys

from iotwarden.identity import crl, defaults, keystore, lifecycle, mosquitto, profiles


def test_each_module_reads_the_one_definition() -> None:
    assert keystore.ALGORITHMS is defaults.ALGORITHMS
    assert keystore.DEFAULT_ALGORITHM == defaults.DEFAULT_ALGORITHM in defaults.ALGORITHMS
    assert profiles.LEAF_PROFILES is defaults.LEAF_PROFILES
    assert (lifecycle.DEFAULT_TOKEN_HOURS, lifecycle.DEFAULT_REMIND_DAYS) == (24.0, 14)
    assert crl.DEFAULT_VALIDITY_HOURS == defaults.DEFAULT_VALIDITY_HOURS == 24
    assert mosquitto.DEFAULT_PORT == defaults.DEFAULT_PORT == 8883  # IANA secure-mqtt


def test_the_leaf_profiles_are_the_profiles_that_certify_no_ca() -> None:
    assert set(defaults.LEAF_PROFILES) == {name for name, p in profiles.PROFILES.items() if not p.is_ca}
    for name in defaults.LEAF_PROFILES:
        assert profiles.get(name).name == name


def test_reading_the_defaults_imports_no_cryptography() -> None:
    script = "import sys, iotwarden.identity.defaults; print(sorted(m for m in sys.modules if 'cryptography' in m))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
