"""The golden-hash registry: the SHA-256 of every known-good image per model and version, and the
check of a hash a device reports (match, mismatch with what is expected, or unknown version)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select

from iotwarden.errors import FirmwareError
from iotwarden.store.db import Store
from iotwarden.store.firmware_ota_models import MODEL_LEN, VERSION_LEN, GoldenHashRow

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_HASHES_PER_VERSION = 64  # known-good builds kept for one model and version (regional variants, re-signs)
Status = Literal["match", "mismatch", "unknown"]


@dataclass(frozen=True, slots=True)
class GoldenCheck:
    """The verdict on one reported hash: ``match`` (a known-good build), ``mismatch`` (the version is
    registered but this hash is none of its builds: modified or counterfeit) or ``unknown`` (no golden
    hash registered for that model and version)."""

    status: Status
    model: str
    version: str
    sha256: str
    expected: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "model": self.model,
            "version": self.version,
            "sha256": self.sha256,
            "expected": list(self.expected),
        }


def normalise_sha256(value: str) -> str:
    digest = value.strip().lower()
    if not SHA256_HEX.match(digest):
        raise FirmwareError(f"{value!r} is not a SHA-256 hex digest (64 hex digits)")
    return digest


class GoldenRegistry:
    """Golden hashes in the store (table ``fw_golden_hashes``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, model: str, version: str, sha256: str, *, size: int | None = None, source: str = "") -> bool:
        """Register a known-good hash; returns False when it was already registered."""
        digest = normalise_sha256(sha256)
        if not model or len(model) > MODEL_LEN or not version or len(version) > VERSION_LEN:
            raise FirmwareError(f"model and version must be 1..{MODEL_LEN} and 1..{VERSION_LEN} characters")
        with self.store.transaction() as s:
            rows = s.scalars(
                select(GoldenHashRow).where(GoldenHashRow.model == model, GoldenHashRow.version == version)
            ).all()
            if any(r.sha256 == digest for r in rows):
                return False
            if len(rows) >= MAX_HASHES_PER_VERSION:
                raise FirmwareError(f"{model} {version} already has {MAX_HASHES_PER_VERSION} golden hashes")
            s.add(
                GoldenHashRow(model=model, version=version, sha256=digest, size=size, source=source, added=time.time())
            )
        return True

    def expected(self, model: str, version: str) -> tuple[str, ...]:
        with self.store.session() as s:
            return tuple(
                s.scalars(
                    select(GoldenHashRow.sha256)
                    .where(GoldenHashRow.model == model, GoldenHashRow.version == version)
                    .order_by(GoldenHashRow.id)
                ).all()
            )

    def check(self, model: str, version: str, sha256: str) -> GoldenCheck:
        digest = normalise_sha256(sha256)
        expected = self.expected(model, version)
        if not expected:
            return GoldenCheck("unknown", model, version, digest)
        return GoldenCheck("match" if digest in expected else "mismatch", model, version, digest, expected)
