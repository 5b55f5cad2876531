"""The event bus between the pipeline and the front ends: in-process by default, NATS between processes
(bus/nats.py). The in-process bus (asyncio) is imported when first named, so that a light module here
(bus/limits.py: the defaults the CLI shows) costs no asyncio."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iotwarden.bus.inprocess import Event, InProcessBus, Subscription

__all__ = ["Event", "InProcessBus", "Subscription"]


def __getattr__(name: str) -> Any:
    """``Event``, ``InProcessBus`` and ``Subscription`` from bus/inprocess.py, imported on first use (PEP 562)."""
    if name in __all__:
        return getattr(import_module("iotwarden.bus.inprocess"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
