"""The Zeek ASCII (TSV) and JSON line formats, decoded value by value."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ParseError
from iotwarden.sources.zeek_format import (
    TsvHeader,
    apply_directive,
    decode_json,
    decode_tsv,
    flatten,
    to_time,
)


def header(fields: str, types: str) -> TsvHeader:
    h = TsvHeader()
    for line in (b"#separator \\x09", b"#set_separator\t,", b"#empty_field\t(empty)", b"#unset_field\t-",
                 b"#path\ttest", b"#fields\t" + fields.encode(), b"#types\t" + types.encode()):
        h = apply_directive(line, h)
    return h


def test_header_directives() -> None:
    h = header("ts\tuid", "time\tstring")
    assert (h.separator, h.set_separator, h.empty_field, h.unset_field, h.path) == (b"\t", b",", b"(empty)", b"-",
                                                                                     "test")
    assert (h.fields, h.types) == (["ts", "uid"], ["time", "string"])


def test_values_are_typed_by_the_types_line() -> None:
    h = header("ts\tn\tp\tok\tname\taddrs\tttls\tlen",
               "time\tcount\tport\tbool\tstring\tset[addr]\tvector[interval]\tint")
    rec = decode_tsv(b"1.5\t42\t443\tT\tcam\t10.0.0.1,10.0.0.2\t30.000000,60.0\t-3", h)
    assert rec == {"ts": 1.5, "n": 42, "p": 443, "ok": True, "name": "cam", "addrs": ["10.0.0.1", "10.0.0.2"],
                   "ttls": [30.0, 60.0], "len": -3}


def test_unset_is_left_out_and_empty_is_an_empty_container_or_string() -> None:
    h = header("a\tb\tc", "string\tset[string]\tstring")
    assert decode_tsv(b"-\t(empty)\t(empty)", h) == {"b": [], "c": ""}


def test_escapes_are_undone_and_bad_utf8_stays_visible() -> None:
    h = header("a\tb", "string\tvector[string]")
    rec = decode_tsv(b"tab\\x09here\\x5cx\tone\\x2ctwo,three", h)
    assert rec == {"a": "tab\there\\x", "b": ["one,two", "three"]}
    assert decode_tsv(b"\xff\xfe\t-", h) == {"a": "\\xff\\xfe"}


def test_a_custom_separator_is_honoured() -> None:
    h = TsvHeader()
    for line in (b"#separator \\x7c", b"#set_separator|;", b"#fields|ts|tags", b"#types|time|set[string]"):
        h = apply_directive(line, h)
    assert decode_tsv(b"2.0|a;b", h) == {"ts": 2.0, "tags": ["a", "b"]}


@pytest.mark.parametrize("line", [b"1.0\t2", b"1.0\t2\t3\t4", b"x\t2\t3", b"1.0\tnan\t3", b"1.0\t2\tmaybe"])
def test_malformed_tsv_lines_raise_parse_error(line: bytes) -> None:
    h = header("ts\td\tb", "time\tdouble\tbool")
    with pytest.raises(ParseError):
        decode_tsv(line, h)


def test_without_types_every_value_is_text() -> None:
    h = TsvHeader()
    h = apply_directive(b"#fields\tts\tanswers", h)
    assert decode_tsv(b"1.0\ta,b", h) == {"ts": "1.0", "answers": "a,b"}


def test_json_lines_are_flattened_to_zeek_column_names() -> None:
    assert decode_json(b'{"ts":1.0,"id":{"orig_h":"10.0.0.1","orig_p":5},"tags":[]}') == {
        "ts": 1.0, "id.orig_h": "10.0.0.1", "id.orig_p": 5, "tags": []}
    assert flatten({"a": {"b": {"c": 1}}}) == {"a.b.c": 1}
    for bad in (b"[1]", b"nope", b'{"a":', b'"text"'):
        with pytest.raises(ParseError):
            decode_json(bad)


@pytest.mark.parametrize(("value", "expected"), [
    (1700000000.5, 1700000000.5), (1700000000, 1700000000.0), ("1700000000.25", 1700000000.25),
    ("2023-11-14T22:13:20.500000Z", 1700000000.5), ("2023-11-14T22:13:20+00:00", 1700000000.0),
    ("2023-11-14T22:13:20", 1700000000.0),  # no zone: Zeek writes UTC
])
def test_times_are_epoch_seconds_or_iso_8601(value: object, expected: float) -> None:
    assert to_time(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, True, "yesterday", [1.0], "inf", float("nan")])
def test_bad_times_raise_parse_error(value: object) -> None:
    with pytest.raises(ParseError):
        to_time(value)


@settings(max_examples=200, deadline=None)
@given(line=st.binary(max_size=200))
def test_fuzz_tsv_decoding_only_raises_parse_error(line: bytes) -> None:
    h = header("ts\tuid\tp\tok\tset\tvec", "time\tstring\tport\tbool\tset[addr]\tvector[count]")
    try:
        rec = decode_tsv(line, h)
    except ParseError:
        return
    assert set(rec) <= set(h.fields)


@settings(max_examples=200, deadline=None)
@given(line=st.binary(max_size=200))
def test_fuzz_directives_only_raise_parse_error(line: bytes) -> None:
    try:
        result = apply_directive(b"#" + line, TsvHeader())
    except ParseError:
        return
    assert isinstance(result, TsvHeader)
    assert result.separator


def test_labelled_header_with_space_separated_tail_columns() -> None:
    """Stratosphere IoT-23 ``conn.log.labeled``: the last names and values are split by runs of spaces."""
    h = header("ts\ttunnel_parents   label   detailed-label", "time\tset[string]   string   string")
    assert (h.fields, h.types, h.groups) == (["ts", "tunnel_parents", "label", "detailed-label"],
                                             ["time", "set[string]", "string", "string"], [1, 3])
    assert decode_tsv(b"1.0\t(empty)   Malicious   PartOfAHorizontalPortScan", h) == {
        "ts": 1.0, "tunnel_parents": [], "label": "Malicious", "detailed-label": "PartOfAHorizontalPortScan"}
    assert decode_tsv(b"2.0\t-   Benign   -", h) == {"ts": 2.0, "label": "Benign"}
    assert decode_tsv(b"3.0\t(empty)\tMalicious\tC&C", h)["detailed-label"] == "C&C"  # tabs throughout: fine too
    for bad in (b"4.0\t(empty)   Malicious", b"5.0\t(empty)   Malicious   C&C\textra"):
        with pytest.raises(ParseError):
            decode_tsv(bad, h)
