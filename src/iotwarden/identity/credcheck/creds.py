"""The default-credential base shipped with iotwarden (``data/default_credentials.csv``, see
``data/SOURCE.txt``): which username/password pairs to try against which service."""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

from iotwarden.errors import ConfigError

MAX_CREDENTIALS = 5000  # rows read from one credential file
MAX_FIELD_CHARS = 128  # a username or password longer than this is not a default credential


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str
    services: frozenset[str]  # "*" = any service
    source: str
    vendor: str = ""

    def applies_to(self, service: str) -> bool:
        return "*" in self.services or service in self.services


def parse(text: str) -> list[Credential]:
    """Credentials from CSV text with columns source, vendor, username, password, services."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"source", "vendor", "username", "password", "services"} - set(reader.fieldnames or ())
    if missing:
        raise ConfigError(f"credential file lacks columns: {', '.join(sorted(missing))}")
    out: list[Credential] = []
    seen: set[tuple[str, str, frozenset[str]]] = set()
    for row in reader:
        if len(out) >= MAX_CREDENTIALS:
            raise ConfigError(f"credential file has more than {MAX_CREDENTIALS} rows")
        user, password = row["username"] or "", row["password"] or ""
        if len(user) > MAX_FIELD_CHARS or len(password) > MAX_FIELD_CHARS or not user:
            continue
        services = frozenset((row["services"] or "*").split())
        key = (user, password, services)
        if key not in seen:
            seen.add(key)
            out.append(Credential(user, password, services, row["source"] or "", row["vendor"] or ""))
    return out


def load_default() -> list[Credential]:
    """The shipped base, Mirai's pairs first (the ones botnets actually try): a new list each call, the file
    read and parsed once per process (two analyzers of every default set ask for it, ~3 ms a parse)."""
    return list(_shipped())


@functools.cache
def _shipped() -> tuple[Credential, ...]:
    text = resources.files("iotwarden.identity.credcheck").joinpath("data/default_credentials.csv").read_text("utf-8")
    return tuple(parse(text))


def for_service(creds: list[Credential], service: str) -> list[Credential]:
    """The credentials worth trying on ``service``, each username/password pair once."""
    out, seen = [], set()
    for cred in creds:
        if cred.applies_to(service) and (cred.username, cred.password) not in seen:
            seen.add((cred.username, cred.password))
            out.append(cred)
    return out
