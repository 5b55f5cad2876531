"""Recall and precision of scan and C&C detection on labelled data, through pcaps (lab scenario
variants) and through Zeek conn.log ingest in IoT-23's ``conn.log.labeled`` layout, scored by reading
the labels back (tests/detect/labels.py: the tool that scores real IoT-23 files the same way).

The labels are synthetic (no labelled real botnet capture is in ../shared/data): scanners, bots of
nine families and benign look-alike habits (tests/detect/botnets.py, shaped on the IoT-23 captures
described in docs/iot23-shapes.md) over a three-hour benign lab day. Seeds 4 and 5 were looked at
while building the detectors; seeds 11 and 12 are held out (never used to choose anything). Both
settings: hosts infected after their learning hour, and infected before monitoring started (as in
IoT-23). Torii's own protocol on 443 is caught from the conn.log's service column
(detect.c2.protocol_mismatch). Known limits, each kept as a strict expected failure and left out of
the recall/precision scores where it applies (``LIMITS``): from a bare conn.log (no DNS answers, no
http.log), a bot infected before monitoring that polls its C&C over HTTP on 80/8080 looks like a
device's cloud polling, and a loader's burst of HTTP downloads from a bare address looks like a
device fetching updates; in any form, a Torii bot whose C&C no longer answers (a handful of S0
connects to 443) looks like a device whose cloud is down.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Flow
from iotwarden.model.alert import Alert
from tests.detect import recall_runs
from tests.detect.botnet_pcap import write_pcap
from tests.detect.botnets import BENIGN_HABITS, FAMILIES, SCANNERS, Labelled, Truth, infect
from tests.detect.labelled import variant
from tests.detect.labels import IDS, LabelledFlow, Score, bot_end, by_host, by_pair, label_class, read_labels
from tests.detect.recall_runs import Infected
from tests.detect.runner import detect

# each seed, setting and form runs every detector over the three-hour lab day once (recall_runs; ~5 CPU s from a
# conn.log, ~20 from packets): slow, and in the default suite all the same (.ci/run selects no mark out)
pytestmark = pytest.mark.slow
SEEDS = (4, 5, 11, 12)  # 4, 5: seen while building; 11, 12: held out
SETTINGS = recall_runs.SETTINGS  # infected_from, seconds into the capture
WEB_POLLERS = {"http_poll"}  # C&C over HTTP on a web port: needs a learned normal, DNS answers or http.log
DEAD_C2 = {"torii_dead"}  # S0-only connects to 443: a device whose cloud is down does the same
DROPPERS = {"dropper"}  # HTTP downloads from a bare address: needs the URI or the Host (packets, http.log)
DEAD_SERVERS = {"hakai_dead"}  # unanswered connects to an odd port every 35-45 s for hours: caught in every form
PEER_TO_PEER = {"hns_p2p"}  # no server: its peers are its socket's, the one its alert names (labels.SOCKET_IDS)
LIMITS = {  # (form, setting) -> families no detector can tell from benign traffic there
    ("conn", "after_learning"): DEAD_C2 | DROPPERS, ("conn", "before_monitoring"): WEB_POLLERS | DEAD_C2 | DROPPERS,
    ("pcap", "after_learning"): DEAD_C2, ("pcap", "before_monitoring"): DEAD_C2,
}
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
    assert {a.id for a in alerts} & IDS["scan"]  # a subnet with few live hosts shows as an ARP sweep
    assert "detect.bruteforce.telnet" in {a.id for a in alerts}
    assert len(ips) == 1  # precision: only the attacker


class Runs(recall_runs.Runs[Truth]):
    """The nine families, scanners and look-alike habits (botnets.infect); the pcap: botnet_pcap.write_pcap."""

    def infect(self, seed: int, infected_from: float) -> tuple[Labelled, Truth]:
        return infect(self.benign, seed=seed, infected_from=infected_from)

    def write_pcap(self, folder: Path, run: Infected[Truth], seed: int) -> Path:
        return write_pcap(folder / "b.pcap", self.capture, self.benign, run.flows, names=run.truth.names, seed=seed)


@pytest.fixture(scope="module")
def runs(enterprise_day: tuple[Path, list[Flow]], tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(*enterprise_day, tmp_path_factory)


Run = tuple[list[Alert], list[LabelledFlow], Truth]


@pytest.fixture(scope="module", params=[(seed, name) for seed in SEEDS for name in SETTINGS],
                ids=lambda p: f"seed{p[0]}-{p[1]}")
def labelled_run(request: pytest.FixtureRequest, runs: Runs) -> Run:
    seed, setting = request.param
    run = runs.infected(seed, setting)
    return runs.alerts("conn", seed, setting), run.labels, run.truth


def _ok(score: Score) -> bool:
    return score.recall >= 0.95 and score.precision >= 0.9


def _beyond_limits(alerts: list[Alert], flows: list[LabelledFlow], truth: Truth, form: str,
                   setting: str) -> tuple[list[Alert], list[LabelledFlow]]:
    """Alerts and labelled flows without the bots of the families that ``LIMITS`` puts out of reach."""
    return _without(alerts, flows, truth, LIMITS[(form, setting)])


def _without(alerts: list[Alert], flows: list[LabelledFlow], truth: Truth,
             families: set[str]) -> tuple[list[Alert], list[LabelledFlow]]:
    out = {h for h, f in truth.bots.items() if f in families}
    return [a for a in alerts if a.src_ip not in out], [f for f in flows if bot_end(f)[0] not in out]


def _about_neither(alert: Alert, hosts: set[str]) -> bool:
    """An alert about none of ``hosts`` at either end (a peer reaching a P2P bot's open port is the source of
    the flow, and of an alert about the service it reached)."""
    return alert.src_ip not in hosts and alert.dst_ip not in hosts



def test_scanning_recall_and_precision_per_host(labelled_run: Run) -> None:
    alerts, flows, _ = labelled_run
    score = by_host(alerts, flows, "scan")
    assert score.positives >= SCANNERS and _ok(score), score


def test_c2_recall_and_precision_per_host_and_per_server(labelled_run: Run, request: pytest.FixtureRequest) -> None:
    setting = "before_monitoring" if "before_monitoring" in request.node.callspec.id else "after_learning"
    alerts, flows = _beyond_limits(*labelled_run, "conn", setting)  # the known limits: below
    assert _ok(by_host(alerts, flows, "c2")), by_host(alerts, flows, "c2")
    assert _ok(by_pair(alerts, flows)), by_pair(alerts, flows)


def test_benign_look_alikes_and_the_rest_of_the_site_raise_nothing(labelled_run: Run) -> None:
    alerts, _, truth = labelled_run
    bad = truth.scanners | set(truth.bots)
    assert sorted(k for h in truth.benign_habits.values() for k in h) == sorted(2 * BENIGN_HABITS)
    assert set(truth.bots.values()) == set(FAMILIES)
    assert [a.title for a in alerts if _about_neither(a, bad) and a.id != "detect.volume.spike"] == []


def test_every_family_is_caught_when_infected_after_learning(labelled_run: Run, request: pytest.FixtureRequest) -> None:
    if "after_learning" not in request.node.callspec.id:
        pytest.skip("the setting with a learned normal")
    alerts, _, truth = labelled_run
    flagged = {a.src_ip for a in alerts if a.id in IDS["c2"]}
    missed = {f for h, f in truth.bots.items() if h not in flagged}
    assert missed - LIMITS[("conn", "after_learning")] == set()


def test_a_bot_whose_servers_never_answer_is_caught_in_both_settings(labelled_run: Run) -> None:
    """IoT-23 8-1 (Hakai): a connect every 35-45 s to an odd port for hours, none answered, each
    retransmitted for 33 s: slower than a call-back's, a beacon per socket (docs/iot23-shapes.md)."""
    alerts, _, truth = labelled_run
    assert {h for h, f in truth.bots.items() if f in DEAD_SERVERS} <= {a.src_ip for a in alerts if a.id in IDS["c2"]}


