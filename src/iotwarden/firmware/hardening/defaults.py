"""Known default credentials: account hashes in /etc/shadow and /etc/passwd that match a password of
the shipped default-credential base (identity/credcheck), hashed with the system's crypt(3)
(libxcrypt: DES, MD5 ``$1$``, SHA-256 ``$5$``, SHA-512 ``$6$``, yescrypt ``$y$``, bcrypt ``$2b$``, SunMD5 ``$md5``)."""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import re
import threading
from functools import lru_cache

from iotwarden.firmware.hardening.accounts import accounts, is_hash
from iotwarden.firmware.hardening.base import Context, finding
from iotwarden.identity.credcheck.creds import load_default
from iotwarden.model.finding import Finding

DEFAULT_CREDENTIALS = "firmware.hardening.default_credentials"
CHECK_IDS = (DEFAULT_CREDENTIALS,)
MAX_HASHES_TRIED = 64  # account hashes tried per image
MAX_GUESSES_PER_HASH = 400  # passwords tried per hash (the whole shipped base is ~330 pairs)
# crypt(3) work per image, in units of one default SHA-512-crypt guess (5,000 rounds, ~1.6 CPU ms here): every hash
# tried at its full guesses at the default cost (MAX_HASHES_TRIED * MAX_GUESSES_PER_HASH). A hash states its own cost
# and the image is untrusted: '$6$rounds=999999999$' is ~330 s a guess, '$sha1$4294967295$' and
# '$md5,rounds=4294963199$' over an hour, bcrypt cost 31 or yescrypt 'jzT' days or all the memory; a hash gets the
# guesses the budget left pays for, none when one costs more (guess_cost), and a cost it cannot read (yescrypt's or
# scrypt's optional parameters) counts as over the budget.
MAX_CRYPT_WORK = MAX_HASHES_TRIED * MAX_GUESSES_PER_HASH
SHA_CRYPT_DEFAULT_ROUNDS = 5000  # SHA-crypt (Drepper, "Unix crypt using SHA-256 and SHA-512"): default, min 1000
SHA_CRYPT_MIN_ROUNDS, SHA_CRYPT_MAX_ROUNDS = 1000, 999_999_999
# The costs below are measured here (CPU time of libxcrypt 4.4, the best of several runs, against the unit), and
# tests/firmware/hardening/test_defaults.py checks each estimate against the real work within a factor of 3
SHA256_CRYPT_ROUND_COST = 1.5  # a SHA-256-crypt round costs ~1.25-1.55 SHA-512 ones (64-bit SHA-512 is faster)
BCRYPT_UNIT_COST = 5  # a bcrypt guess at cost 5 (2**5 key expansions) is about one unit; each step doubles it
SHA1_CRYPT_ITERATIONS_PER_UNIT = 1750  # NetBSD's $sha1$<iterations>$ (HMAC-SHA1 rounds): ~58 units at 100,000
SUNMD5_BASE_ROUNDS, SUNMD5_ROUNDS_PER_UNIT = 4096, 1170  # Sun's $md5[,rounds=N]$: 4096 + N MD5 rounds, ~3.4 units
SUNMD5_MAX_ROUNDS = 4_294_963_199  # libxcrypt refuses more (crypt-sunmd5.c)
YESCRYPT_UNIT_N_LOG2, YESCRYPT_UNIT_R, YESCRYPT_UNITS = 12, 32, 10  # '$y$j9T$' (N = 4096, r = 32): ~10 units
SCRYPT_UNITS = 20  # scrypt '$7$' at N = 4096, r = 32 ('$7$AU..../....'): ~20 units, twice yescrypt's
SCRYPT_DEFAULT_RP = "U..../...."  # libxcrypt's '$7$CU..../....' : r = 32, p = 1; N is 2**(char's index)
BSDI_DES_ROUNDS_PER_UNIT = 11_000  # BSDi '_' DES rounds: its most, 2**24 - 1 ('_zzzz'), ~1,500 units
_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # crypt(3)'s base-64 digits
_SHA_CRYPT = re.compile(r"^\$([56])\$(?:rounds=(\d+)\$)?")
_BCRYPT = re.compile(r"^\$2[abxy]?\$(\d{2})\$")
_SHA1_CRYPT = re.compile(r"^\$sha1\$(\d+)\$")
_YESCRYPT = re.compile(r"^\$g?y\$([./0-9A-Za-z]+)\$")
# Sun's '$md5,rounds=N$salt$', and '$md5$rounds=N$salt$': libxcrypt reads rounds= after either separator
_SUNMD5 = re.compile(r"^\$md5(?:[$,]rounds=(\d+))?[$,]")
_SCRYPT = re.compile(r"^\$7\$([./0-9A-Za-z])([./0-9A-Za-z]{10})")
_BSDI_DES = re.compile(r"^_([./0-9A-Za-z]{4})")
_lock = threading.Lock()  # crypt(3) returns a static buffer


@lru_cache(maxsize=1)
def _libcrypt() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("crypt")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib


