"""The event bus between the pipeline and the front ends: in-process by default, NATS between processes
(bus/nats.py)."""

from iotwarden.bus.inprocess import Event, InProcessBus, Subscription

__all__ = ["Event", "InProcessBus", "Subscription"]
