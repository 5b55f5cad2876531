"""Credential primitives: argon2id password hashes, random secrets kept only as SHA-256, login throttling.

No I/O here; :mod:`iotwarden.api.accounts` stores what these functions produce.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = ("viewer", "analyst", "admin")  # each role can do what the ones before it can
# what an API token may be limited to; "ota:checkin" is the only scope a device's OTA token needs
# (ask for an update, report progress) and is granted alone, by an admin (api/routes/firmware.py)
SCOPES = ("read", "write", "admin", "ota:checkin")
ROLE_SCOPES = {"viewer": {"read"}, "analyst": {"read", "write"}, "admin": {"read", "write", "admin", "ota:checkin"}}
MIN_PASSWORD_LEN = 12  # NIST SP 800-63B §5.1.1.2 asks at least 8; a console of a security team asks more
MAX_PASSWORD_LEN = 1024  # argon2 hashes any length; bound the work a login request can cause
TOKEN_PREFIX = "iwt_"  # noqa: S105 - a marker, not a secret; marks our tokens in logs and secret scanners
SECRET_BYTES = 32  # 256-bit tokens, session ids and CSRF tokens

# RFC 9106 §4 second recommended option (64 MiB, t=3, p=4) is argon2-cffi's default profile
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id PHC string of ``password`` (random salt each time)."""
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches the stored hash; never raises on a damaged hash."""
    if len(password) > MAX_PASSWORD_LEN:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password, burnt on unknown usernames so a login takes as long whether the user
    exists or not. Made on first use, not at import (one argon2 hash, ~0.1 s): the API makes it when it
    starts (:func:`iotwarden.api.app.create_app`), so the first login for an unknown name costs what any
    other does."""
    return hash_password(secrets.token_urlsafe(16))


def password_problem(password: str) -> str | None:
    """Why ``password`` is refused, or None when acceptable."""
    if len(password) < MIN_PASSWORD_LEN:
        return f"password must have at least {MIN_PASSWORD_LEN} characters"
    if len(password) > MAX_PASSWORD_LEN:
        return f"password must have at most {MAX_PASSWORD_LEN} characters"
    if password.strip() != password or not password.strip():
        return "password must not start or end with spaces"
    return None


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def new_token() -> str:
    """A new API token (shown to its owner once; only :func:`digest` of it is stored)."""
    return TOKEN_PREFIX + new_secret()


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret: enough at rest (no dictionary to try, unlike passwords)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(slots=True)
class _Attempts:
    failures: list[float]
    locked_until: float = 0.0


class LoginThrottle:
    """Failed logins per (username, client address): after ``max_failures`` within ``window_s`` the
    pair is refused for ``lockout_s``. At most ``max_tracked`` pairs are remembered (least recently
    touched forgotten first), so a flood of guesses cannot grow memory without bound."""

    def __init__(self, *, max_failures: int = 5, window_s: float = 900.0, lockout_s: float = 900.0,
                 max_tracked: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_tracked = max_tracked
        self._table: OrderedDict[tuple[str, str], _Attempts] = OrderedDict()
        self._lock = threading.Lock()
        self.evicted = 0

    def retry_after(self, username: str, ip: str, now: float | None = None) -> float:
        """Seconds until this pair may try again (0: it may try now)."""
        now = time.time() if now is None else now
        with self._lock:
            entry = self._table.get((username.lower(), ip))
            return max(0.0, entry.locked_until - now) if entry else 0.0

    def failed(self, username: str, ip: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        key = (username.lower(), ip)
        with self._lock:
            entry = self._table.pop(key, None) or _Attempts([])
            entry.failures = [t for t in entry.failures if now - t < self.window_s][-self.max_failures:]
            entry.failures.append(now)
            if len(entry.failures) >= self.max_failures:
                entry.locked_until = now + self.lockout_s
                entry.failures.clear()
            self._table[key] = entry
            while len(self._table) > self.max_tracked:
                self._table.popitem(last=False)
                self.evicted += 1

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._table.pop((username.lower(), ip), None)

    def __len__(self) -> int:
        return len(self._table)
