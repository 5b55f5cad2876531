"""The vendor table's regexes (``vendor_aliases.yaml`` aliases and part makers), compiled when a name could match.

Every start used to compile the ~220 case-insensitive regexes of the table (~14 ms CPU of each start), though a run
asks about a few names. Nearly every one is anchored (``^hikvision``, ``^(xiamen )?yealink``): a name can match it
only when it starts with one of a few texts, its *heads*, read off the regex's source here without compiling it.
:class:`Patterns` keeps the regexes by the first character of their heads; a name is searched, in the table's order,
only with the regexes its first letter and heads allow, each compiled the first time one is needed; a regex whose
heads cannot be read (not anchored, a class or an escape first) is tried on every name, as before. A name
holding a character outside ASCII is tried with every regex: under ``re.IGNORECASE`` U+017F (long s) matches 's'
and U+212A (Kelvin sign) 'k', which a comparison of lower-cased texts would miss. The answers are those of trying
every regex in order (tests/kb/test_aliases.py holds every registry organisation to it).
"""

from __future__ import annotations

import re
import string

# characters that stand for themselves in a regex outside a class, and are compared lower-cased (ASCII: see above)
_LITERAL = frozenset(string.ascii_letters + string.digits + " -&,'/!:;_=@%#~<>\"")
_QUANTIFIERS = frozenset("?*+{")


def _class_end(pattern: str, i: int) -> int:
    """The index just past the class ``[...]`` opened at ``pattern[i]`` (-1 when it is not closed)."""
    j = i + 1
    if pattern[j : j + 1] == "^":
        j += 1
    if pattern[j : j + 1] == "]":  # a leading ']' is a member
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1 if j < len(pattern) else -1


def _split(pattern: str) -> list[str] | None:
    """``pattern`` split at its top-level ``|`` (outside groups, classes and escapes); None when unbalanced."""
    parts: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(pattern, i)
            if i < 0:
                return None
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return None
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    if depth:
        return None
    parts.append(pattern[start:])
    return parts


def _group_end(seq: str, i: int) -> int:
    """The index of the ``)`` closing the group opened at ``seq[i]`` (-1 when none)."""
    depth = 0
    while i < len(seq):
        c = seq[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(seq, i)
            if i < 0:
                return -1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _starts(seq: str) -> set[str]:
    """Lower-case texts one of which starts every text ``seq`` matches at its start ("" among them: none needed)."""
    acc = {""}
    i = 0
    while i < len(seq):
        c = seq[i]
        if c in _LITERAL or (c == "\\" and i + 1 < len(seq) and seq[i + 1].isascii()
                             and not seq[i + 1].isalnum()):
            step = 2 if c == "\\" else 1
            char = seq[i + step - 1]
            if seq[i + step : i + step + 1] in _QUANTIFIERS:
                return acc  # an optional or repeated atom: what follows it may start anywhere
            acc = {a + char.lower() for a in acc}
            i += step
            continue
        if c != "(":
            return acc  # a class, an escape, '.', '$', ...: no text known from here on
        end = _group_end(seq, i)
        if end < 0:
            return acc
        inner = seq[i + 1 : end]
        if inner.startswith("?:"):
            inner = inner[2:]
        elif inner.startswith("?"):
            return acc  # a lookaround, named group or inline flag
        branches = _split(inner)
        if branches is None:
            return acc
        heads = set().union(*(_starts(b) for b in branches))
        if "" in heads:
            return acc
        quantifier = seq[end + 1 : end + 2]
        if quantifier == "{":  # {0,n} may repeat it no time
            return acc
        if quantifier in ("?", "*"):  # the group may be absent: a match starts with it or with what follows
            heads |= _starts(seq[end + 2 :]) if seq[end + 2 : end + 3] not in _QUANTIFIERS else {""}
            if "" in heads:
                return acc
        return {a + h for a in acc for h in heads}
    return acc


def anchored_heads(pattern: str) -> tuple[str, ...] | None:
    """Lower-case texts one of which an ASCII name must start with for ``pattern`` (case-insensitive) to be found in
    it, sorted; None when no such texts can be read from its source (the regex is then tried on every name)."""
    # most are plain ('^apple', '^avm\\b', '^zte|^zte corporation'): read without the walk below (a start reads ~220)
    plain_text = "(" not in pattern and "[" not in pattern and "\\" not in pattern.replace("\\b", "")
    branches = pattern.split("|") if plain_text else _split(pattern)
    if branches is None:
        return None
    heads: set[str] = set()
    for branch in branches:
        if not branch.startswith("^") or branch[1:2] in _QUANTIFIERS:
            return None
        plain = branch[1:-2] if branch.endswith("\\b") else branch[1:]
        if plain and _LITERAL.issuperset(plain):  # no backslash: '\\b' ended it, nothing else escaped
            heads.add(plain.lower())
            continue
        found = _starts(branch[1:])
        if "" in found:
            return None
        heads |= found
    return tuple(sorted(heads)) if heads else None


class Patterns:
    """Case-insensitive regexes kept in order, each compiled at its first use (see the module docstring)."""

    __slots__ = ("_by_first", "_compiled", "_every", "_heads", "_loose", "_order", "_sources")

    def __init__(self, sources: list[str]) -> None:
        self._sources = list(sources)
        self._compiled: list[re.Pattern[str] | None] = [None] * len(self._sources)
        self._heads = [anchored_heads(s) for s in self._sources]
        self._loose = [i for i, h in enumerate(self._heads) if h is None]  # tried on every name
        self._by_first: dict[str, list[int]] = {}
        for i, heads in enumerate(self._heads):
            for first in sorted({h[0] for h in heads or ()}):
                self._by_first.setdefault(first, []).append(i)
        # first character -> the indices to try, in order (at most one entry per ASCII character)
        self._order: dict[str, tuple[int, ...]] = {}
        self._every = tuple(range(len(self._sources)))

    def __len__(self) -> int:
        return len(self._sources)

    def pattern(self, i: int) -> re.Pattern[str]:
        """The ``i``-th regex, compiled (once; two threads may both compile it, each the same)."""
        compiled = self._compiled[i]
        if compiled is None:
            compiled = self._compiled[i] = re.compile(self._sources[i], re.IGNORECASE)
        return compiled

    def compile_all(self) -> None:
        """Compile every regex now (re.error for the first bad one, as eager compiling raised)."""
        for i in self._every:
            self.pattern(i)

    def first(self, name: str) -> int | None:
        """The index of the first regex found in ``name`` (None when none is)."""
        for i in self._candidates(name):
            if self.pattern(i).search(name):
                return i
        return None

    def _candidates(self, name: str) -> tuple[int, ...] | list[int]:
        if not name.isascii():
            return self._every
        low = name.lower()
        order = self._order.get(low[:1])
        if order is None:
            order = self._order[low[:1]] = tuple(sorted({*self._loose, *self._by_first.get(low[:1], ())}))
        heads = self._heads
        return [i for i in order if (h := heads[i]) is None or low.startswith(h)]