def test_p2p_bots_are_caught_by_their_peers_in_both_settings(labelled_run: Run) -> None:
    """Hide and Seek's own UDP protocol (IoT-23 1-1): one socket answered by many outside peers on ports of
    no service, from a bare conn.log (docs/iot23-shapes.md)."""
    alerts, _, truth = labelled_run
    raised = {a.src_ip for a in alerts if a.id == "detect.c2.p2p_udp"}
    assert raised == {h for h, f in truth.bots.items() if f in PEER_TO_PEER}


def test_torii_check_ins_infected_before_monitoring_are_caught_by_their_protocol(labelled_run: Run) -> None:
    alerts, _, truth = labelled_run
    raised = {a.src_ip: a.id for a in alerts if a.id == "detect.c2.protocol_mismatch"}
    assert set(raised) == {h for h, f in truth.bots.items() if f == "torii"}


@pytest.mark.xfail(strict=True, reason="from a bare conn.log, C&C polled over HTTP from the start looks like a "
                                       "device polling its cloud (no DNS answers to show the address is unnamed)")
def test_http_pollers_infected_before_monitoring_are_caught(runs: Runs) -> None:
    truth = runs.infected(SEEDS[0], "before_monitoring").truth
    flagged = {a.src_ip for a in runs.alerts("conn", SEEDS[0], "before_monitoring") if a.id in IDS["c2"]}
    assert {h for h, f in truth.bots.items() if f in WEB_POLLERS} <= flagged


