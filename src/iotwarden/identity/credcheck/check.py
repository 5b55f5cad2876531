"""The credential check: for one in-scope target, try the default credentials for its service under
the rate limit and turn a successful login into a finding (``identity.creds.default``), or an MQTT
broker that admits anonymous clients into ``identity.creds.mqtt_anonymous``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from iotwarden.identity.credcheck import creds, http, mqtt, ssh, telnet
from iotwarden.identity.credcheck.creds import Credential
from iotwarden.identity.credcheck.scope import DEFAULT_MAX_ATTEMPTS, RateLimiter, Scope, Target
from iotwarden.model.finding import Finding

DEFAULT_CREDS, MQTT_ANONYMOUS = "identity.creds.default", "identity.creds.mqtt_anonymous"
DEFAULT_TIMEOUT_S = 5.0  # per connection attempt
_REFS = ["CWE-1392: Use of Default Credentials", "OWASP IoT Top 10 2018 I1"]

LoginFn = Callable[..., bool]
_LOGIN: dict[str, LoginFn] = {"telnet": telnet.try_login, "ssh": ssh.try_login, "http": http.try_login,
                              "mqtt": mqtt.try_login}


@dataclass(slots=True)
class CheckResult:
    target: Target
    attempts: int = 0
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # why the check stopped early (unreachable, no Basic challenge...)


def _mask(password: str) -> str:
    return "(empty)" if not password else password[0] + "*" * (len(password) - 1)


class CredentialChecker:
    """Checks targets one by one; ``scope.admit`` runs before any socket is created."""

    def __init__(self, scope: Scope, *, limiter: RateLimiter | None = None,
                 credentials: list[Credential] | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                 timeout: float = DEFAULT_TIMEOUT_S, http_path: str = "/",
                 clock: Callable[[], float] = time.time) -> None:
        self.scope = scope
        self.limiter = limiter or RateLimiter(max_attempts=max_attempts)
        self.credentials = credentials if credentials is not None else creds.load_default()
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.http_path = http_path
        self.clock = clock

    def check(self, target: Target) -> CheckResult:
        """Try the default credentials on ``target``; raises OutOfScope before any I/O if refused."""
        self.scope.admit(target)
        result = CheckResult(target)
        try:
            if target.service == "http" and not http.basic_challenge(
                    target.host, target.port, path=self.http_path, timeout=self.timeout):
                result.error = f"no HTTP Basic challenge at {self.http_path}"
                return result
            if target.service == "mqtt":
                self.limiter.acquire(target.host)
                result.attempts += 1
                if mqtt.connack_code(target.host, target.port, None, None, timeout=self.timeout) == mqtt.ACCEPTED:
                    result.findings.append(self._finding(MQTT_ANONYMOUS, target, None))
                    return result
            login = _LOGIN[target.service]
            extra = {"path": self.http_path} if target.service == "http" else {}
            for cred in creds.for_service(self.credentials, target.service)[: self.max_attempts]:
                self.limiter.acquire(target.host)
                result.attempts += 1
                if login(target.host, target.port, cred.username, cred.password, timeout=self.timeout, **extra):
                    result.findings.append(self._finding(DEFAULT_CREDS, target, cred))
                    return result
        except OSError as exc:
            result.error = str(exc) or type(exc).__name__
        return result

    def _finding(self, fid: str, target: Target, cred: Credential | None) -> Finding:
        now = self.clock()
        evidence: dict[str, object] = {"host": target.host, "port": target.port, "service": target.service}
        if cred is None:
            title = "MQTT broker accepts clients without credentials"
            remediation = "Set allow_anonymous false and require client certificates or passwords."
        else:
            title = f"{target.service.upper()} service accepts a default credential"
            remediation = "Change the default password, or disable the service if it is not needed."
            evidence.update(username=cred.username, password=_mask(cred.password), source=cred.source)
        return Finding(fid, title, "critical" if cred and target.service in ("telnet", "ssh") else "high",
                       target.device_key or f"ip:{target.host}", evidence, remediation, list(_REFS), now, now)
