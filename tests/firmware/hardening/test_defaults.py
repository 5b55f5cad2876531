"""Default credentials: a Mirai password hashed into /etc/shadow is found through the shipped base."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from iotwarden.firmware.extract.driver import UnpackedFile
from iotwarden.firmware.hardening import defaults
from iotwarden.firmware.hardening.base import Context
from iotwarden.model.finding import Finding


def test_default_credential_from_the_shipped_base_is_cracked(weak: dict[str, Finding]) -> None:
    found = weak["firmware.hardening.default_credentials"]
    assert found.evidence["accounts"] == [{"user": "root", "password": "x*****"}]  # admin's is not a default


@pytest.mark.parametrize(("setting", "units"), [
    ("abJnggxhB/yWI", 1), ("$1$abcdefgh$x", 1),  # DES, MD5
    ("$6$abcdefgh$x", 1), ("$5$rounds=5000$ab$x", 1), ("$6$rounds=10$ab$x", 1),  # below 1000: clamped up
    ("$6$rounds=656000$ab$x", 132), ("$6$rounds=999999999$ab$x", 200_000),
    ("$6$rounds=" + "9" * 40 + "$ab$x", 200_000),
    ("$2b$05$" + "a" * 53, 1), ("$2b$10$" + "a" * 53, 32), ("$2y$31$" + "a" * 53, 2**26),
    ("$sha1$100000$abcdefgh$x", 44), ("$sha1$4294967295$abcdefgh$x", 1_867_378),
    ("$y$j9T$abcdefgh$x", 10), ("$y$jET$abcdefgh$x", 320), ("$gy$jzT$abcdefgh$x", 10 * 2**52),
    ("$y$j9T..$abcdefgh$x", defaults.MAX_CRYPT_WORK + 1),  # a parameter form not read
    ("$7$CU..../....abcdefgh$x", 10), ("$7$zzzzzzzzzzzabcdefgh$x", defaults.MAX_CRYPT_WORK + 1),
    ("_J9..abcd", 1), ("_zzzzabcd", 3356),  # BSDi DES: the default 725 rounds, 2**24 - 1
])
def test_a_hash_costs_what_it_states(setting: str, units: int) -> None:
    assert defaults.guess_cost(setting) == units


@pytest.mark.timeout(60, method="thread")  # a hang is inside crypt(3), where no signal lands
def test_a_hash_stating_a_huge_cost_is_not_tried_and_the_others_still_are(tmp_path: Path) -> None:
    """The image is untrusted: one shadow line asking hours of crypt(3) a guess (sha1crypt at 2**32 - 1
    iterations, SHA-crypt at the most rounds, yescrypt at N = 2**26) hung the check; now the work budget
    (MAX_CRYPT_WORK) skips them and a default-cost hash of a default password is still found."""
    if defaults.crypt("x", "$1$abcdefgh$") is None:
        pytest.skip("no crypt(3) here")
    password = defaults.candidates("root")[0]
    shadow = tmp_path / "shadow"
    shadow.write_text("\n".join([
        "evil1:$sha1$4294967295$abcdefgh$x:19000:0:99999:7:::",
        "evil2:$6$rounds=999999999$abcdefgh$x:19000:0:99999:7:::",
        "evil3:$y$jPT$abcdefghijklmnop$x:19000:0:99999:7:::",
        f"root:{defaults.crypt(password, '$6$abcdefgh$')}:19000:0:99999:7:::",
    ]) + "\n")
    ctx = Context("firmware:x", [UnpackedFile("/etc/shadow", "/etc/shadow", shadow, shadow.stat().st_size, 0o600)])
    started = time.monotonic()
    found = defaults.run(ctx)
    assert time.monotonic() - started < 30
    masked = password[:1] + "*" * (len(password) - 1)
    assert [f.evidence["accounts"] for f in found] == [[{"user": "root", "password": masked}]]
