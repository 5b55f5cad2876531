"""Every check cites the three frameworks the issue asks for: NISTIR 8259A, ETSI EN 303 645 and CWE."""

from __future__ import annotations

import re

from iotwarden.risk import references as ref
from iotwarden.risk.registry import check_classes


def test_every_check_cites_nistir_or_iec_etsi_or_iec_and_a_cwe() -> None:
    for cls in check_classes():
        cited = " ".join(cls.references)
        assert "CWE-" in cited, cls.id
        assert "NISTIR 8259A" in cited or "IEC 62443" in cited, cls.id
        assert "ETSI EN 303 645" in cited or "IEC 62443" in cited, cls.id


def test_labels_are_well_formed() -> None:
    labels = [v for k, v in vars(ref).items() if k.isupper()]
    assert labels
    for label in labels:
        pattern = r"^(NISTIR 8259A: |ETSI EN 303 645 5\.\d+-\d+ |IEC 62443-3-3 SR \d\.\d |CWE-\d+ )"
        assert re.match(pattern, label), label
