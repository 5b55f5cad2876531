"""Comparison of upstream version strings as firmware components spell them (1.35.0, 2020.81,
1.1.1k, 1.0.2zj, 8.9p1, 2.86rc1, 1.2.2_pre2): numeric runs compare as numbers, letter suffixes after
a release sort after it (OpenSSL letter releases), pre-release words sort before it."""

from __future__ import annotations

import re
from functools import cmp_to_key

_TOKEN = re.compile(r"\d+|[a-zA-Z]+")
PRERELEASE = ("dev", "alpha", "a", "beta", "b", "pre", "rc")  # sort before the release they precede


def _tokens(version: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t.lower() for t in _TOKEN.findall(version)]


def _is_pre(tok: int | str, previous: int | str | None) -> bool:
    # a single letter right after a number is an OpenSSL-style letter release ("1.1.1k"), not "a"lpha
    return isinstance(tok, str) and tok in PRERELEASE and not (len(tok) == 1 and isinstance(previous, int))


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as or newer than ``b``."""
    ta, tb = _tokens(a), _tokens(b)
    for i in range(max(len(ta), len(tb))):
        x = ta[i] if i < len(ta) else None
        y = tb[i] if i < len(tb) else None
        if x == y:
            continue
        if x is None or y is None:
            rest, sign = (y, -1) if x is None else (x, 1)
            prev = (tb if x is None else ta)[i - 1] if i else None
            # "1.0" vs "1.0rc1": the pre-release is older; "1.0" vs "1.0.1" or "1.1.1" vs "1.1.1a": newer
            return -sign if rest is not None and _is_pre(rest, prev) else sign
        prev_x = ta[i - 1] if i else None
        px, py = _is_pre(x, prev_x), _is_pre(y, prev_x)
        if px != py:
            return -1 if px else 1
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        if isinstance(x, str) and isinstance(y, str):
            if px:  # both pre-release words: dev < alpha < beta < pre < rc
                return -1 if PRERELEASE.index(x) < PRERELEASE.index(y) else 1
            # letter releases: "z" < "za" < "zj" (OpenSSL goes a..z, then za..zz)
            return -1 if (len(x), x) < (len(y), y) else 1
        return 1 if isinstance(x, int) else -1  # a number outranks a letter suffix at the same place
    return 0


sort_key = cmp_to_key(compare)


def in_range(
    version: str,
    *,
    exact: str | None = None,
    start_incl: str | None = None,
    start_excl: str | None = None,
    end_incl: str | None = None,
    end_excl: str | None = None,
) -> bool:
    """Whether ``version`` lies in the range (NVD 2.0 cpeMatch versionStart/End Including/Excluding;
    an exact version when given instead)."""
    if exact is not None:
        return compare(version, exact) == 0
    if start_incl and compare(version, start_incl) < 0:
        return False
    if start_excl and compare(version, start_excl) <= 0:
        return False
    if end_incl and compare(version, end_incl) > 0:
        return False
    return not (end_excl and compare(version, end_excl) >= 0)
