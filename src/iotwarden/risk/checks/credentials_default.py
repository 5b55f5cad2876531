"""risk.credentials.default: a cleartext login (Telnet, FTP, RTSP Basic or a password in an rtsp:// URI)
with a username/password pair from the default-credential base, Mirai's list included (the base of
:mod:`iotwarden.identity.credcheck.creds`)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.identity.credcheck.creds import load_default
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check

# how bad, by the login's outcome as the dissector read the server's answer
SEVERITY_BY_RESULT: dict[str, Severity] = {"success": "critical", "unknown": "high", "failure": "low"}


class DefaultCredentials(Check):
    """The server logged into. Critical when the login with a default pair succeeded, high when the
    outcome is unknown, low when the server refused it (someone tried; the device may still be fine).
    Evidence names the pair: by definition it is a published default, not a secret of this site."""

    id: ClassVar[str] = "risk.credentials.default"
    title: ClassVar[str] = "Login with a default username and password"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = ("Change the password of this account now (assume the device is compromised if "
                                  "the login succeeded: Mirai-style botnets use this exact list), disable the "
                                  "cleartext service, and check the device for unknown processes and accounts.")
    references: ClassVar[tuple[str, ...]] = (ref.ETSI_NO_DEFAULT_PASSWORDS, ref.NIST_LOGICAL_ACCESS,
                                             ref.CWE_DEFAULT_CREDENTIALS, ref.CWE_WEAK_CREDENTIALS,
                                             "https://github.com/jgamblin/Mirai-Source-Code (bot/scanner.c)")
    protos: ClassVar[frozenset[str]] = frozenset({"telnet", "ftp", "rtsp"})  # their login_attempt kinds

    def __init__(self) -> None:
        super().__init__()
        self.pairs: dict[tuple[str, str], set[str]] = {}
        for cred in load_default():
            self.pairs.setdefault((cred.username, cred.password), set()).add(cred.source)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "login_attempt":
            return
        user, password = obs.fields.get("username"), obs.fields.get("password")
        if not isinstance(user, str) or not isinstance(password, str):
            return
        sources = self.pairs.get((user, password))
        if sources is None:
            return
        result = str(obs.fields.get("result") or "unknown")
        self.hit_subject(obs, SEVERITY_BY_RESULT.get(result, "high"), credentials=f"{user}:{password}",
                         lists=sorted(sources), services=obs.proto, login_results=result,
                         clients=obs.peer_ip or "")