@pytest.mark.xfail(strict=True, reason="from a bare conn.log, a loader's HTTP downloads from a bare address look "
                                       "like a device fetching its updates (no URI, no Host header, no DNS answers)")
def test_droppers_are_caught_from_a_bare_conn_log(runs: Runs) -> None:
    truth = runs.infected(SEEDS[0], "after_learning").truth
    flagged = {a.src_ip for a in runs.alerts("conn", SEEDS[0], "after_learning") if a.id in IDS["c2"]}
    assert {h for h, f in truth.bots.items() if f in DROPPERS} <= flagged


@pytest.mark.xfail(strict=True, reason="a handful of unanswered connects to 443 (IoT-23 20-1, 21-1) is what a device "
                                       "whose cloud is down sends; the C&C's name resolves like a cloud's")
@pytest.mark.parametrize(("form", "setting"), [k for k, families in LIMITS.items() if families >= DEAD_C2])
def test_torii_whose_c2_is_gone_is_caught(runs: Runs, form: str, setting: str) -> None:
    """In every form and setting (a socket's SYN retransmissions, logged apart by Zeek, are one
    connect: counted as beats, they once made a conn.log look like a beacon every 8 s)."""
    dead = {h for h, f in runs.infected(SEEDS[0], setting).truth.bots.items() if f in DEAD_C2}
    assert dead <= {a.src_ip for a in runs.alerts(form, SEEDS[0], setting) if a.id in IDS["c2"]}


@pytest.mark.parametrize(("seed", "setting"), [(seed, name) for seed in SEEDS for name in SETTINGS])
def test_the_same_traffic_as_packets_every_family_is_caught(runs: Runs, seed: int, setting: str) -> None:
    """Packets carry what a bare conn.log lacks: DNS answers and HTTP Host headers show the HTTP
    pollers' hard-coded addresses, the TLS dissector rejects Torii's bytes on 443, the droppers'
    requests name bot builds (``/bins/mirai.arm7``)."""
    run = runs.infected(seed, setting)
    truth, every = run.truth, runs.alerts("pcap", seed, setting)
    alerts, labelled = _beyond_limits(every, run.labels, truth, "pcap", setting)
    assert _ok(by_host(alerts, labelled, "scan")), by_host(alerts, labelled, "scan")
    assert _ok(by_host(alerts, labelled, "c2")), by_host(alerts, labelled, "c2")
    assert _ok(by_pair(alerts, labelled)), by_pair(alerts, labelled)
    assert {h for h, f in truth.bots.items() if f in DEAD_SERVERS} <= {a.src_ip for a in alerts if a.id in IDS["c2"]}
    assert {a.src_ip for a in alerts if a.id == "detect.c2.p2p_udp"} == {
        h for h, f in truth.bots.items() if f in PEER_TO_PEER}
    bad = truth.scanners | set(truth.bots)
    assert [a.title for a in every if _about_neither(a, bad) and a.id != "detect.volume.spike"] == []


def test_labels_are_read_back_in_iot23_layout() -> None:
    flows = read_labels(Path(__file__).resolve().parents[1] / "sources" / "data" / "zeek_labelled" /
                        "conn.log.labeled")
    assert [f.cls for f in flows] == ["scan", "scan", None, "c2", "c2"]
    assert [label_class(x) for x in ("C&C-Torii", "C&C-PartOfAHorizontalPortScan",
                                     "Part-Of-A-Horizontal-Port-Scan-Attack", "DDoS", "Okiru", "-")] == [
        "c2", "c2", "scan", None, None, None]
