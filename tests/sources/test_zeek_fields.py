"""Typed access to Zeek columns: a wrong-typed value makes the line malformed, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.errors import ParseError
from iotwarden.sources.zeek_fields import (
    ConnId,
    drop_none,
    get_bool,
    get_int,
    get_ip,
    get_list,
    get_port,
    get_str,
    iso_utc,
)


def test_strings_numbers_and_bools_accept_what_tsv_and_json_carry() -> None:
    rec: dict[str, Any] = {"s": "x", "n": 7, "ns": "42", "f": 8.0, "fs": "9.0", "b": True, "bt": "T", "e": ""}
    assert (get_str(rec, "s"), get_str(rec, "n"), get_str(rec, "e"), get_str(rec, "missing")) == ("x", "7", None, None)
    assert (get_int(rec, "n"), get_int(rec, "ns"), get_int(rec, "f"), get_int(rec, "fs")) == (7, 42, 8, 9)
    assert (get_bool(rec, "b"), get_bool(rec, "bt"), get_bool(rec, "missing")) == (True, True, None)


@pytest.mark.parametrize(("getter", "value"), [
    (get_int, True), (get_int, "seven"), (get_int, [1]), (get_int, 1.5), (get_str, ["a"]), (get_str, {"a": 1}),
    (get_bool, "yes"), (get_ip, "10.0.0.300"), (get_ip, "host.example"), (get_port, 65536), (get_port, -1),
])
def test_wrong_types_raise_parse_error(getter: Any, value: Any) -> None:
    with pytest.raises(ParseError):
        getter({"k": value}, "k")


def test_lists_come_from_json_arrays_tsv_sets_or_comma_text() -> None:
    assert get_list({"k": ["a", None, "b"]}, "k") == ["a", "b"]  # unset elements dropped
    assert get_list({"k": "a,b"}, "k") == ["a", "b"]  # a log with no #types line
    assert get_list({"k": 5}, "k") == [5]
    assert get_list({}, "k") == []


def test_addresses_are_normalised() -> None:
    assert get_ip({"k": "FE80:0:0:0:0:0:0:1%eth0"}, "k") == "fe80::1"
    assert get_ip({"k": "::ffff:192.0.2.1"}, "k") == "::ffff:c000:201"


def test_conn_id_forward_and_reverse() -> None:
    cid = ConnId.of({"ts": 5.0, "id.orig_h": "10.0.0.2", "id.orig_p": 40000, "id.resp_h": "10.0.0.1",
                     "id.resp_p": 53, "proto": "udp"})
    fwd = cid.forward("dns", "query", {"qname": "a", "empty": None, "none": []})
    rev = cid.reverse("dns", "response", {}, ts=5.5)
    assert (fwd.src_ip, fwd.src_port, fwd.dst_ip, fwd.dst_port, fwd.ip_proto, fwd.fields) == (
        "10.0.0.2", 40000, "10.0.0.1", 53, 17, {"qname": "a"})
    assert (rev.ts, rev.src_ip, rev.src_port, rev.dst_ip, rev.subject) == (5.5, "10.0.0.1", 53, "10.0.0.2", "src")
    with pytest.raises(ParseError):
        ConnId.of({"id.orig_h": "10.0.0.2"})  # no ts


def test_iso_utc_and_drop_none() -> None:
    assert iso_utc(1700000000.9) == "2023-11-14T22:13:20Z"
    with pytest.raises(ParseError):
        iso_utc(1e20)
    assert drop_none({"a": None, "b": [], "c": 0, "d": False, "e": ""}) == {"c": 0, "d": False, "e": ""}
