"""How an observation's field is read into attribute values: a dotted path dug out of its fields, lists and dicts
made texts (bounded; option-order fingerprints kept whole), and the attribute name a field path gives.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from iotwarden.model.observation import MAX_TEXT_LEN, key_value_texts

# list-valued fields whose order is the fingerprint: kept as one comma-joined value
ORDERED_FIELDS = frozenset({"param_req_list", "options", "oro"})

MAX_VALUE_LEN = MAX_TEXT_LEN  # characters kept of one attribute value (key=value texts too)


def field_values(value: Any, ordered: bool) -> list[str]:
    """Text values of one field: lists give one value each (or one joined value when order matters)."""
    if value is None or value in ("", [], {}):
        return []
    if isinstance(value, dict):
        return key_value_texts(sorted(value.items(), key=lambda kv: str(kv[0])))
    if isinstance(value, list | tuple | set):
        if ordered:
            return [",".join(map(str, value))]
        out: list[str] = []
        for v in value:
            if v.__class__ is str:  # most items (names, service types): _text of a text, without the call
                if v:
                    out.append(v[:MAX_VALUE_LEN])
            elif isinstance(v, dict):
                out.extend(field_values(v, False))
            elif v not in (None, ""):
                out.append(_text(v))
        return out
    return [_text(value)]


def _text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif value.__class__ is int:  # what json.dumps writes for an int (int.__repr__), without building an encoder
        text = int.__repr__(value)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return text[:MAX_VALUE_LEN]


def dig(fields: dict[str, Any], path: str) -> Any:
    """The value at a dotted path; ``*`` maps over a list, a number indexes one."""
    if "." not in path and path != "*" and not path.isdigit():  # most rules name a top-level field
        return fields.get(path) if isinstance(fields, dict) else None
    parts = path.split(".")
    current: list[Any] = [fields]
    for part in parts:
        nxt: list[Any] = []
        for item in current:
            if part == "*" and isinstance(item, list):
                nxt.extend(item)
            elif part.isdigit() and isinstance(item, list):
                if int(part) < len(item):
                    nxt.append(item[int(part)])
            elif isinstance(item, dict) and part in item:
                nxt.append(item[part])
        current = nxt
    if "*" in parts:
        return current
    return current[0] if current else None


@lru_cache(maxsize=4096)  # a pure function of rule constants, asked for every observation
def attribute_name(proto: str, path: str, renames: tuple[tuple[str, str], ...] = ()) -> str:
    name = next(p for p in reversed(path.split(".")) if p != "*" and not p.isdigit())
    return f"{proto}.{dict(renames).get(name, name)}"


def first_item(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value
