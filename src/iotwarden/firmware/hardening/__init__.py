"""Hardening checks on an unpacked firmware image, one small module per concern, each declaring its
stable ids (``firmware.hardening.*``); :func:`run_checks` runs them all and returns Findings, counting
a crashing check instead of stopping."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from iotwarden.firmware.hardening import accounts, debug, defaults, elf, keys, perms, services
from iotwarden.firmware.hardening.base import Context
from iotwarden.model.finding import Finding

CHECKS: tuple[ModuleType, ...] = (accounts, defaults, keys, services, debug, elf, perms)
CHECK_IDS: tuple[str, ...] = tuple(cid for mod in CHECKS for cid in mod.CHECK_IDS)


def run_checks(ctx: Context, errors: list[str] | None = None) -> list[Finding]:
    """Every check's findings, in registry order; a check that raises is reported in ``errors``."""
    out: list[Finding] = []
    for mod in CHECKS:
        run: Callable[[Context], list[Finding]] = mod.run
        try:
            out.extend(run(ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check must not stop the others (STYLE 1)
            if errors is not None:
                errors.append(f"hardening check {mod.__name__.rsplit('.', 1)[-1]} failed: {exc!r}")
    return out
