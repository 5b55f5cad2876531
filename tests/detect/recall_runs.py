"""Test helper: the recall tests' runs over the lab's benign day (conftest.enterprise_day), one harness for
test_recall, test_recall_variants and test_recall_dns: each seed and setting infected once, and the alerts raised on
it once per form (``conn``: its labelled conn.log with any other Zeek log of the module; ``pcap``: the benign capture
with the injected flows rendered in), shared read-only by every test of a module that runs the same thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import pytest

from iotwarden.model import Flow
from iotwarden.model.alert import Alert
from tests.detect.botnets import Labelled
from tests.detect.labelled import write_labelled_conn_log
from tests.detect.labels import LabelledFlow, read_labels
from tests.detect.runner import detect

SETTINGS = {"after_learning": 3700.0, "before_monitoring": 0.0}  # infected_from, seconds after a host's first flow
FORMS = ("conn", "pcap")

T = TypeVar("T")


@dataclass
class Infected(Generic[T]):
    """One seed and setting: the lab day with its injected flows, the truth of who is what, its labelled conn.log,
    what the ``conn`` form reads (that conn.log, or its folder with the module's other Zeek logs) and the labels read
    back from the conn.log."""

    flows: Labelled = field(repr=False)
    truth: T
    conn_log: Path
    zeek: Path
    labels: list[LabelledFlow] = field(repr=False)


@dataclass
class Runs(Generic[T]):
    """Each seed and setting infected once and each form detected once: infect, the logs and the pcap are
    deterministic functions of the benign day, the seed and the setting, and detect of the same input raises the
    same alerts. A module subclasses it with its own ``infect`` and ``write_pcap`` (and ``write_logs`` where it
    writes more than the conn.log). Its repr leaves out the flows and alerts (pytest writes an expected failure's
    arguments: the whole day took seconds)."""

    capture: Path
    benign: list[Flow] = field(repr=False)
    folders: pytest.TempPathFactory = field(repr=False)
    _infected: dict[tuple[int, str], Infected[T]] = field(default_factory=dict, repr=False)
    _alerts: dict[tuple[str, int, str], list[Alert]] = field(default_factory=dict, repr=False)

    def infect(self, seed: int, infected_from: float) -> tuple[Labelled, T]:
        """The benign day with the module's injected flows, and their truth."""
        raise NotImplementedError

    def write_pcap(self, folder: Path, run: Infected[T], seed: int) -> Path:
        """The benign capture with ``run``'s injected flows rendered in, written in ``folder``."""
        raise NotImplementedError

    def write_logs(self, conn_log: Path, flows: Labelled, truth: T) -> Path:
        """What the ``conn`` form reads: the labelled conn.log, unless a module writes other Zeek logs beside it
        (then their folder)."""
        return conn_log

    def infected(self, seed: int, setting: str) -> Infected[T]:
        if (seed, setting) not in self._infected:
            flows, truth = self.infect(seed, SETTINGS[setting])
            conn_log = write_labelled_conn_log(self.folders.mktemp("zeek") / "conn.log.labeled", flows)
            zeek = self.write_logs(conn_log, flows, truth)
            self._infected[(seed, setting)] = Infected(flows, truth, conn_log, zeek, read_labels(conn_log))
        return self._infected[(seed, setting)]

    def alerts(self, form: str, seed: int, setting: str) -> list[Alert]:
        if (form, seed, setting) not in self._alerts:
            run = self.infected(seed, setting)
            source = run.zeek if form == "conn" else self.write_pcap(self.folders.mktemp("pcap"), run, seed)
            self._alerts[(form, seed, setting)] = list(detect([source]).alerts)
        return self._alerts[(form, seed, setting)]
