"""Knowledge-base coverage probe: through how many independent channels can the rules type each device kind (issue #3).

A kind that one channel alone can type (only its maker's MAC block, only its DHCP options) is missed on every
network where that channel is not seen (a routed subnet hides MACs and DHCP, a quiet device sends no mDNS) and is
wrongly typed whenever that one channel misleads. For each taxonomy type of the IoT, OT, building and medical
categories (and ``--all`` for every category), this lists the channels of the rules whose conclusions name the type:
a channel is the protocol an attribute comes from (its name's first part: ``dhcp.vendor_class`` and
``dhcp.hostname`` are both DHCP, ``mac.oui_vendor`` the IEEE block), whichever rule file holds the rule.

    python bench/kb_channels.py               # kinds by channel count, weakest first
    python bench/kb_channels.py --below 2     # only the kinds fewer than two channels type
    python bench/kb_channels.py --json F      # also {kind: {category, channels}} as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from iotwarden.kb import KnowledgeBase
from iotwarden.kb.schema import Rule

CATEGORIES = ("iot", "ot", "building", "medical")


def channel(attribute: str) -> str:
    """The protocol an attribute comes from: the first part of its dotted name."""
    return attribute.split(".", 1)[0]


def channels_by_kind(rules: Iterable[Rule]) -> dict[str, set[str]]:
    """For each device type some rule concludes, the channels of the attributes those rules match (each of a rule's
    attributes: one matching [tls.sni, dns.qname] types through TLS and DNS alike)."""
    found: dict[str, set[str]] = defaultdict(set)
    for rule in rules:
        kind = rule.conclusions.get("device_type")
        if kind:
            found[kind].update(channel(attribute) for attribute in rule.attributes)
    return dict(found)


def coverage(kb: KnowledgeBase, categories: Iterable[str] = CATEGORIES) -> list[tuple[str, str, list[str]]]:
    """(kind, category, sorted channels) for every taxonomy type of ``categories``, fewest channels first."""
    wanted = set(categories)
    by_kind = channels_by_kind(kb.rules)
    rows = [(t.id, t.category, sorted(by_kind.get(t.id, ()))) for t in kb.taxonomy.types.values()
            if t.category in wanted]
    return sorted(rows, key=lambda row: (len(row[2]), row[1], row[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every category, not only iot/ot/building/medical")
    parser.add_argument("--below", type=int, default=None, help="only kinds typed by fewer channels than this")
    parser.add_argument("--json", type=Path, help="write {kind: {category, channels}} here")
    args = parser.parse_args(argv)
    kb = KnowledgeBase.load()
    categories = sorted({t.category for t in kb.taxonomy.types.values()}) if args.all else CATEGORIES
    rows = coverage(kb, categories)
    if args.below is not None:
        rows = [row for row in rows if len(row[2]) < args.below]
    for kind, category, chans in rows:
        print(f"{len(chans):3d}  {kind:28s} {category:9s} {' '.join(chans) or '-'}")
    if args.json:
        args.json.write_text(json.dumps({kind: {"category": category, "channels": chans}
                                         for kind, category, chans in rows}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
