"""How a field is read into attribute values: fingerprint order kept whole, dicts as key=value texts, every
value bounded, dotted paths dug out, the attribute a path names."""

from __future__ import annotations

import json

from iotwarden.inventory.fieldvalues import (
    MAX_VALUE_LEN,
    ORDERED_FIELDS,
    attribute_name,
    dig,
    field_values,
    first_item,
)


def test_option_order_fingerprints_are_kept_whole() -> None:
    assert {"param_req_list", "options", "oro"} == ORDERED_FIELDS


def test_a_dict_field_gives_key_value_texts_in_key_order_one_per_value() -> None:
    # mDNS TXT: a key two services of one message state differently holds a list (dissect/mdns.py)
    assert field_values({"vn": ["65537", "Apple Inc."], "mn": "HomePod"}, False) == [
        "mn=HomePod", "vn=65537", "vn=Apple Inc."]


def test_a_dict_field_text_is_bounded_like_any_other_value() -> None:
    # the bound is applied in key_value_texts, which the knowledge base index uses as well
    values = field_values({"md": "x" * 1000, "mn": "HomePod"}, False)
    assert [len(v) for v in values] == [MAX_VALUE_LEN, len("mn=HomePod")]
    assert field_values([{"md": "y" * 1000}], False) == [("md=" + "y" * 1000)[:MAX_VALUE_LEN]]


def test_lists_give_a_value_each_unless_their_order_is_the_fingerprint() -> None:
    assert field_values([1, 3, 6, 15], True) == ["1,3,6,15"]  # DHCP option 55 as one value
    assert field_values(["a", "", None, 7], False) == ["a", "7"]
    assert field_values(None, False) == field_values("", False) == field_values([], False) == []
    assert field_values({"a": 1}, False) == ["a=1"]
    assert field_values("z" * (MAX_VALUE_LEN + 5), False) == ["z" * MAX_VALUE_LEN]


def test_dig_follows_dotted_paths_maps_stars_and_indexes_lists() -> None:
    fields = {"upnp_device_type": "urn:x", "upnp_embedded": [{"upnp_device_type": "a"}, {"upnp_device_type": "b"}]}
    assert dig(fields, "upnp_device_type") == "urn:x"
    assert dig(fields, "upnp_embedded.*.upnp_device_type") == ["a", "b"]
    assert dig(fields, "upnp_embedded.1.upnp_device_type") == "b"
    assert dig(fields, "upnp_embedded.5.upnp_device_type") is None
    assert dig(fields, "missing.path") is None and dig(fields, "missing.*") == []


def test_the_attribute_is_the_protocol_and_the_paths_last_name_renamed() -> None:
    assert attribute_name("upnp", "upnp_embedded.*.upnp_device_type") == "upnp.upnp_device_type"
    assert attribute_name("s7comm", "order_number", (("order_number", "module_order_number"),)) == (
        "s7comm.module_order_number")
    assert attribute_name("x", "items.0") == "x.items"


def test_first_item_of_a_list_or_the_value_itself() -> None:
    assert first_item(["a", "b"]) == "a" and first_item([]) == [] and first_item("v") == "v"


def test_item_texts_are_what_json_writes_for_each_kind_of_value() -> None:
    # the shortcuts for texts and ints (no json.dumps call) give exactly what json.dumps gives
    items = ["a", "", None, 0, -7, 2**70, True, False, 1.5, float("nan"), {"k": [1, "x"]}, [3, "y"], "é"]
    expected: list[str] = []
    for v in items:
        if isinstance(v, dict):
            expected.extend(field_values(v, False))
        elif v not in (None, ""):
            expected.append(v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str))
    assert field_values(items, False) == expected
    assert expected[1:4] == ["0", "-7", str(2**70)] and expected[4:6] == ["true", "false"]
    assert field_values(7, False) == ["7"] and field_values(True, False) == ["true"]
    assert field_values(["w" * (MAX_VALUE_LEN + 1), 10 ** (MAX_VALUE_LEN + 1)], False) == [
        "w" * MAX_VALUE_LEN, ("1" + "0" * (MAX_VALUE_LEN + 1))[:MAX_VALUE_LEN]]
    assert field_values((1, "b", 2.0), True) == ["1,b,2.0"]  # the order's text: str() of each item
