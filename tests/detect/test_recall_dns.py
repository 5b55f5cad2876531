"""Recall and precision on C&C over DNS and its benign look-alikes (tests/detect/dns_c2.py) over the lab's benign
day, through Zeek's conn.log (IoT-23's labelled layout) with its dns.log (the benign day's lookups and the injected
ones), and through packets, infected after learning and before monitoring, scored with tests/detect/labels.py. Seeds
31 and 32. Commands polled as TXT answers every 1-5 min (DNSMessenger's channel) were caught by nothing before
``detect.c2.dns_poll``: ``detect.dns.tunnel`` counts ``min_txt`` (30) TXT queries of one parent within ``window_s``
(600 s), a query every 20 s or faster, and ``beaconing`` leaves DNS out (its INFRA_PORTS: every device resolves names
periodically); the detector was written for them (this module's first run), its options chosen from its sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from iotwarden.model import Flow
from tests.detect import recall_runs
from tests.detect.botnet_pcap import write_pcap
from tests.detect.botnets import Labelled
from tests.detect.dns_c2 import (
    C2_KINDS,
    DnsTruth,
    Lookup,
    benign_lookups,
    infect_dns,
    renderer_for,
    write_dns_log,
)
from tests.detect.labelled import write_labelled_conn_log
from tests.detect.labels import IDS, Score, by_host, by_pair
from tests.detect.recall_runs import Infected

# each seed, setting and form runs every detector over the three-hour lab day once (recall_runs; ~5 CPU s from a
# conn.log, ~20 from packets): slow, and in the default suite all the same (.ci/run selects no mark out)
pytestmark = pytest.mark.slow
SEEDS = (31, 32)
SETTINGS = recall_runs.SETTINGS
FORMS = recall_runs.FORMS
DNS_IDS = frozenset({"detect.dns.dga", "detect.dns.tunnel"})


@dataclass
class Runs(recall_runs.Runs[DnsTruth]):
    """The DNS C&C kinds and their look-alikes (dns_c2.infect_dns); the conn form reads the conn.log with its
    dns.log (the benign day's lookups and the injected ones); the pcap renders the lookups (dns_c2.renderer_for)."""

    day_lookups: list[Lookup] = field(default_factory=list, repr=False)  # the benign day's, for every dns.log

    def infect(self, seed: int, infected_from: float) -> tuple[Labelled, DnsTruth]:
        return infect_dns(self.benign, seed=seed, infected_from=infected_from)

    def write_logs(self, conn_log: Path, flows: Labelled, truth: DnsTruth) -> Path:
        write_dns_log(conn_log.parent / "dns.log", flows, [*self.day_lookups, *truth.lookups])
        return conn_log.parent

    def write_pcap(self, folder: Path, run: Infected[DnsTruth], seed: int) -> Path:
        return write_pcap(folder / "d.pcap", self.capture, self.benign, run.flows, names={}, seed=seed,
                          renderer=renderer_for(run.truth.lookups))


@pytest.fixture(scope="module")
def runs(enterprise_day: tuple[Path, list[Flow]], tmp_path_factory: pytest.TempPathFactory) -> Runs:
    capture, benign = enterprise_day
    return Runs(capture, benign, tmp_path_factory, day_lookups=benign_lookups(capture))


def _ok(score: Score) -> bool:
    return score.recall >= 0.95 and score.precision >= 0.9


CASES = [(kind, form, seed, setting) for kind in C2_KINDS for form in FORMS for seed in SEEDS for setting in SETTINGS]


@pytest.mark.parametrize(("kind", "form", "seed", "setting"), CASES)
def test_each_dns_c2_kind_is_caught_as_c2(runs: Runs, kind: str, form: str, seed: int, setting: str) -> None:
    truth = runs.infected(seed, setting).truth
    hosts = {h for h, k in truth.bots.items() if k == kind}
    caught = {a.src_ip for a in runs.alerts(form, seed, setting) if a.id in IDS["c2"]}
    assert hosts and hosts <= caught, sorted(hosts - caught)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("seed", SEEDS)
def test_c2_per_host_and_pair_and_nothing_on_the_look_alikes(runs: Runs, seed: int, setting: str,
                                                                           form: str) -> None:
    run = runs.infected(seed, setting)
    truth, labels = run.truth, run.labels
    every = runs.alerts(form, seed, setting)
    assert _ok(by_host(every, labels, "c2")), by_host(every, labels, "c2")
    assert _ok(by_pair(every, labels)), by_pair(every, labels)
    assert [a.title for a in every if a.src_ip in truth.benign and a.id in IDS["scan"] | IDS["c2"] | DNS_IDS] == []


def test_a_lookup_is_read_back_from_the_dns_log_with_its_conn_log_line(tmp_path: Path) -> None:
    """The dns.log line (its conn.log line's uid) reads back beside the conn.log as a query and its answer."""
    import random

    from iotwarden.sources.base import RecordBatch
    from iotwarden.sources.zeek import read_zeek
    from tests.detect.dns_c2 import txt_commands

    flows, lookups = txt_commands("10.10.20.7", "10.10.10.10", 1000.0, 1100.0, random.Random(1))
    write_labelled_conn_log(tmp_path / "conn.log.labeled", flows)
    write_dns_log(tmp_path / "dns.log", flows, lookups)
    obs = [o for b in read_zeek(tmp_path) if isinstance(b, RecordBatch) for o in b.observations if o.proto == "dns"]
    assert [(o.kind, o.fields["qtype"], o.fields["qname"]) for o in obs] == [
        ("query", "TXT", lookups[0].qname), ("response", "TXT", lookups[0].qname)]
    assert obs[1].fields["answers"][0]["data"] == lookups[0].answers[0]
