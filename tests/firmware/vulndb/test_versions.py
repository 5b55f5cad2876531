"""Upstream version ordering, including OpenSSL letter releases and pre-releases."""

from __future__ import annotations

import pytest

from iotwarden.firmware.vulndb.versions import compare, in_range


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.1.1k", "1.1.1x", -1),
        ("1.0.2zj", "1.0.2z", 1),
        ("1.1.1", "1.1.1a", -1),
        ("2.86rc1", "2.86", -1),
        ("2020.81", "2022.83", -1),
        ("1.33.1", "1.33.1", 0),
        ("1.2.2_pre2", "1.2.2", -1),
        ("8.9p1", "8.9", 1),
        ("3.0.22", "3.0.13", 1),
        ("1.0", "1.0.1", -1),
        ("1.34.0", "1.33.1", 1),
    ],
)
def test_compare(a: str, b: str, expected: int) -> None:
    assert compare(a, b) == expected
    assert compare(b, a) == -expected


def test_nvd_range_bounds() -> None:
    # CVE-2021-42374: busybox versionStartIncluding 1.27.0, versionEndIncluding 1.33.1
    assert in_range("1.33.1", start_incl="1.27.0", end_incl="1.33.1")
    assert not in_range("1.34.0", start_incl="1.27.0", end_incl="1.33.1")
    assert not in_range("1.26.2", start_incl="1.27.0", end_incl="1.33.1")
    assert in_range("2.82", end_excl="2.83") and not in_range("2.83", end_excl="2.83")
