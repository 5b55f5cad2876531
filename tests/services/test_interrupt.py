"""A Ctrl-C whose KeyboardInterrupt a finalizer swallowed still stops a run (services/interrupt.py)."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotwarden.services import analyze as analyze_module
from iotwarden.services.analyze import analyze
from iotwarden.services.interrupt import check, ctrl_c_kept, requested
from iotwarden.store import Store
from tests.cli.test_main_hostile_input import DEMO


def _swallowed_ctrl_c() -> None:
    """SIGINT's handler run where a finalizer would run it: its KeyboardInterrupt printed and lost."""
    with contextlib.suppress(KeyboardInterrupt):
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # type: ignore[operator]


def test_a_ctrl_c_is_remembered_while_active_and_the_handler_restored() -> None:
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with ctrl_c_kept():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        check()  # nothing asked yet
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        assert requested()
        with pytest.raises(KeyboardInterrupt):
            check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not requested()
    check()  # forgotten once the run is over


def test_another_sigint_handler_is_left_alone() -> None:
    def own(signum: int, frame: object) -> None:
        return None

    previous = signal.signal(signal.SIGINT, own)
    try:
        with ctrl_c_kept():
            assert signal.getsignal(signal.SIGINT) is own
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_lost_mid_capture_rolls_that_capture_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = analyze_module.Feed.batches
    calls = {"n": 0}

    def batches(self: object) -> Iterator[object]:
        for i, batch in enumerate(real(self)):  # type: ignore[arg-type]
            calls["n"] += 1
            if i == 1:
                _swallowed_ctrl_c()
            yield batch

    small = tmp_path / "small.pcap"
    small.write_bytes(DEMO.read_bytes())
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        monkeypatch.setattr(analyze_module.Feed, "batches", batches)
        with pytest.raises(KeyboardInterrupt):
            analyze([small], store)
    finally:
        store.close()
    assert calls["n"] == 2  # stopped at the batch after the lost Ctrl-C, not at the capture's end
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("SELECT count(*) FROM captures").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM flows").fetchone()[0] == 0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not requested()
