"""Detectors on a Zeek conn.log as Zeek writes it (a line when its connection is removed, stamped with its start)
raise what they raise on the same log sorted by ts: the lab's day with its scanners and every bot family, infected
after the learning hour and before monitoring began (learning phases start at each host's first flow)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from iotwarden.model import Flow
from tests.detect.botnets import infect
from tests.detect.labelled import write_conn_log
from tests.detect.runner import detect


@pytest.fixture(scope="module")
def benign(enterprise_day: tuple[Path, list[Flow]]) -> list[Flow]:
    return enterprise_day[1]


def _alerts(path: Path) -> list[tuple[object, ...]]:
    return sorted((a.id, a.subject, a.key, a.src_ip, a.dst_ip, round(a.first_seen, 6), round(a.last_seen, 6), a.count)
                  for a in detect([path]).alerts)


@pytest.mark.parametrize("infected_from", [3700.0, 0.0], ids=["after_learning", "before_monitoring"])
def test_detectors_raise_the_same_alerts_on_a_conn_log_in_zeeks_write_order(benign: list[Flow], tmp_path: Path,
                                                                            infected_from: float) -> None:
    flows = [f for f, _ in infect(benign, seed=4, infected_from=infected_from)[0]]
    in_ts_order = write_conn_log(tmp_path / "sorted.log", flows)
    written = write_conn_log(tmp_path / "written.log", flows, order="written")
    starts = [float(line.split("\t")[0]) for line in written.read_text().splitlines() if not line.startswith("#")]
    assert sum(b < a for a, b in itertools.pairwise(starts)) > len(starts) // 10  # far from sorted
    alerts = _alerts(in_ts_order)
    assert {a[0] for a in alerts} >= {"detect.c2.beaconing", "detect.scan.horizontal"}
    assert _alerts(written) == alerts
