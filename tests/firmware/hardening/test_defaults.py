"""Default credentials: a Mirai password hashed into /etc/shadow is found through the shipped base."""

from __future__ import annotations

import math
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
    ("$6$abcdefgh$x", 1), ("$5$rounds=5000$ab$x", 2), ("$6$rounds=10$ab$x", 1),  # below 1000: clamped up
    ("$6$rounds=656000$ab$x", 132), ("$6$rounds=999999999$ab$x", 200_000), ("$5$rounds=999999999$ab$x", 300_000),
    ("$6$rounds=" + "9" * 40 + "$ab$x", 200_000),
    ("$2b$05$" + "a" * 53, 1), ("$2b$10$" + "a" * 53, 32), ("$2y$31$" + "a" * 53, 2**26),
    ("$sha1$100000$abcdefgh$x", 58), ("$sha1$4294967295$abcdefgh$x", 2_454_268),
    ("$md5$abcdefgh$x", 4), ("$md5,rounds=50000$abcdefgh$x", 47), ("$md5,rounds=4294963199$ab$x", 3_670_913),
    ("$md5,rounds=4294963200$ab$x", defaults.MAX_CRYPT_WORK + 1),  # past libxcrypt's most: refused
    # libxcrypt reads rounds= after '$md5$' as after '$md5,' (crypt-sunmd5.c): the same work, the same cost
    ("$md5$rounds=50000$abcdefgh$x", 47), ("$md5$rounds=4294963199$ab$x", 3_670_913),
    ("$md5$rounds=4294963200$ab$x", defaults.MAX_CRYPT_WORK + 1),
    ("$y$j9T$abcdefgh$x", 10), ("$y$jET$abcdefgh$x", 320), ("$gy$jzT$abcdefgh$x", 10 * 2**52),
    ("$y$j9/$abcdefgh$x", 1), ("$y$j9D$abcdefgh$x", 5),  # r = 2, 16: memory and time go with r
    ("$y$j9T..$abcdefgh$x", defaults.MAX_CRYPT_WORK + 1),  # a parameter form not read
    ("$7$CU..../....abcdefgh$x", 80), ("$7$zzzzzzzzzzzabcdefgh$x", defaults.MAX_CRYPT_WORK + 1),
    ("_J9..abcd", 1), ("_zzzzabcd", 1526),  # BSDi DES: the default 725 rounds, 2**24 - 1
])
def test_a_hash_costs_what_it_states(setting: str, units: int) -> None:
    assert defaults.guess_cost(setting) == units


# settings that cost 10-50 ms a guess, one per scheme and cost parameter guess_cost reads
MEASURED = ["$5$rounds=20000$abcdefgh$", "$6$rounds=30000$abcdefgh$", "$2b$07$" + "a" * 22, "$y$j9T$abcdefgh$",
            "$y$jA5$abcdefgh$", "$7$AU..../....abcdefgh$", "$sha1$30000$abcdefgh$", "$md5,rounds=20000$abcdefgh$",
            "_.zz.abcd", "$md5$abcdefgh$", "$md5$rounds=20000$abcdefgh$"]


def _cpu_s(setting: str, tries: int = 3) -> float:
    """CPU seconds of one crypt(3) of ``setting``: the best of ``tries`` (CPU time, so other processes barely count)."""
    best = math.inf
    for _ in range(tries):
        started = time.process_time()
        defaults.crypt("password", setting)
        best = min(best, time.process_time() - started)
    return best


def test_each_schemes_estimate_is_within_3x_of_its_measured_work() -> None:
    """guess_cost's units against crypt(3) itself: each scheme's cost parameter (SHA-crypt's rounds, SHA-256's
    dearer round, bcrypt's cost, yescrypt's N and r, scrypt's N, sha1crypt's iterations, SunMD5's rounds, BSDi's
    count) priced in default SHA-512-crypt guesses, within a factor of 3 either way."""
    if defaults.crypt("x", "$6$abcdefgh$") is None:
        pytest.skip("no crypt(3) here")
    unit = _cpu_s("$6$abcdefgh$", tries=15)
    for setting in MEASURED:
        if defaults.crypt("x", setting) is None:
            continue  # a scheme this libxcrypt was built without
        measured, estimated = _cpu_s(setting) / unit, defaults.guess_cost(setting)
        assert measured / 3 <= estimated <= measured * 3, (setting, round(measured, 1), estimated)


@pytest.mark.timeout(60, method="thread")  # a hang is inside crypt(3), where no signal lands
def test_a_hash_stating_a_huge_cost_is_not_tried_and_the_others_still_are(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The image is untrusted: one shadow line asking hours of crypt(3) a guess (sha1crypt at 2**32 - 1
    iterations, SHA-crypt at the most rounds, yescrypt at N = 2**26, SunMD5 at the most rounds) hung the check; now
    the work budget (MAX_CRYPT_WORK) skips them before any crypt(3) of theirs and a default-cost hash of a default
    password is still found."""
    if defaults.crypt("x", "$1$abcdefgh$") is None:
        pytest.skip("no crypt(3) here")
    password = defaults.candidates("root")[0]
    shadow = tmp_path / "shadow"
    shadow.write_text("\n".join([
        "evil1:$sha1$4294967295$abcdefgh$x:19000:0:99999:7:::",
        "evil2:$6$rounds=999999999$abcdefgh$x:19000:0:99999:7:::",
        "evil3:$y$jPT$abcdefghijklmnop$x:19000:0:99999:7:::",
        "evil4:$md5,rounds=4294963199$abcdefgh$x:19000:0:99999:7:::",  # ~6,000 s a guess: estimated 1 until now
        "evil5:$5$rounds=999999999$abcdefgh$x:19000:0:99999:7:::",
        "evil6:$md5$rounds=4294963199$abcdefgh$x:19000:0:99999:7:::",  # SunMD5's other spelling of its rounds
        f"root:{defaults.crypt(password, '$6$abcdefgh$')}:19000:0:99999:7:::",
    ]) + "\n")
    ctx = Context("firmware:x", [UnpackedFile("/etc/shadow", "/etc/shadow", shadow, shadow.stat().st_size, 0o600)])
    hashed: list[str] = []
    real_crypt = defaults.crypt

    def crypt(password: str, setting: str) -> str | None:
        hashed.append(setting)
        return real_crypt(password, setting)

    monkeypatch.setattr(defaults, "crypt", crypt)
    started = time.monotonic()
    found = defaults.run(ctx)
    assert time.monotonic() - started < 30
    assert hashed and not [s for s in hashed if not s.startswith("$6$abcdefgh$")]  # no guess at a hostile cost
    masked = password[:1] + "*" * (len(password) - 1)
    assert [f.evidence["accounts"] for f in found] == [[{"user": "root", "password": masked}]]
