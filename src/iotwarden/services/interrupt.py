"""Ctrl-C kept while a run writes the store.

Python raises KeyboardInterrupt wherever the main thread is when SIGINT comes; when that is inside a finalizer
(a generator's close, a ``__del__``, a weakref callback run by the garbage collector) the exception is printed as
"Exception ignored" and lost, and the run carries on to its end as if Ctrl-C had never been pressed. While
:func:`ctrl_c_kept` is active the SIGINT handler also records the request, and :func:`check` (called by the run
between batches and before a capture's transaction commits) raises KeyboardInterrupt again when it was lost.
Only in the main thread and only over Python's own default handler: a server or an embedding application that set
its own SIGINT handling keeps it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["check", "ctrl_c_kept", "requested"]

_requested = threading.Event()


def _handler(signum: int, frame: FrameType | None) -> None:
    _requested.set()
    signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt, as without us


@contextmanager
def ctrl_c_kept() -> Iterator[None]:
    """While active, a Ctrl-C is remembered until the run stops (see the module's docstring)."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    _requested.clear()
    signal.signal(signal.SIGINT, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _requested.clear()


def requested() -> bool:
    """Whether a Ctrl-C came while :func:`ctrl_c_kept` was active."""
    return _requested.is_set()


def check() -> None:
    """Raise KeyboardInterrupt when a Ctrl-C came during the run (its own exception lost in a finalizer)."""
    if _requested.is_set():
        raise KeyboardInterrupt
