"""DICOM Upper Layer dissector: association set-up, DIMSE command names, never patient data.

The real capture (tests/dissect/data/dicom_pynetdicom.pcap, made by make_dicom_capture.py): pynetdicom 3.0.4's
SCU "CT_SCANNER" (127.0.0.2) associates with the storage SCP "ARCHIVE" (127.0.0.1:11112) for Verification and
CT Image Storage, sends C-ECHO and C-STORE of one synthetic CT image, releases; then asks for the AE "WRONG_AE"
and is rejected (A-ASSOCIATE-RJ, reason 7: called AE title not recognised, PS3.8 Table 9-21).
"""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import CONFIRMED_STATE_KEY, Packet
from iotwarden.dissect.dicom import (
    MAX_ASSOCIATE,
    MAX_COMMAND,
    MAX_COMMANDS,
    MAX_SOP_CLASSES,
    DicomDissector,
    parse_command,
)
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.dissect.data.captures import HERE, by_dissector, by_engine, comparable
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, feed_capture_any_port, feed_chunks, mutate
from tests.dissect.test_streambuf_resegmented import assert_invariant
from tests.pcaputil import iter_packets

CAPTURE = "dicom_pynetdicom.pcap"
SCP, SCU = "127.0.0.1", "127.0.0.2"
PYNETDICOM_UID = "1.2.826.0.1.3680043.9.3811.3.0.4"  # pynetdicom/__init__.py: PYNETDICOM_UID_PREFIX + version


def _observed() -> list[Observation]:
    return by_dissector(DicomDissector(), CAPTURE)


def _client_bytes() -> list[tuple[bool, bytes]]:
    """The real capture's first association, both directions, as (to_server, payload) chunks."""
    out: list[tuple[bool, bytes]] = []
    first_port: int | None = None
    for pkt in iter_packets(HERE / CAPTURE):
        if not pkt.payload:
            continue
        client_port = pkt.src_port if pkt.dst_port == 11112 else pkt.dst_port
        first_port = first_port or client_port
        if client_port == first_port:
            out.append((pkt.dst_port == 11112, pkt.payload))
    return out


def test_the_engine_and_the_dissector_agree_on_every_pdu() -> None:
    observed = _observed()
    assert comparable(by_engine("dicom", CAPTURE)) == comparable(observed)
    assert Counter(o.kind for o in observed) == {"associate_rq": 2, "associate_ac": 1, "command": 4,
                                                 "associate_rj": 1}


def test_the_association_names_both_ends_their_software_and_the_sop_classes() -> None:
    observed = _observed()
    rq = next(o for o in observed if o.kind == "associate_rq")
    ac = next(o for o in observed if o.kind == "associate_ac")
    assert rq.src_ip == SCU and ac.src_ip == SCP
    assert (rq.fields["ae_title"], rq.fields["peer_ae_title"]) == ("CT_SCANNER", "ARCHIVE")
    assert (ac.fields["ae_title"], ac.fields["peer_ae_title"]) == ("ARCHIVE", "CT_SCANNER")
    for o in (rq, ac):
        assert o.fields["implementation_class_uid"] == PYNETDICOM_UID
        assert o.fields["implementation_version"] == "PYNETDICOM_304"
        assert o.fields["phi_contexts"] is True
    assert rq.fields["requested_sop_classes"] == ["Verification SOP Class", "CT Image Storage"]
    assert ac.fields["accepted_sop_classes"] == ["Verification SOP Class", "CT Image Storage"]


def test_commands_are_named_with_their_sop_class_and_status() -> None:
    commands = [(o.src_ip, o.fields["command"], o.fields["sop_class"], o.fields.get("status"),
                 o.fields["from_requestor"]) for o in _observed() if o.kind == "command"]
    assert commands == [(SCU, "C-ECHO-RQ", "Verification SOP Class", None, True),
                        (SCP, "C-ECHO-RSP", "Verification SOP Class", 0, False),
                        (SCU, "C-STORE-RQ", "CT Image Storage", None, True),
                        (SCP, "C-STORE-RSP", "CT Image Storage", 0, False)]


def test_the_rejection_says_why() -> None:
    rj = next(o for o in _observed() if o.kind == "associate_rj")
    assert rj.src_ip == SCP
    assert rj.fields == {"result": "rejected-permanent", "source": "service-user", "reason": 7}


