"""The knowledge base as data: OUI registry, device taxonomy and fingerprint rules, and their index."""

# Data files live in ``kb/data`` (rules in ``kb/data/rules/*.yaml``, compiled into
# ``kb/data/generated/index.json``); this package loads, validates and indexes them.

from iotwarden.kb.index import KnowledgeBase, Match
from iotwarden.kb.oui import MacInfo, OuiEntry, OuiRegistry
from iotwarden.kb.taxonomy import Taxonomy

__all__ = ["KnowledgeBase", "MacInfo", "Match", "OuiEntry", "OuiRegistry", "Taxonomy"]
