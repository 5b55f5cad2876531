"""dumps_indented writes exactly json.dumps(data, indent=2, default=str)'s text, errors included."""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.cli.jsontext import dumps_indented
from iotwarden.services.analyze import analyze
from iotwarden.store import Store


def reference(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Odd:
    def __str__(self) -> str:
        return "odd\u2603"


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(), st.sampled_from([Colour.RED, Level.HIGH, Path("/tmp/x"), b"raw", 1.5j]))
keys = st.one_of(st.text(max_size=8), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none())
trees = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.lists(inner, max_size=5).map(tuple),
    st.dictionaries(keys, inner, max_size=5)), max_leaves=40)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_the_same_text_as_json_dumps(data: Any) -> None:
    assert dumps_indented(data) == reference(data)


def test_edges_the_encoder_spells_its_own_way() -> None:
    data = {"empty": [[], {}, ()], 7: math.nan, 2.5: [math.inf, -math.inf], True: None, None: "\u00e9\n\"",
            "nested": {"a": [{"b": [1, "x", {"c": {}}]}]}, "obj": Odd()}
    assert dumps_indented(data) == reference(data)
    assert dumps_indented([]) == "[]" and dumps_indented("x") == '"x"' and dumps_indented(Colour.RED) == '"red"'


def test_what_json_refuses_raises_as_json_does() -> None:
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference detected"):
        dumps_indented(circular)
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None, not tuple"):
        dumps_indented({(1, 2): 3})


def test_an_analyze_report_is_written_as_json_dumps_writes_it(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "captures" / "demo.pcap"
    with Store(str(tmp_path / "t.db")) as store:
        data = analyze([demo], store).to_dict()
    assert data["devices"]
    assert dumps_indented(data) == reference(data)
