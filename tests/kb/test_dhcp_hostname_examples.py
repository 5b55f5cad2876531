"""The host names a dhcp.hostname rule's reference gives as what the device sends match its pattern (issue #3): an
example the pattern misses says the rule reads names it does not, or the reference cites names nobody documented."""

from __future__ import annotations

import re

import pytest

from iotwarden.kb.index import KnowledgeBase

# rules whose reference quotes the host names the device sends, each a name without spaces
RULES = ["dhcp.hostname.apple_tv", "dhcp.hostname.homepod"]


@pytest.mark.parametrize("rule_id", RULES)
def test_each_host_name_the_reference_quotes_matches_the_rule(rule_id: str) -> None:
    rule = next(r for r in KnowledgeBase.load().rules if r.id == rule_id)
    examples = re.findall(r"'([^' ]+)'", rule.reference)
    assert examples and rule.how == "regex", rule.reference
    assert [q for q in examples if not any(re.search(p, q) for p in rule.values)] == []