def test_no_patient_data_ever_leaves_the_dissector() -> None:
    """Privacy: the synthetic image's patient name and ID, and its pixel bytes, cross the wire in the capture's
    C-STORE data set but appear in no Observation."""
    raw = (HERE / CAPTURE).read_bytes()
    assert b"SYNTHETIC^TEST" in raw and b"SYN0001" in raw and bytes(range(64)) in raw
    text = repr([o.fields for o in _observed()])
    assert "SYNTHETIC" not in text and "SYN0001" not in text and "\\x00\\x01\\x02" not in text


def test_the_real_capture_observes_the_same_however_its_tcp_is_cut(tmp_path: Path) -> None:
    seen, stats = assert_invariant(HERE / CAPTURE, tmp_path)
    assert sum(seen["dicom"].values()) == 8 and all(s.parse_errors["dicom"] == 0 for s in stats)


def test_one_byte_at_a_time_gives_the_same() -> None:
    chunks = _client_bytes()
    whole = feed_chunks(DicomDissector(), chunks)
    bytewise = feed_chunks(DicomDissector(), [(d, bytes([b])) for d, data in chunks for b in data])
    assert [(o.kind, o.fields) for o in bytewise] == [(o.kind, o.fields) for o in whole]
    assert len(whole) == 6


def _pdu(pdu_type: int, body: bytes) -> bytes:
    return struct.pack(">BBI", pdu_type, 0, len(body)) + body


def _packet(data: bytes) -> Packet:
    return Packet(ts=1.0, payload=data, src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=6, src_port=40000,
                  dst_port=104, to_server=True)


def test_release_pdus_confirm_and_abort_is_reported() -> None:
    state: dict[str, object] = {}
    assert DicomDissector().feed(_packet(_pdu(5, bytes(4))), _pdu(5, bytes(4)), state) == []
    assert state[CONFIRMED_STATE_KEY] is True
    aborted = feed_chunks(DicomDissector(), [(True, _pdu(7, bytes([0, 0, 2, 1])))])
    assert [(o.kind, o.fields) for o in aborted] == [("abort", {"source": "service-provider", "reason": 1})]


@pytest.mark.parametrize("data, error", [
    (_pdu(0x09, bytes(4)), "unknown PDU type"),
    (_pdu(0x05, bytes(6)), "fixed-size PDU"),
    (_pdu(0x04, bytes(6)), "before an association"),
    (struct.pack(">BBI", 1, 0, MAX_ASSOCIATE + 1), "over"),
])
def test_what_is_not_dicom_is_refused(data: bytes, error: str) -> None:
    d = DicomDissector()
    state: dict[str, object] = {}
    pkt = _packet(data)
    with pytest.raises(ParseError, match=error):
        d.feed(pkt, data, state)
    assert state["done"] is True


def test_a_command_set_reads_only_its_named_elements() -> None:
    command = (struct.pack("<HHI", 0, 0x0002, 26) + b"1.2.840.10008.5.1.4.1.1.2\x00"
               + struct.pack("<HHIH", 0, 0x0100, 2, 0x0020)
               + struct.pack("<HHI", 0, 0x1000, 8) + b"SECRET^X")  # an element never read
    assert parse_command(command) == {"sop_class": "CT Image Storage", "command": "C-FIND-RQ"}
    with pytest.raises(ParseError):
        parse_command(struct.pack("<HHI", 8, 0x0010, 4) + b"NAME")  # a data set element, not a command


def test_commands_per_flow_are_bounded() -> None:
    chunks = _client_bytes()
    association = chunks[:2]
    echo = chunks[2]
    assert echo[0] and echo[1][0] == 4
    made = feed_chunks(DicomDissector(), association + [echo] * (MAX_COMMANDS + 5))
    assert sum(o.kind == "command" for o in made) == MAX_COMMANDS


def test_probe() -> None:
    d = DicomDissector()
    rq = _client_bytes()[0][1]
    assert d.probe(rq, True) and d.probe(rq[:60], True)
    assert not d.probe(rq[:20], True)
    assert not d.probe(b"GET / HTTP/1.1\r\n" * 8, True)
    assert not d.probe(b"\x01\x00" + rq[2:6] + b"\x00\x01" + b"\x00" * 60, True)  # AE titles not text


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(DicomDissector(), TCPDUMP_DIR / name)


