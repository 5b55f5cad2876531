"""Monitor.finish ends a run once: a second call (after one interrupted partway) closes only the exporters the
first did not, and analyses nothing again."""

from __future__ import annotations

import pytest

from iotwarden.errors import ConfigError
from iotwarden.model.alert import Alert
from iotwarden.services.monitor import Monitor


class _Counted:
    """An exporter counting its closes; ``fail`` raises from its first close: ``interrupt`` a KeyboardInterrupt (a
    second Ctrl-C while a TLS collector's close waits), ``error`` a ConfigError (a collector gone, counted)."""

    def __init__(self, fail: str = "") -> None:
        self.fail, self.closes = fail, 0

    def send(self, alert: Alert) -> None:
        pass

    def close(self) -> None:
        self.closes += 1
        if self.closes == 1 and self.fail == "interrupt":
            raise KeyboardInterrupt
        if self.closes == 1 and self.fail == "error":
            raise ConfigError("collector gone")


def test_a_second_finish_closes_nothing_again_and_analyses_nothing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _Counted(), _Counted("error")
    mon = Monitor(exporters=[a, b])
    done: list[int] = []
    real_done = mon.addons.done

    def counted_done() -> None:
        done.append(1)
        real_done()

    monkeypatch.setattr(mon.addons, "done", counted_done)
    first = mon.finish()
    assert mon.finish() == first
    assert (a.closes, b.closes, done) == (1, 1, [1])  # the failing close was counted once, not tried again
    assert list(mon.export_errors.values()) == ["collector gone"] and mon.unclosed == []


def test_a_finish_interrupted_partway_leaves_only_the_rest_to_close() -> None:
    """The first exporter closed, the second's close interrupted: it and the third are still open, and a second
    finish closes those two only (before: every exporter was closed again, the first twice)."""
    a, b, c = _Counted(), _Counted("interrupt"), _Counted()
    mon = Monitor(exporters=[a, b, c])
    with pytest.raises(KeyboardInterrupt):
        mon.finish()
    assert (a.closes, b.closes, c.closes) == (1, 1, 0) and mon.unclosed == [b, c]
    mon.finish()
    assert (a.closes, b.closes, c.closes) == (1, 2, 1) and mon.unclosed == []
