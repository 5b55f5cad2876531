"""Recall and precision of scan and C2 detection on labelled data (tests/detect/labelled.py), through
pcaps (lab scenario variants) and through Zeek conn.log ingest (flows only, no payload).

The labels are synthetic (no labelled real botnet capture is in ../shared/data): scanners and bots
injected into a three-hour benign lab day, three seeds, none used to choose a threshold. Measured:
scanning and C2 recall 100%, precision 100% when hosts are infected after their learning hour; when
they are infected before monitoring starts (as in most published botnet captures) scanning is still
100%/100% but C2 recall is 0%: check-ins seen while learning are learned as normal (known limit,
docs/detection.md), kept below as a strict expected failure. The aim is recall >= 95% on scanning
and C&C with precision >= 90%.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Flow
from tests.detect.labelled import SCENARIOS, engine_flows, inject, variant, write_conn_log
from tests.detect.runner import detect

SCAN_IDS = {"detect.scan.horizontal", "detect.scan.vertical", "detect.scan.telnet_mirai"}
C2_IDS = {"detect.c2.beaconing"}
SEEDS = (4, 5, 6)  # injection seeds (which hosts, rates, periods, jitter, C2 addresses)
VARIANTS = [  # (attacker, SYN rate per second, scan seconds)
    ("cam-dock", 1.0, 120.0), ("plug-01", 5.0, 60.0), ("hue-bridge", 50.0, 20.0),
    ("sonos", 20.0, 30.0), ("dvr-lobby", 2.0, 240.0), ("phone-lobby", 10.0, 45.0),
]


@pytest.mark.parametrize(("attacker", "rate", "duration"), VARIANTS)
def test_lab_scan_variants_are_caught_with_no_false_alarm(tmp_path: Path, attacker: str, rate: float,
                                                          duration: float) -> None:
    scenario = variant(tmp_path, "scan-variant", [
        {"kind": "mirai_scan", "attacker": attacker, "start": 60, "duration": duration, "rate": rate},
        {"kind": "telnet_bruteforce", "attacker": attacker, "targets": ["cam-lobby"], "start": 400, "attempts": 6},
    ])
    generate(load_scenario(scenario), tmp_path / "v.pcap", tmp_path / "v.json")
    alerts = detect([tmp_path / "v.pcap"]).alerts
    ips = {a.src_ip for a in alerts}
    assert {a.id for a in alerts} & SCAN_IDS  # a subnet with few live hosts shows as an ARP sweep
    assert "detect.bruteforce.telnet" in {a.id for a in alerts}
    assert len(ips) == 1  # precision: only the attacker


@pytest.fixture(scope="module")
def benign_flows(tmp_path_factory: pytest.TempPathFactory) -> list[Flow]:
    folder = tmp_path_factory.mktemp("benign")
    generate(load_scenario(SCENARIOS / "enterprise.yaml"), folder / "b.pcap", duration=3 * 3600)
    return engine_flows(folder / "b.pcap")


def _conn_log_run(folder: Path, benign: list[Flow], **injection: float) -> tuple[list, object]:
    flows, truth = inject(benign, **injection)  # type: ignore[arg-type]
    return detect([write_conn_log(folder / "conn.log", flows)]).alerts, truth


@pytest.fixture(scope="module", params=SEEDS)
def conn_log_run(request: pytest.FixtureRequest, benign_flows: list[Flow],
                 tmp_path_factory: pytest.TempPathFactory) -> tuple[list, object]:
    return _conn_log_run(tmp_path_factory.mktemp("zeek"), benign_flows, seed=request.param)


@pytest.fixture(scope="module")
def infected_before_monitoring(benign_flows: list[Flow],
                               tmp_path_factory: pytest.TempPathFactory) -> tuple[list, object]:
    return _conn_log_run(tmp_path_factory.mktemp("zeek-early"), benign_flows, seed=SEEDS[0], infected_from=0.0)


def _scores(alerts: list, ids: set[str], positives: set[str]) -> tuple[float, float]:
    flagged = {a.src_ip for a in alerts if a.id in ids}
    recall = len(flagged & positives) / len(positives)
    precision = len(flagged & positives) / len(flagged) if flagged else 0.0
    return recall, precision


def test_conn_log_scanning_recall_and_precision(conn_log_run: tuple[list, object]) -> None:
    alerts, truth = conn_log_run
    recall, precision = _scores(alerts, SCAN_IDS, truth.scanners)  # type: ignore[attr-defined]
    assert recall >= 0.95 and precision >= 0.9, (recall, precision)


def test_conn_log_c2_recall_and_precision(conn_log_run: tuple[list, object]) -> None:
    alerts, truth = conn_log_run
    recall, precision = _scores(alerts, C2_IDS, truth.bots)  # type: ignore[attr-defined]
    assert recall >= 0.95 and precision >= 0.9, (recall, precision)


def test_conn_log_benign_hosts_raise_nothing_else(conn_log_run: tuple[list, object]) -> None:
    alerts, truth = conn_log_run
    bad = truth.scanners | truth.bots  # type: ignore[attr-defined]
    assert [a.title for a in alerts if a.src_ip not in bad and a.id != "detect.volume.spike"] == []


def test_scanners_infected_before_monitoring_are_still_caught(infected_before_monitoring: tuple[list, object]) -> None:
    alerts, truth = infected_before_monitoring
    recall, precision = _scores(alerts, SCAN_IDS, truth.scanners)  # type: ignore[attr-defined]
    assert recall >= 0.95 and precision >= 0.9, (recall, precision)


@pytest.mark.xfail(strict=True, reason="C2 check-ins seen during a device's learning hour are learned as normal")
def test_bots_infected_before_monitoring_are_caught(infected_before_monitoring: tuple[list, object]) -> None:
    alerts, truth = infected_before_monitoring
    recall, precision = _scores(alerts, C2_IDS, truth.bots)  # type: ignore[attr-defined]
    assert recall >= 0.95 and precision >= 0.9, (recall, precision)
