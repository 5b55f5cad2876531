"""The shipped Mirai credential list agrees with the decoded Mirai source, and is drawn by weight."""

from __future__ import annotations

import csv
import random

from iotwarden.lab.credentials import MIRAI_CREDENTIALS, pick_credentials
from tests.conftest import shared


def test_shipped_pairs_and_weights_match_the_decoded_scanner_table() -> None:
    with shared("creds", "mirai_scanner_credentials.csv").open(newline="") as fh:
        source = {(r["username"], r["password"]): int(r["weight"]) for r in csv.DictReader(fh)}
    assert 20 <= len(MIRAI_CREDENTIALS) <= len(source)
    for user, password, weight in MIRAI_CREDENTIALS:
        assert source.get((user, password)) == weight, (user, password)


def test_pick_is_distinct_deterministic_and_favours_heavy_pairs() -> None:
    picks = pick_credentials(random.Random(1), 5)
    assert len(set(picks)) == 5 and picks == pick_credentials(random.Random(1), 5)
    firsts = [pick_credentials(random.Random(i), 1)[0] for i in range(400)]
    assert firsts.count(("root", "xc3511")) > firsts.count(("root", "1234"))
    assert len(pick_credentials(random.Random(1), 1000)) == len(MIRAI_CREDENTIALS)
