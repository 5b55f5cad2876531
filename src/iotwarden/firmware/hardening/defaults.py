"""Known default credentials: account hashes in /etc/shadow and /etc/passwd that match a password of
the shipped default-credential base (identity/credcheck), hashed with the system's crypt(3)
(libxcrypt: DES, MD5 ``$1$``, SHA-256 ``$5$``, SHA-512 ``$6$``, yescrypt ``$y$``, bcrypt ``$2b$``)."""

from __future__ import annotations

import ctypes
import ctypes.util
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
    for acc in [a for a in accounts(ctx) if is_hash(a.password)][:MAX_HASHES_TRIED]:
        for password in candidates(acc.user):
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
