"""Importer tests read the third-party databases in place and validate what comes out."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.kb.importers.common import ImportResult, dump_rules
from iotwarden.kb.schema import Rule, RuleValidator, load_attributes, safe_load
from iotwarden.kb.taxonomy import Taxonomy


@pytest.fixture(scope="session")
def validate() -> Any:
    """Round-trip an import through the YAML writer and the rule validator; returns the Rules."""
    validator = RuleValidator(load_attributes(), Taxonomy.load())

    def run(result: ImportResult) -> list[Rule]:
        data = safe_load(dump_rules(result, "test", "licence"))
        rules = [validator.rule(item, "imported.yaml", i) for i, item in enumerate(data["rules"])]
        assert len({r.id for r in rules}) == len(rules), "rule ids must be unique"
        return rules

    return run
