"""Accounts in /etc/passwd and /etc/shadow: password hashes shipped in the image and accounts with an
empty password (passwd(5), shadow(5))."""

from __future__ import annotations

from dataclasses import dataclass

from iotwarden.firmware.hardening.base import Context, finding
from iotwarden.model.finding import Finding

SHADOW_HASH = "firmware.hardening.shadow_hash"
EMPTY_PASSWORD = "firmware.hardening.empty_password"  # noqa: S105 - a check id, not a password
CHECK_IDS = (SHADOW_HASH, EMPTY_PASSWORD)
MAX_ACCOUNTS = 1000  # lines read from one passwd or shadow file
LOCKED = ("*", "!", "!!", "x")  # shadow(5): "!" or "*" prefix = locked; "x" in passwd = see shadow


@dataclass(frozen=True, slots=True)
class Account:
    path: str
    user: str
    password: str  # field 2: crypt(3) hash, "" (no password), "x", "*", "!..."


def accounts(ctx: Context) -> list[Account]:
    out: list[Account] = []
    for f in ctx.named("/etc/shadow", "/etc/passwd", "/etc/shadow-", "/etc/passwd-"):
        for line in ctx.text(f).splitlines()[:MAX_ACCOUNTS]:
            fields = line.split(":")
            if len(fields) >= 2 and fields[0] and not line.startswith("#"):
                out.append(Account(f.path, fields[0], fields[1]))
    return out


def is_hash(password: str) -> bool:
    """A usable crypt(3) hash: not empty, not a lock or shadow marker."""
    return bool(password) and password not in LOCKED and not password.startswith(("!", "*"))


def run(ctx: Context) -> list[Finding]:
    accs = accounts(ctx)
    out: list[Finding] = []
    hashed = [a for a in accs if is_hash(a.password)]
    if hashed:
        out.append(
            finding(
                SHADOW_HASH,
                "Password hashes are shipped in the image",
                "medium",
                ctx,
                paths=sorted({a.path for a in hashed}),
                accounts=sorted({a.user for a in hashed}),
                schemes=sorted({a.password.split("$")[1] if a.password.startswith("$") else "des" for a in hashed}),
                remediation="Ship accounts locked and set per-device credentials at provisioning.",
                references=["https://cwe.mitre.org/data/definitions/798.html"],
            )
        )
    empty = [a for a in accs if a.password == ""]
    if empty:
        out.append(
            finding(
                EMPTY_PASSWORD,
                "Accounts with an empty password",
                "critical",
                ctx,
                paths=sorted({a.path for a in empty}),
                accounts=sorted({a.user for a in empty}),
                remediation='Lock the accounts ("*" or "!" in the password field) or require a password.',
                references=["https://cwe.mitre.org/data/definitions/258.html"],
            )
        )
    return out
