"""IPP messages (RFC 8010 §3 encoding) read from HTTP bodies on tcp/631: a client's Get-Printer-Attributes and
the printer's answer, read whole and through the HTTP dissector (plain, chunked, split at every byte, pipelined),
what is never kept (who asks, the operator's location, the document), the limits driven to their bound,
malformed and hostile input."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.ipp import (
    MAX_ATTRIBUTES,
    MAX_DEPTH,
    MAX_MESSAGE,
    MAX_TEXT,
    MAX_VALUES,
    IppReader,
    device_id_fields,
    is_ipp,
    operation_name,
    parse_message,
    status_name,
)
from iotwarden.errors import ParseError
from iotwarden.lab.wire import Host, TcpStream
from iotwarden.model import Observation
from tests.dissect import resegment
from tests.dissect.hostile import feed_chunks, mutate
from tests.dissect.ippdocs import (
    BEG_COLLECTION,
    CUPS_GET_PRINTER_ATTRIBUTES,
    END_COLLECTION,
    ENUM,
    HP_DEVICE_ID,
    HP_PRINTER_ATTRIBUTES,
    JOB,
    KEYWORD,
    MIME,
    NAME,
    PRINTER,
    TEXT,
    URI,
    attr,
    ipp_answer,
    ipp_post,
    message,
    operation_group,
)
from tests.dissect.test_streambuf_resegmented import assert_invariant


def request(data: bytes = CUPS_GET_PRINTER_ATTRIBUTES) -> dict[str, Any]:
    fields = parse_message(data, request=True)
    assert fields is not None
    return fields


def response(data: bytes = HP_PRINTER_ATTRIBUTES) -> dict[str, Any]:
    fields = parse_message(data, request=False)
    assert fields is not None
    return fields


def ipp(chunks: list[tuple[bool, bytes]]) -> list[Observation]:
    return [o for o in feed_chunks(HttpDissector(), chunks) if o.kind.startswith("ipp_")]


def printer(*attributes: bytes) -> bytes:
    return message(0, 1, [operation_group(), (PRINTER, b"".join(attributes))])


# ---- what a client asks and what a printer answers ----

def test_a_get_printer_attributes_request_names_the_operation_and_what_is_asked_never_who_asks() -> None:
    f = request()
    assert (f["ipp_version"], f["ipp_operation_id"], f["ipp_operation"], f["ipp_request_id"]) == (
        "2.0", 0x000B, "Get-Printer-Attributes", 42)
    assert f["ipp_printer_uri"] == "ipp://10.0.0.2:631/ipp/print" and f["ipp_document_format"] is None
    assert f["ipp_requested_attributes"] == ["printer-make-and-model", "printer-device-id",
                                             "printer-firmware-string-version", "document-format-supported"]
    assert f["ipp_complete"] is True
    assert "alice" not in repr(f)  # requesting-user-name is never kept


def test_the_printers_answer_states_its_make_model_device_id_firmware_and_formats() -> None:
    f = response()
    assert (f["ipp_status"], f["ipp_status_name"], f["ipp_request_id"]) == (0, "successful-ok", 42)
    assert f["ipp_make_and_model"] == "HP LaserJet Pro M404dn"
    assert f["ipp_info"] == "HP LaserJet Pro M404dn"  # textWithLanguage (RFC 8010 §3.9) read as its text
    assert f["ipp_device_id"] == HP_DEVICE_ID
    assert (f["ipp_device_mfg"], f["ipp_device_mdl"], f["ipp_device_cls"]) == (
        "HP", "HP LaserJet Pro M404-M405", "PRINTER")
    assert f["ipp_device_cmd"] == ["PJL", "PCL", "POSTSCRIPT", "PCLM", "PDF", "PWGRASTER", "URF"]
    assert f["ipp_firmware_name"] == ["TJ1PW_FW", "TJ1PW_EWS"]  # 1setOf: additional values kept in order
    assert f["ipp_firmware_string_version"] == ["002_2310A", "20230310"]
    assert f["ipp_uuid"] == "urn:uuid:564e4333-4230-3936-3348-6c63c6f8e1a2"
    assert f["ipp_more_info"] == "http://10.0.0.2/#hId-pgDevInfo" and len(f["ipp_icons"]) == 2
    assert f["ipp_document_formats"] == ["application/vnd.hp-PCL", "application/postscript", "application/pdf",
                                         "image/pwg-raster", "image/urf"]
    assert f["ipp_features"] == ["ipp-everywhere", "airprint-1.7"] and f["ipp_versions"] == ["1.0", "1.1", "2.0"]
    assert f["ipp_complete"] is True


def test_the_operators_name_and_location_and_collection_members_are_never_kept() -> None:
    text = repr(response())
    assert "Alice" not in text and "2nd floor" not in text and "HP-2F-Finance" not in text
    assert "media-size" not in text and "tray-2" not in text


def test_job_attributes_of_a_get_jobs_answer_are_never_kept() -> None:
    jobs = message(0, 7, [operation_group(), (JOB, attr(NAME, "job-originating-user-name", "bob")
                                              + attr(NAME, "job-name", "salaries.xlsx")
                                              + attr(TEXT, "printer-make-and-model", "not the printer's"))])
    f = response(jobs)
    assert f["ipp_make_and_model"] is None and "bob" not in repr(f) and "salaries" not in repr(f)


def test_a_print_jobs_document_after_the_end_of_attributes_is_never_read() -> None:
    document = attr(TEXT, "printer-make-and-model", "inside the document") * 50 + b"%PDF-1.7 ..." * 100
    job = message(0x0002, 9, [operation_group(attr(URI, "printer-uri", "ipp://p/ipp/print")
                                              + attr(NAME, "job-name", "Q3 report.pdf")
                                              + attr(MIME, "document-format", "application/pdf"))], data=document)
    reader = IppReader(request=True)
    split = len(job) - len(document)
    assert reader.feed(job[:split]) is True  # over at the end-of-attributes tag
    f = reader.result()
    assert f is not None and f["ipp_operation"] == "Print-Job" and f["ipp_document_format"] == "application/pdf"
    assert "Q3" not in repr(f)
    (obs,) = ipp([(True, ipp_post(job, chunk=700))])  # CUPS sends the document chunked
    assert obs.kind == "ipp_request" and obs.fields == f


def test_the_request_describes_the_client_and_the_answer_the_printer() -> None:
    obs = feed_chunks(HttpDissector(), [(True, ipp_post(CUPS_GET_PRINTER_ATTRIBUTES)),
                                        (False, ipp_answer(HP_PRINTER_ATTRIBUTES))])
    assert [o.kind for o in obs] == ["request", "ipp_request", "response", "ipp_response"]
    req, resp = obs[1], obs[3]
    assert req.subject == "src" and req.src_ip == "10.0.0.1" and req.fields == request()
    assert resp.subject == "src" and resp.src_ip == "10.0.0.2" and resp.src_port == 80
    assert resp.fields == response()
    assert obs[0].fields["user_agent"].startswith("CUPS/2.4.2")  # the client's software, from HTTP


@pytest.mark.parametrize("chunk", [1, 5, 64, 4096])
def test_chunked_bodies_both_ways(chunk: int) -> None:
    req, resp = ipp([(True, ipp_post(CUPS_GET_PRINTER_ATTRIBUTES, chunk=chunk)),
                     (False, ipp_answer(HP_PRINTER_ATTRIBUTES, chunk=chunk))])
    assert req.fields == request() and resp.fields == response()


@pytest.mark.parametrize("chunk", [0, 100])
def test_split_at_every_byte(chunk: int) -> None:
    post, answer = ipp_post(CUPS_GET_PRINTER_ATTRIBUTES, chunk=chunk), ipp_answer(HP_PRINTER_ATTRIBUTES, chunk=chunk)
    req, resp = ipp([*((True, post[i:i + 1]) for i in range(len(post))),
                     *((False, answer[i:i + 1]) for i in range(len(answer)))])
    assert req.fields == request() and resp.fields == response()


def test_pipelined_exchanges_are_read_once_each() -> None:
    post = ipp_post(CUPS_GET_PRINTER_ATTRIBUTES)
    other = ipp_post(message(0x000A, 43, [operation_group()]), chunk=10)  # Get-Jobs
    answers = ipp_answer(HP_PRINTER_ATTRIBUTES, chunk=300) + ipp_answer(message(0, 43, [operation_group()]))
    obs = ipp([(True, post + other), (False, answers)])
    assert [(o.kind, o.fields["ipp_request_id"]) for o in obs] == [
        ("ipp_request", 42), ("ipp_request", 43), ("ipp_response", 42), ("ipp_response", 43)]
    assert obs[1].fields["ipp_operation"] == "Get-Jobs" and obs[3].fields["ipp_make_and_model"] is None


@pytest.mark.parametrize(("post", "answer"), [
    (ipp_post(CUPS_GET_PRINTER_ATTRIBUTES, content_type=b"text/plain"),  # the request was no IPP
     ipp_answer(HP_PRINTER_ATTRIBUTES)),
    (b"GET /ipp/print HTTP/1.1\r\nHost: p\r\n\r\n", ipp_answer(HP_PRINTER_ATTRIBUTES)),  # a GET asks no IPP
    (ipp_post(CUPS_GET_PRINTER_ATTRIBUTES).replace(b"application/ipp", b"text/html"), ipp_answer(b"x")),
])
def test_bodies_that_are_not_read(post: bytes, answer: bytes) -> None:
    assert ipp([(True, post), (False, answer)]) == []


@pytest.mark.parametrize("answer", [
    ipp_answer(HP_PRINTER_ATTRIBUTES, content_type=b"text/html"),
    ipp_answer(HP_PRINTER_ATTRIBUTES, status=b"401 Unauthorized"),  # an HTTP error carries no IPP response
])
def test_answers_that_are_not_read(answer: bytes) -> None:
    assert [o.kind for o in ipp([(True, ipp_post(CUPS_GET_PRINTER_ATTRIBUTES)), (False, answer)])] == ["ipp_request"]


@pytest.mark.parametrize(("content_type", "expect"), [
    ("application/ipp", True), ("Application/IPP; charset=utf-8", True), (" application/ipp", True),
    ("application/ipps", False), ("text/plain", False), (None, False),
])
def test_which_bodies_are_ipp(content_type: str | None, expect: bool) -> None:
    assert is_ipp(content_type) is expect


def test_operation_and_status_names() -> None:
    assert operation_name(0x000B) == "Get-Printer-Attributes" and operation_name(0x4002) == "CUPS-Get-Printers"
    assert operation_name(0x003C) == "Identify-Printer" and operation_name(0x7777) == "0x7777"
    assert status_name(0) == "successful-ok" and status_name(0x0400) == "client-error-0x0400"
    assert status_name(0x0507) == "server-error-0x0507"


@pytest.mark.parametrize(("text", "expect"), [
    (HP_DEVICE_ID, {"ipp_device_mfg": "HP", "ipp_device_mdl": "HP LaserJet Pro M404-M405",
                    "ipp_device_cls": "PRINTER",
                    "ipp_device_cmd": ["PJL", "PCL", "POSTSCRIPT", "PCLM", "PDF", "PWGRASTER", "URF"]}),
    ("MANUFACTURER:Brother;COMMAND SET:PJL,PCL,PCLXL;MODEL:HL-L2350DW series;CLASS:PRINTER;",
     {"ipp_device_mfg": "Brother", "ipp_device_mdl": "HL-L2350DW series", "ipp_device_cls": "PRINTER",
      "ipp_device_cmd": ["PJL", "PCL", "PCLXL"]}),
    (" mfg: EPSON ; mdl:ET-2750 Series;MFG:second;", {"ipp_device_mfg": "EPSON", "ipp_device_mdl": "ET-2750 Series"}),
    ("no pairs at all", {}), ("MFG:;MDL:;CMD:,,;", {}), ("", {}),
])
def test_ieee_1284_device_ids(text: str, expect: dict[str, Any]) -> None:
    assert device_id_fields(text) == expect


# ---- limits (STYLE 7) ----

def test_values_are_bounded_deduplicated_and_cut() -> None:
    formats = [f"application/x-{i}" for i in range(MAX_VALUES + 10)]
    f = response(printer(attr(MIME, "document-format-supported", *formats, formats[0]),
                         attr(TEXT, "printer-make-and-model", "M" * (MAX_TEXT + 50))))
    assert f["ipp_document_formats"] == formats[:MAX_VALUES]
    assert f["ipp_make_and_model"] == "M" * MAX_TEXT


def test_a_single_valued_attribute_keeps_its_first_value() -> None:
    f = response(printer(attr(TEXT, "printer-make-and-model", "HP LaserJet", "second value")))
    assert f["ipp_make_and_model"] == "HP LaserJet"


def test_collections_nested_past_the_limit_break_the_message_keeping_what_came_before() -> None:
    nested = attr(BEG_COLLECTION, "media-col", b"") + attr(BEG_COLLECTION, "", b"") * MAX_DEPTH
    data = printer(attr(TEXT, "printer-make-and-model", "Kept"), nested)
    with pytest.raises(ParseError, match="nested"):
        parse_message(data, request=False)
    reader = IppReader(request=False)
    with pytest.raises(ParseError):
        reader.feed(data)
    f = reader.result()
    assert f is not None and f["ipp_make_and_model"] == "Kept" and f["ipp_complete"] is False
    balanced = attr(BEG_COLLECTION, "c", b"") * 1 + attr(BEG_COLLECTION, "", b"") * (MAX_DEPTH - 1) + attr(
        END_COLLECTION, "", b"") * MAX_DEPTH
    assert response(printer(balanced, attr(TEXT, "printer-make-and-model", "After")))["ipp_make_and_model"] == "After"


def test_reading_stops_at_the_size_limit() -> None:
    filler = attr(KEYWORD, "x-vendor-filler", *(["k" * 1000] * 400))  # ~400 KiB of values
    data = printer(attr(TEXT, "printer-make-and-model", "Before"), filler, attr(TEXT, "printer-info", "After"))
    assert len(data) > MAX_MESSAGE
    reader = IppReader(request=False)
    over = [reader.feed(data[i:i + 8192]) for i in range(0, len(data), 8192)]
    assert over[-1] is True and over.index(True) == (MAX_MESSAGE - 1) // 8192
    f = reader.result()
    assert f is not None and f["ipp_make_and_model"] == "Before" and f["ipp_info"] is None
    assert f["ipp_complete"] is False


def test_reading_stops_at_the_attribute_count_limit() -> None:
    many = attr(KEYWORD, "x-many", *(["v"] * MAX_ATTRIBUTES))
    f = response(printer(many, attr(TEXT, "printer-make-and-model", "Too late")))
    assert f["ipp_make_and_model"] is None and f["ipp_complete"] is False


# ---- malformed and hostile input (STYLE 13) ----

@pytest.mark.parametrize(("data", "why"), [
    (b"\x00\x00" + CUPS_GET_PRINTER_ATTRIBUTES[2:], "version 0.0"),
    (b"GET / HTTP/1.1\r\n", "version 71.69"),
    (CUPS_GET_PRINTER_ATTRIBUTES[:8] + attr(TEXT, "printer-info", "x"), "before the first attribute group"),
    (CUPS_GET_PRINTER_ATTRIBUTES[:8] + b"\x01\x41\x80\x00", "name length"),
    (CUPS_GET_PRINTER_ATTRIBUTES[:8] + b"\x01\x41\x00\x01a\x90\x00", "value length"),
    (CUPS_GET_PRINTER_ATTRIBUTES[:8] + b"\x01" + attr(END_COLLECTION, "", b""), "outside a collection"),
    (CUPS_GET_PRINTER_ATTRIBUTES[:8] + b"\x01" + attr(TEXT, "", "x"), "before any attribute"),
    (CUPS_GET_PRINTER_ATTRIBUTES[:8] + b"\x00", "reserved delimiter"),
    (CUPS_GET_PRINTER_ATTRIBUTES[:8] + b"\x01" + attr(BEG_COLLECTION, "c", b"") + b"\x03", "inside a collection"),
])
def test_malformed_messages_raise_parse_error(data: bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        parse_message(data, request=True)


def test_a_message_cut_short_keeps_its_complete_attributes() -> None:
    cut = HP_PRINTER_ATTRIBUTES[: HP_PRINTER_ATTRIBUTES.index(b"printer-device-id") + 5]
    f = response(cut)
    assert f["ipp_make_and_model"] == "HP LaserJet Pro M404dn" and f["ipp_device_id"] is None
    assert f["ipp_complete"] is False
    assert parse_message(HP_PRINTER_ATTRIBUTES[:7], request=False) is None  # no header yet: nothing


def test_a_broken_answer_over_http_keeps_what_came_before_and_the_flow_goes_on() -> None:
    broken = HP_PRINTER_ATTRIBUTES[:200] + b"\x41\xff\xff"
    obs = ipp([(True, ipp_post(CUPS_GET_PRINTER_ATTRIBUTES) * 2),
               (False, ipp_answer(broken) + ipp_answer(HP_PRINTER_ATTRIBUTES))])
    assert [o.kind for o in obs] == ["ipp_request", "ipp_request", "ipp_response", "ipp_response"]
    assert obs[2].fields["ipp_complete"] is False and obs[3].fields == response()


def test_631_is_an_http_port() -> None:
    assert 631 in HttpDissector.tcp_ports


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_fuzz_random_bytes_keep_the_contract(data: bytes, is_request: bool) -> None:
    try:
        result = parse_message(data, request=is_request)
    except ParseError:
        return
    assert result is None or isinstance(result["ipp_complete"], bool)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([CUPS_GET_PRINTER_ATTRIBUTES, HP_PRINTER_ATTRIBUTES]),
       st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 255)), max_size=8), st.integers(0, 2000),
       st.integers(0, 2))
def test_fuzz_mutated_messages_through_http(doc: bytes, edits: list[tuple[int, int]], cut: int, way: int) -> None:
    body = mutate(doc, edits, cut)
    post = ipp_post(body if doc is CUPS_GET_PRINTER_ATTRIBUTES else CUPS_GET_PRINTER_ATTRIBUTES, chunk=(0, 33, 0)[way])
    answer = ipp_answer(body if doc is HP_PRINTER_ATTRIBUTES else HP_PRINTER_ATTRIBUTES, chunk=(0, 33, 0)[way])
    if way == 2:
        answer = mutate(answer, edits, len(answer))
    half = len(answer) // 2
    for o in ipp([(True, post), (False, answer[:half]), (False, answer[half:])]):
        # (no privacy check here: a mutated length may make a kept value cover the bytes after it, which the
        # wire then states are part of it; the whole messages' tests pin what is never kept)
        assert o.subject == "src" and isinstance(o.fields["ipp_complete"], bool)


# ---- however the sender's bytes were cut (tests/dissect/resegment.py) ----

def test_ipp_exchanges_observe_the_same_coalesced_or_cut_into_pieces(tmp_path: Path) -> None:
    """A Print-Job whose 60 KB document is sent chunked, then a Get-Printer-Attributes on the same connection,
    and the answers: GRO super-packets and 1-7 byte pieces give the Observations of the wire as sent."""
    rng = random.Random(631)
    job = message(0x0002, 41, [operation_group(attr(MIME, "document-format", "application/pdf"))],
                  data=b"%PDF-1.7\n" + rng.randbytes(60_000))
    stream = TcpStream(rng, Host("02:00:00:00:00:01", "10.9.0.10"), 40631, Host("02:00:00:00:00:02", "10.9.0.20"),
                       631)
    frames = stream.session(1_700_000_000.0, [
        (True, ipp_post(job, chunk=8192)), (False, ipp_answer(message(0, 41, [operation_group()]))),
        (True, ipp_post(CUPS_GET_PRINTER_ATTRIBUTES)), (False, ipp_answer(HP_PRINTER_ATTRIBUTES, chunk=500))])
    resegment.write_frames(tmp_path / "ipp.pcap", 1, frames)
    seen, _ = assert_invariant(tmp_path / "ipp.pcap", tmp_path)
    kinds = sorted(k[1] for k in seen["http"].elements())
    assert kinds == ["ipp_request", "ipp_request", "ipp_response", "ipp_response", "request", "request",
                     "response", "response"]
    answers = [json.loads(k[-1]) for k in seen["http"] if k[1] == "ipp_response"]
    assert response() in answers


# ---- a CUPS scheduler answering for its queue is no printer ----

@pytest.mark.parametrize("marker", [
    attr(URI, "printer-uri-supported", "ipp://cups.corp.example:631/printers/HP_LaserJet_M404"),
    attr(URI, "printer-uri-supported", "ipps://cups.corp.example/classes/floor2"),
    attr(ENUM, "printer-type", 0x801C),  # CUPS's extension (CUPS Implementation of IPP): a printer queue's bits
])
def test_a_cups_queues_answer_is_told_from_a_printers_own(marker: bytes) -> None:
    # the make and model, the 1284 id are the queue's driver's or its printer's, never the Linux server's
    body = printer(marker, attr(TEXT, "printer-make-and-model", "HP LaserJet Pro M404-M405, hpcups 3.22.10"),
                   attr(TEXT, "printer-device-id", HP_DEVICE_ID))
    _, obs = ipp([(True, ipp_post(CUPS_GET_PRINTER_ATTRIBUTES, path=b"/printers/HP_LaserJet_M404")),
                  (False, ipp_answer(body, server=b"CUPS/2.4 IPP/2.1"))])
    assert obs.kind == "ipp_queue_response" and obs.fields["ipp_cups_queue"] is True
    assert obs.fields["ipp_device_mfg"] == "HP"  # still described, read by no identity rule


def test_a_printers_own_answer_is_no_queue() -> None:
    _, obs = ipp([(True, ipp_post(CUPS_GET_PRINTER_ATTRIBUTES)), (False, ipp_answer(HP_PRINTER_ATTRIBUTES))])
    assert obs.kind == "ipp_response" and obs.fields["ipp_cups_queue"] is False
