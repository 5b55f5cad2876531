"""The vendor table's regexes are compiled when a name could match them, with the answers of trying each in order."""

from __future__ import annotations

import re

import pytest

from iotwarden.kb import paths
from iotwarden.kb.aliases import Patterns, anchored_heads
from iotwarden.kb.oui import VendorNames, read_cache
from iotwarden.kb.parsed import load_table


def _shipped_table() -> dict[str, list]:  # type: ignore[type-arg]
    data = load_table(paths.VENDOR_ALIASES_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _first_in_order(compiled: list[re.Pattern[str]], name: str) -> int | None:
    """What VendorNames did before: every regex compiled, tried in order."""
    return next((i for i, p in enumerate(compiled) if p.search(name)), None)


def _compile(sources: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(s, re.IGNORECASE) for s in sources]


@pytest.mark.parametrize(("pattern", "heads"), [
    ("^apple", ("apple",)),
    ("^hewlett[ -]packard enterprise|^hpe\\b", ("hewlett", "hpe")),
    ("^arista networks?\\b", ("arista network",)),  # the optional 's' is not required
    ("^(new )?h3c", ("h3c", "new ")),
    ("^schneider( electric| automation|$)|^telemecanique", ("schneider", "telemecanique")),
    ("^b\\. ?braun", ("b.",)),
    ("^weidm(ü|ue|u)ller", ("weidm",)),
    ("^(realtek|mediatek)$", ("mediatek", "realtek")),
    ("^(?:ab|cd)e", ("ab", "cd")),
    ("^Lite-?On", ("lite",)),  # compared lower-cased; the optional '-' ends what is known
    ("^ab\\b|^c", ("ab", "c")),
    ("^a\\|b", ("a|b",)),  # an escaped '|' is no alternative
    ("^a\\\\b", ("a\\b",)),  # an escaped backslash, then 'b'
    ("^a\\.b\\+", ("a.b+",)),  # escaped '.' and '+' stand for themselves
])
def test_the_heads_a_name_must_start_with(pattern: str, heads: tuple[str, ...]) -> None:
    assert anchored_heads(pattern) == heads


@pytest.mark.parametrize("pattern", [
    "apple", "^", "^(x)?", "^(a){0,2}b", "^a+b", "^a*b", "^(?i:x)", "^(?=x)", "^[ab]c", "^.x", "^\\d", "^a|b",
    "^(a|)b", "^(a", "^[a", "x^a", "\\Aa",
])
def test_a_regex_whose_heads_cannot_be_read_is_tried_on_every_name(pattern: str) -> None:
    assert anchored_heads(pattern) is None


def test_every_shipped_regex_compiles() -> None:
    """The shipped table's regexes are compiled at first use, not at load: a bad one must fail here (CI)."""
    table = _shipped_table()
    Patterns([item["match"] for item in table["aliases"]]).compile_all()
    Patterns(list(table["part_makers"])).compile_all()


def test_every_registry_organisation_gets_the_alias_trying_each_in_order_gives() -> None:
    table = _shipped_table()
    sources = [item["match"] for item in table["aliases"]]
    patterns, every = Patterns(sources), _compile(sources)
    cache = read_cache()
    assert cache is not None
    names = {org for _, orgs in cache.values() for org in orgs}
    # non-ASCII, case and spacing variants: U+017F (long s), U+212A (Kelvin sign) match 's', 'k' case-insensitively
    names |= {"", "\u017famsung Electronics", "\u212aUKA Roboter", "APPLE, INC.", "Weidmüller Interface", "WEIDMUELLER",
              "New H3C Technologies", "h3c", "Schneider", "Schneider Electric", "Schneiderx", "B. Braun", "B.Braun"}
    assert len(names) > 25_000  # distinct organisations of the four lists
    for name in names:
        text = " ".join(name.split())
        assert patterns.first(text) == _first_in_order(every, text), name


def test_part_makers_are_those_trying_each_gives() -> None:
    table = _shipped_table()
    makers = _compile(list(table["part_makers"]))
    names = VendorNames.load()
    vendors = {item["vendor"] for item in table["aliases"]} | {"Shenzhen Foo", "shenzhen", "\u017fhenzhen x", "Liteon",
                                                               "Intel", "Intel Corporate", "Fn-Link", "Huizhou x"}
    for vendor in vendors:
        assert names.part_maker(vendor) == (_first_in_order(makers, vendor) is not None), vendor


def test_only_the_regexes_a_name_could_match_are_compiled() -> None:
    patterns = Patterns(["^apple", "^cisco-linksys|^linksys", "^cisco", "[0-9]"])
    assert patterns.first("Cisco Systems, Inc") == 2
    assert _compiled(patterns) == [2]  # '^apple', '^cisco-linksys|^linksys' cannot match it: not compiled
    assert patterns.first("Ubiquiti") is None
    assert _compiled(patterns) == [2, 3]  # the unanchored one is tried on every name
    assert patterns.first("Apple, Inc.") == 0


def _compiled(patterns: Patterns) -> list[int]:
    return [i for i in range(len(patterns)) if patterns._compiled[i] is not None]
