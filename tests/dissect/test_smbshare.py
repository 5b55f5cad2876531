"""Share names kept only when a system's ([MS-SRVS] §2.2.2.4 special shares, PRINT$, NETLOGON, SYSVOL)."""

from __future__ import annotations

import pytest

from iotwarden.dissect.smbshare import describe


@pytest.mark.parametrize(("path", "share", "kind"), [
    ("\\\\SRV\\IPC$", "IPC$", "ipc"), ("\\\\srv\\admin$", "ADMIN$", "admin"), ("\\\\10.0.0.5\\C$", "C$", "admin"),
    ("\\\\dc01.corp.example\\SYSVOL", "SYSVOL", "logon"), ("\\\\dc01\\netlogon", "NETLOGON", "logon"),
    ("\\\\printsrv\\print$", "PRINT$", "print"), ("\\\\nas\\home", None, "user"), ("\\\\nas\\CD$", None, "user"),
    ("\\\\nas\\j.doe\\", None, "user"), ("IPC$", "IPC$", "ipc"),
])
def test_system_shares_are_named_and_others_only_classed(path: str, share: str | None, kind: str) -> None:
    assert describe(path) == {"share": share, "share_class": kind}


def test_no_share_name_says_nothing() -> None:
    assert describe("") == {} and describe("\\\\srv\\") == {"share": None, "share_class": "user"}
