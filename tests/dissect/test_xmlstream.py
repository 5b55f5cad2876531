"""The streaming XML mechanism the HTTP body readers share: tag and QName helpers, the depth and text
bounds of a target, and a reader's byte limit, rejection, refusal of DTDs and ParseError contract, driven
through a small target that keeps the text of ``<name>`` elements (the readers' own documents are pinned in
test_upnpdesc.py and test_dpwsmeta.py)."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.xmlstream import (
    MAX_DEPTH,
    MAX_TEXT,
    BoundedTarget,
    NotThisDocument,
    StreamReader,
    resolve_qname,
    split_tag,
)
from iotwarden.errors import ParseError


class _Names(BoundedTarget):
    """Keeps the text of each <name> under a <names> root; any other root is not this document."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.names: list[str] = []
        self.skips = 0

    def element_start(self, ns: str, local: str) -> None:
        if not self.open and local != "names":
            raise NotThisDocument(local)
        self.open.append(local)
        if local == "name":
            self.gather("name")

    def element_end(self) -> None:
        if self.open.pop() == "name" and self.field is not None:
            self.names.append(self.take_text())
        if not self.open:
            self.finished = True

    def element_skipped(self) -> None:
        self.skips += 1


class _NamesReader(StreamReader):
    kind: ClassVar[str] = "names"
    label: ClassVar[str] = "names"
    max_bytes: ClassVar[int] = 4096

    def __init__(self) -> None:
        self.target = _Names()
        super().__init__(self.target)


def _read(doc: bytes) -> _NamesReader:
    reader = _NamesReader()
    reader.feed(doc)
    return reader


def test_split_tag_reads_clark_notation() -> None:
    assert split_tag("{urn:a}b") == ("urn:a", "b")
    assert split_tag("b") == ("", "b")


def test_qnames_resolve_through_the_innermost_declaration() -> None:
    declared = [[("p", "urn:outer"), ("", "urn:default")], [("p", "urn:inner")]]
    assert resolve_qname("p:T", declared) == "{urn:inner}T"
    assert resolve_qname("T", declared) == "{urn:default}T"
    assert resolve_qname("q:T", declared) == "q:T"  # an undeclared prefix is kept as written
    assert resolve_qname("T", []) == "T"  # no default namespace: an unprefixed name has none


def test_a_document_is_read_and_finishes_when_its_root_closes() -> None:
    reader = _NamesReader()
    assert reader.feed(b"\r\n<names><name> a </name>") is False
    assert reader.feed(b"<name>b</name></names>") is True
    assert reader.target.names == [" a ", "b"] and reader.target.finished and not reader.rejected


def test_another_document_is_rejected_at_its_first_element() -> None:
    reader = _read(b"<html><name>x</name></html>")
    assert reader.over and reader.rejected and reader.target.names == []


def test_a_body_that_is_not_xml_is_not_read() -> None:
    reader = _read(b"--boundary\r\n<names/>")
    assert reader.over and not reader.rejected and reader.target.open == []


def test_text_gathered_is_bounded() -> None:
    reader = _NamesReader()
    doc = b"<names><name>" + b"x" * (MAX_TEXT * 4) + b"</name></names>"
    for i in range(0, len(doc), 10):  # text arrives in pieces: gathering stops at the first past the bound
        reader.feed(doc[i:i + 10])
    (name,) = reader.target.names
    assert MAX_TEXT <= len(name) < MAX_TEXT + 10 and reader.target.finished


def test_nesting_past_the_depth_limit_is_skipped_with_what_it_holds() -> None:
    extra = 5
    deep = b"<x>" * (MAX_DEPTH - 1 + extra) + b"<name>deep</name>" + b"</x>" * (MAX_DEPTH - 1 + extra)
    reader = _read(b"<names>" + deep + b"<name>shallow</name></names>")
    assert reader.target.names == ["shallow"] and reader.target.finished
    assert reader.target.skips == extra + 1  # the deepest x elements and the name they hold


def test_reading_stops_at_the_byte_limit() -> None:
    reader = _NamesReader()
    doc = b"<names>" + b"<name>n</name>" * 1000 + b"</names>"
    assert reader.feed(doc[:1000]) is False
    assert reader.feed(doc[1000:]) is True
    assert reader.read == _NamesReader.max_bytes and not reader.target.finished
    assert reader.feed(b"<name>more</name>") is True and reader.read == _NamesReader.max_bytes


@pytest.mark.parametrize("doc", [
    b'<!DOCTYPE names [<!ENTITY e "x">]><names><name>&e;</name></names>',
    b'<!DOCTYPE names SYSTEM "http://127.0.0.1/x.dtd"><names/>',
    b"<names><name>unclosed</names>",
    b'<?xml version="1.0" encoding="x-no-such-codec"?><names/>',
])
def test_dtds_malformed_xml_and_unknown_encodings_are_parse_errors(doc: bytes) -> None:
    reader = _NamesReader()
    with pytest.raises(ParseError, match=r"^names: "):
        reader.feed(doc)
    assert reader.over and reader.feed(b"<names/>") is True


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_fuzz_pieces_yield_parse_error_or_nothing(pieces: list[bytes]) -> None:
    reader = _NamesReader()
    for piece in pieces:
        try:
            if reader.feed(b"<names>" + piece):
                break
        except ParseError:
            assert reader.over
            break
    assert reader.read <= _NamesReader.max_bytes