@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(DicomDissector(), chunks)


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 1300))
def test_fuzz_the_real_association_mutated(edits: list[tuple[int, int]], cut: int) -> None:
    chunks = _client_bytes()
    joined = [(d, mutate(data, edits, cut)) for d, data in chunks]
    feed_chunks(DicomDissector(), joined)


# User Identity sub-item (PS3.7 §D.3.3.7.1): type 2 (username and passcode), no response asked, each field
# with its 16-bit length
USER_IDENTITY = b"\x02\x00" + struct.pack(">H", 9) + b"rad-tech7" + struct.pack(">H", 6) + b"s3cret"


def _associate_rq(abstract_syntaxes: list[str]) -> bytes:
    """An A-ASSOCIATE-RQ proposing one presentation context per abstract syntax (PS3.8 §9.3.2)."""
    def item(kind: int, value: bytes) -> bytes:
        return struct.pack(">BBH", kind, 0, len(value)) + value

    contexts = b"".join(item(0x20, bytes([2 * i + 1, 0, 0, 0]) + item(0x30, uid.encode())
                             + item(0x40, b"1.2.840.10008.1.2"))
                        for i, uid in enumerate(abstract_syntaxes))
    body = (struct.pack(">HH", 1, 0) + b"ARCHIVE".ljust(16) + b"MODALITY".ljust(16) + bytes(32)
            + item(0x10, b"1.2.840.10008.3.1.1.1") + contexts
            + item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.276.0.7230010.3.0.3.6.8")
                   + item(0x55, b"OFFIS_DCMTK_368") + item(0x58, USER_IDENTITY)))
    return _pdu(1, body)


def test_a_dcmtk_requestor_and_its_sop_classes_are_bounded() -> None:
    uids = [f"1.2.840.10008.5.1.4.1.1.{n}" for n in range(1, 60)]
    (rq,) = feed_chunks(DicomDissector(), [(True, _associate_rq(uids))])
    assert rq.fields["implementation_class_uid"] == "1.2.276.0.7230010.3.0.3.6.8"
    assert rq.fields["implementation_version"] == "OFFIS_DCMTK_368"
    assert rq.fields["user_identity_type"] == 2 and b"rad-tech7" in USER_IDENTITY and "rad-tech7" not in repr(rq.fields)
    assert "s3cret" not in repr(rq.fields)  # neither the username nor the passcode is read
    assert (rq.fields["ae_title"], rq.fields["peer_ae_title"]) == ("MODALITY", "ARCHIVE")
    assert len(rq.fields["requested_sop_classes"]) == MAX_SOP_CLASSES
    assert rq.fields["requested_sop_classes"][:2] == ["Computed Radiography Image Storage", "CT Image Storage"]


def test_a_command_fragment_over_the_limit_ends_the_flow() -> None:
    chunks = _client_bytes()
    big = MAX_COMMAND + 1
    pdv = struct.pack(">IBB", big + 2, 1, 0x01) + bytes(big)
    made = feed_chunks(DicomDissector(), [*chunks[:2], (True, _pdu(4, pdv))])
    assert [o.kind for o in made] == ["associate_rq", "associate_ac"]


def test_a_data_set_is_skipped_however_large_and_the_next_command_read() -> None:
    """A data set PDV far over the dissector's buffer is skipped as it arrives, never held."""
    chunks = _client_bytes()
    data_len = 10 * MAX_ASSOCIATE
    data_pdu = _pdu(4, struct.pack(">IBB", data_len + 2, 1, 0x02) + bytes(data_len))
    pieces = [(True, data_pdu[i:i + 1400]) for i in range(0, len(data_pdu), 1400)]
    made = feed_chunks(DicomDissector(), [*chunks[:2], *pieces, chunks[2]])
    assert [o.kind for o in made] == ["associate_rq", "associate_ac", "command"]


def test_tls_is_not_dicom() -> None:
    client_hello = bytes.fromhex("160301006e0100006a0303") + bytes(100)
    assert not DicomDissector().probe(client_hello, True)