def crypt(password: str, setting: str) -> str | None:
    """crypt(3) of ``password`` with the salt and scheme of ``setting``; None when unsupported."""
    lib = _libcrypt()
    if lib is None:
        return None
    with _lock:
        out: bytes | None = lib.crypt(password.encode("utf-8"), setting.encode("latin-1"))
    if not out or out.startswith(b"*"):  # libxcrypt's failure token
        return None
    return out.decode("latin-1")


def guess_cost(setting: str) -> int:
    """Work units one crypt(3) of ``setting`` takes (MAX_CRYPT_WORK), read from the cost it states: SHA-crypt's
    rounds (clamped as glibc and libxcrypt clamp them; SHA-256's dearer), bcrypt's cost, sha1crypt's iterations,
    SunMD5's rounds, yescrypt's N and r, scrypt's N, BSDi DES's count; DES, MD5 and the rest one. A stated cost not
    read is MAX_CRYPT_WORK + 1."""
    if m := _SHA_CRYPT.match(setting):
        digits = m.group(2)
        rounds = SHA_CRYPT_DEFAULT_ROUNDS if digits is None else (
            SHA_CRYPT_MAX_ROUNDS if len(digits) > 9 else int(digits))
        work = min(max(rounds, SHA_CRYPT_MIN_ROUNDS), SHA_CRYPT_MAX_ROUNDS) / SHA_CRYPT_DEFAULT_ROUNDS
        return math.ceil(work * (SHA256_CRYPT_ROUND_COST if m.group(1) == "5" else 1))
    if m := _SUNMD5.match(setting):
        rounds = 0 if m.group(1) is None else int(m.group(1)) if len(m.group(1)) <= 10 else SUNMD5_MAX_ROUNDS + 1
        if rounds > SUNMD5_MAX_ROUNDS:
            return MAX_CRYPT_WORK + 1  # refused by crypt(3) anyway
        return math.ceil((SUNMD5_BASE_ROUNDS + rounds) / SUNMD5_ROUNDS_PER_UNIT)
    if m := _BCRYPT.match(setting):
        return int(2 ** max(int(m.group(1)) - BCRYPT_UNIT_COST, 0))
    if m := _SHA1_CRYPT.match(setting):
        iterations = int(m.group(1)) if len(m.group(1)) <= 10 else 2**32
        return max(math.ceil(iterations / SHA1_CRYPT_ITERATIONS_PER_UNIT), 1)
    if m := _YESCRYPT.match(setting):
        params = m.group(1)  # flags, N, r; more (p, t, g, NROM) is a form not read here
        if len(params) != 3:
            return MAX_CRYPT_WORK + 1
        n_log2, r = _ITOA64.index(params[1]) + 1, _ITOA64.index(params[2]) + 1  # one digit each: 1 + its index
        return max(int(YESCRYPT_UNITS * 2.0 ** (n_log2 - YESCRYPT_UNIT_N_LOG2) * r / YESCRYPT_UNIT_R), 1)
    if setting.startswith("$7$"):
        m = _SCRYPT.match(setting)
        if m is None or m.group(2) != SCRYPT_DEFAULT_RP:
            return MAX_CRYPT_WORK + 1
        return max(int(SCRYPT_UNITS * 2.0 ** (_ITOA64.index(m.group(1)) - YESCRYPT_UNIT_N_LOG2)), 1)
    if m := _BSDI_DES.match(setting):  # 24-bit count of DES rounds, least significant digit first
        count = sum(_ITOA64.index(c) << (6 * i) for i, c in enumerate(m.group(1)))
        return max(math.ceil(count / BSDI_DES_ROUNDS_PER_UNIT), 1)
    return 1


def candidates(user: str) -> list[str]:
    """Passwords to try for ``user``: that user's default pairs first, then every other password."""
    creds = load_default()
    own = [c.password for c in creds if c.username == user]
    rest = [c.password for c in creds if c.username != user]
    return list(dict.fromkeys(own + rest))[:MAX_GUESSES_PER_HASH]


def run(ctx: Context) -> list[Finding]:
    if _libcrypt() is None:
        return []
    hits: dict[str, tuple[str, str]] = {}
    work = MAX_CRYPT_WORK
    for acc in [a for a in accounts(ctx) if is_hash(a.password)][:MAX_HASHES_TRIED]:
        cost = guess_cost(acc.password)
        guesses = candidates(acc.user)[: work // cost]
        work -= cost * len(guesses)
        for password in guesses:
            if crypt(password, acc.password) == acc.password:
                hits[f"{acc.path}:{acc.user}"] = (acc.user, password)
                break
    if not hits:
        return []
    return [
        finding(
            DEFAULT_CREDENTIALS,
            "Accounts use known default passwords",
            "critical",
            ctx,
            paths=sorted({k.rsplit(":", 1)[0] for k in hits}),
            accounts=[{"user": u, "password": p[:1] + "*" * (len(p) - 1)} for u, p in sorted(set(hits.values()))],
            remediation="Force a unique password per device at provisioning; never ship a default.",
            references=["https://cwe.mitre.org/data/definitions/1392.html"],
        )
    ]
