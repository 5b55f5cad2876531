"""Strings a regular expression matches, for comparing knowledge-base rules with each other.

``samples(pattern)`` walks the parsed pattern (the ``re`` module's own parser) and writes a few
strings it matches: each alternative of a group or class that lists few choices, optional parts
both absent and present, repeats at their least count (one where it may be zero). Lookarounds and
back references are not honoured, so every sample is checked against the pattern and kept only if
it matches: fewer samples, never a wrong one. Used by bench/kb_audit.py.
"""

from __future__ import annotations

import itertools
import re
from re import _parser as sre  # type: ignore[attr-defined]  # re's own parser (sre_parse is its deprecated alias)
from typing import Any

MAX_SAMPLES = 24  # strings kept per pattern: alternatives beyond are left out
MAX_CLASS_CHOICES = 4  # members of a character class tried (``[-_ ]`` gives three samples)
_CATEGORY = {"CATEGORY_DIGIT": "0", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_SPACE": " ",
             "CATEGORY_NOT_SPACE": "a", "CATEGORY_WORD": "a", "CATEGORY_NOT_WORD": "-"}


def samples(pattern: str, *, ignore_case: bool = False) -> list[str]:
    """Distinct strings ``pattern`` matches (``re.search``), at most MAX_SAMPLES; [] if none found."""
    flags = re.IGNORECASE if ignore_case else 0
    try:
        compiled = re.compile(pattern, flags)
        parsed = sre.parse(pattern, flags)
    except re.error:
        return []
    out: list[str] = []
    for text in _sequence(list(parsed)):
        if text not in out and compiled.search(text):
            out.append(text)
    return out[:MAX_SAMPLES]


def _sequence(items: list[tuple[Any, Any]]) -> list[str]:
    """Strings of a sequence of parsed items: the product of each item's strings, capped."""
    out = [""]
    for op, arg in items:
        choices = _item(str(op), arg)
        if not choices:
            return []
        out = [a + b for a, b in itertools.islice(itertools.product(out, choices), MAX_SAMPLES)]
    return out


def _item(op: str, arg: Any) -> list[str]:
    if op == "LITERAL":
        return [chr(arg)]
    if op == "NOT_LITERAL":
        return ["x" if chr(arg) != "x" else "y"]
    if op == "ANY":
        return ["x"]
    if op == "IN":
        return _class(arg)
    if op in ("AT", "ASSERT", "ASSERT_NOT"):  # anchors and lookarounds take no characters
        return [""]
    if op == "SUBPATTERN":
        return _sequence(list(arg[-1]))
    if op == "BRANCH":
        return [s for branch in arg[1] for s in _sequence(list(branch))][:MAX_SAMPLES]
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, body = arg
        once = _sequence(list(body))
        counts = sorted({low, max(low, 1)} if high >= 1 else {0})
        out: list[str] = []
        for n in counts:  # one choice repeated, never every mix of choices
            out.extend(choice * n for choice in once)
        return out[:MAX_SAMPLES]
    if op == "ATOMIC_GROUP":
        return _sequence(list(arg))
    return []  # GROUPREF, conditional groups: no sample


def _class(members: list[tuple[Any, Any]]) -> list[str]:
    """A few characters of a ``[...]`` class (a negated class: one character it does not name)."""
    if members and str(members[0][0]) == "NEGATE":
        named = {chr(a) for op, a in members[1:] if str(op) == "LITERAL"}
        return [next(c for c in "xyz0_" if c not in named)]
    out: list[str] = []
    for op, arg in members:
        kind = str(op)
        if kind == "LITERAL":
            out.append(chr(arg))
        elif kind == "RANGE":
            out.append(chr(arg[0]))
        elif kind == "CATEGORY":
            out.append(_CATEGORY.get(str(arg), "a"))
        if len(out) >= MAX_CLASS_CHOICES:
            break
    return out
