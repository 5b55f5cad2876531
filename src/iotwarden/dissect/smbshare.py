"""Which SMB share a TREE_CONNECT names, kept only when the name is a system's, never a user's.

Administrative and system shares ([MS-SRVS] §2.2.2.4, STYPE_SPECIAL: IPC$ for named pipes, ADMIN$ for
remote administration, C$..Z$ a drive's root), PRINT$ (a print server's drivers), and the NETLOGON and
SYSVOL shares every Active Directory domain controller serves. Any other name was chosen by someone (a
user's home folder, a department's share, a NAS volume named after a person) and is kept only as the class
``user``.
"""

from __future__ import annotations

from typing import Any

SYSTEM_SHARES = {"IPC$": "ipc", "ADMIN$": "admin", "PRINT$": "print", "NETLOGON": "logon", "SYSVOL": "logon"}


def describe(path: str) -> dict[str, Any]:
    """``share`` (its name, upper case, when a system share; else None) and ``share_class`` of a
    ``\\\\server\\share`` path (a bare share name as well); {} when there is no share name."""
    name = path.rstrip("\\").rsplit("\\", 1)[-1].upper() if path else ""
    if not name:
        return {}
    if name in SYSTEM_SHARES:
        return {"share": name, "share_class": SYSTEM_SHARES[name]}
    if len(name) == 2 and name[1] == "$" and "A" <= name[0] <= "Z":
        return {"share": name, "share_class": "admin"}  # a drive's administrative share
    return {"share": None, "share_class": "user"}
