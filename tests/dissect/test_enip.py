"""EtherNet/IP dissector: identity from ListIdentity, every CIP request including embedded ones."""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.enip import MAX_PENDING, EnipDissector
from iotwarden.errors import ParseError
from iotwarden.lab.wire import checksum
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.gapfeed import GAP, converse
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

OPENICS = ("pcaps", "ics_iti", "pcaps", "openics")


def encap(command: int, data: bytes, context: bytes = bytes(8)) -> bytes:
    return struct.pack("<HHII", command, len(data), 1, 0) + context + bytes(4) + data


def rr(cip: bytes) -> bytes:
    """SendRRData: interface handle, timeout, 2 CPF items (null address, unconnected data)."""
    return encap(0x6F, bytes(6) + struct.pack("<HHHHH", 2, 0, 0, 0xB2, len(cip)) + cip)


def requests(path: Path) -> list[Observation]:
    obs, _ = run(EnipDissector(), path)
    return [o for o in obs if o.kind == "cip_request"]


def test_suricata_enip_log_identity() -> None:
    obs, errors = run(EnipDissector(), shared("pcaps", "suricata_verify", "enip-alert", "enip_test1.pcap"))
    assert not errors
    assert [o.kind for o in obs] == ["list_identity_request", "identity"]  # enip_command 99: 2 alerts
    identity = obs[1].fields
    # enip-log-identity and enip-keywords-suricata8 test.yaml values
    assert identity["product_name"] == "1756-ENBT/A" and identity["revision"] == "4.3"
    assert identity["vendor_id"] == 1 and identity["device_type"] == 12 and identity["product_code"] == 58
    assert identity["serial"] == "0x00524d8e" and identity["state"] == 3 and identity["status"] == 0x30
    assert identity["protocol_version"] == 1 and identity["ip"] == "10.1.1.164" and identity["port"] == 44818
    assert obs[1].subject == "src" and obs[1].src_port == 44818


def test_suricata_enip_keywords_cip_counts() -> None:
    path = shared("pcaps", "suricata_verify", "enip-keywords", "enip_cip_example.pcap")
    obs, _ = run(EnipDissector(), path)
    outer = [o for o in obs if o.kind == "cip_request" and "via" not in o.fields]
    # enip-frames: 41 Multiple Service Packets to the Message Router (class 2, instance 1)
    msp = [o for o in outer if o.fields["service_name"] == "multiple_service_packet"]
    assert len(msp) == 41 and {(o.fields["class"], o.fields["instance"]) for o in msp} == {(2, 1)}
    # enip-keywords-suricata8 sid 14: a request to class 1 instance 1 attribute 5 in 41 messages
    status_reads = {o.ts for o in obs if o.kind == "cip_request" and o.fields.get("class") == 1
                    and o.fields.get("instance") == 1 and 5 in o.fields.get("attributes", [])}
    assert len(status_reads) == 41


@pytest.mark.parametrize(("name", "service", "cls"), [
    ("EIP-RebootorRestart.pcap", "reset", 0x72),
    ("EIP-RemoteModeChangeAttempt.pcap", "stop", 0x8E),
    ("EIP-SoftwareDownload.pcap", "start", 0x8E),
    ("EIP-ChangeTimeAttempt.pcap", "set_attribute_list", 0x8B),
    ("EIP-ChangePortConfigurationAttempt.pcap", "set_attribute_single", 0xF6),
    ("EIP-FirmwareChange.pcap", "reset", 0x01),
])
def test_openics_operations_are_visible(name: str, service: str, cls: int) -> None:
    seen = {(o.fields["service_name"], o.fields.get("class")) for o in requests(shared(*OPENICS, name))}
    assert (service, cls) in seen


def test_firmware_update_goes_through_the_non_volatile_storage_object() -> None:
    nvs = Counter(o.fields["service"] for o in requests(shared(*OPENICS, "EIP-FirmwareChange.pcap"))
                  if o.fields.get("class_name") == "non_volatile_storage")
    assert nvs == {0x4B: 1, 0x4D: 5243, 0x51: 1}  # begin, 5243 data blocks, end


def test_identity_from_get_attributes_all_through_unconnected_send() -> None:
    obs, _ = run(EnipDissector(), shared(*OPENICS, "EIP-IPAddressChangeAttempt.pcap"))
    names = {o.fields["product_name"] for o in obs
             if o.kind == "identity" and o.fields["source"] == "get_attributes_all"}
    assert names == {"1756-L61/B LOGIX5561", "1756-ENBT/A", "MVI56 ProSoft Technology, Inc."}
    assert "unconnected_send" in {o.fields.get("via") for o in obs
                                  if o.kind == "cip_request" and o.fields.get("class") == 1}


def test_start_stop_and_pccc() -> None:
    ip = ("pcaps", "ics_iti", "pcaps", "EthernetIP")
    assert [o.fields["service_name"] for o in requests(shared(*ip, "cip_start_plc.pcap"))] == ["start"]
    assert [o.fields["service_name"] for o in requests(shared(*ip, "cip_stop_plc.pcap"))] == ["stop"]
    pccc = Counter(o.fields.get("pccc_function_name") for o in requests(shared("pcaps", "ics_iti", "pcaps", "CIP",
                                                                                  "cip_only.pcap")))
    assert pccc["change_mode"] == 2 and pccc["protected_typed_logical_masked_write"] == 4


def test_symbolic_tag_requests_name_the_tag() -> None:
    read = bytes([0x4C, 3, 0x91, 4]) + b"Tag1" + bytes([1, 0])
    out = EnipDissector().feed(_pkt(), rr(read), {})
    assert out[0].fields["service_name"] == "read_tag" and out[0].fields["symbol"] == "Tag1"


def test_replies_carry_their_request_path_and_status() -> None:
    d, state = EnipDissector(), {}
    d.feed(_pkt(), rr(bytes([0x10, 3, 0x20, 0xF5, 0x24, 1, 0x30, 5]) + b"\x01\x02"), state)
    reply = d.feed(_pkt(to_server=False), rr(bytes([0x90, 0, 0x0E, 0])), state)
    assert reply[0].kind == "cip_response" and reply[0].fields["status"] == "attribute_not_settable"
    assert reply[0].fields["service_name"] == "set_attribute_single" and reply[0].fields["class"] == 0xF5


CONTEXT = b"_pycomm_"  # one sender context for every request, as some client libraries send
GET_ALL_TCPIP = bytes([0x01, 2, 0x20, 0xF5, 0x24, 1])  # Get_Attributes_All of the TCP/IP Interface object
GET_ALL_IDENTITY = bytes([0x01, 2, 0x20, 0x01, 0x24, 1])  # ... of the Identity object
# TCP/IP Interface attributes 1-6 (Vol 2 §5-4.3): status, capability, control, path to the link object, interface
# configuration (address, mask, gateway, name servers, domain name), host name
TCPIP_ATTRIBUTES = (struct.pack("<III", 1, 0x94, 0) + struct.pack("<H", 2) + bytes([0x20, 0xF6, 0x24, 1])
                    + bytes([192, 168, 1, 10, 255, 255, 255, 0, 192, 168, 1, 1]) + bytes(8) + struct.pack("<H", 0)
                    + struct.pack("<H", 10) + b"plc-line-3")
IDENTITY_ATTRIBUTES = (struct.pack("<HHHBBHI", 1, 14, 149, 20, 11, 0x60, 0x00C0FFEE) + bytes([14])
                       + b"1756-L71/B LOG" + bytes([3]))


def _rr(cip: bytes) -> bytes:
    return encap(0x6F, bytes(6) + struct.pack("<HHHHH", 2, 0, 0, 0xB2, len(cip)) + cip, CONTEXT)


def test_a_constant_sender_context_pairs_pipelined_requests_in_order() -> None:
    # two Get_Attributes_All with one sender context before the first reply: before, the second replaced the first,
    # so the TCP/IP object's attributes were read as the device's identity (and the real identity reply paired with
    # nothing)
    out = converse(EnipDissector(), [
        (True, _rr(GET_ALL_TCPIP) + _rr(GET_ALL_IDENTITY)),
        (False, _rr(bytes([0x81, 0, 0, 0]) + TCPIP_ATTRIBUTES)),
        (False, _rr(bytes([0x81, 0, 0, 0]) + IDENTITY_ATTRIBUTES)),
    ], None, 44818)
    assert [o.fields.get("class") for o in out if o.kind == "cip_response"] == [0xF5, 0x01]
    identities = [o.fields for o in out if o.kind == "identity"]
    assert [(i["product_name"], i["serial"], i["vendor_id"]) for i in identities] == [
        ("1756-L71/B LOG", "0x00c0ffee", 1)]


def test_a_reply_lost_in_a_hole_shifts_no_later_reply_of_a_constant_sender_context() -> None:
    out = converse(EnipDissector(), [
        (True, _rr(GET_ALL_IDENTITY)), (False, GAP),
        (True, _rr(GET_ALL_TCPIP)), (False, _rr(bytes([0x81, 0, 0, 0]) + TCPIP_ATTRIBUTES)),
        (True, _rr(GET_ALL_IDENTITY)), (False, _rr(bytes([0x81, 0, 0, 0]) + IDENTITY_ATTRIBUTES)),
    ], None, 44818)
    assert [o.fields.get("class") for o in out if o.kind == "cip_response"] == [0xF5, 0x01]
    assert [o.fields["product_name"] for o in out if o.kind == "identity"] == ["1756-L71/B LOG"]


def test_an_encapsulation_error_answers_its_request() -> None:
    # Vol 2 §2-3.3: a SendRRData the target refuses is answered by its header alone with a status (0x0003: poorly
    # formed or incorrect data), its sender context echoed
    refused = struct.pack("<HHII", 0x6F, 0, 1, 0x0003) + CONTEXT + bytes(4)
    out = converse(EnipDissector(), [
        (True, _rr(GET_ALL_TCPIP)), (False, refused),
        (True, _rr(GET_ALL_IDENTITY)), (False, _rr(bytes([0x81, 0, 0, 0]) + IDENTITY_ATTRIBUTES)),
    ], None, 44818)
    assert [o.fields["encap_status"] for o in out if o.kind == "encapsulation"] == [3]
    assert [o.fields.get("class") for o in out if o.kind == "cip_response"] == [0x01]
    assert [o.fields["product_name"] for o in out if o.kind == "identity"] == ["1756-L71/B LOG"]


def test_pending_requests_are_bounded() -> None:
    d, state = EnipDissector(), {}
    for i in range(MAX_PENDING + 5):
        d.feed(_pkt(), encap(0x6F, bytes(6) + struct.pack("<HHHHH", 2, 0, 0, 0xB2, 6) + bytes([1, 2, 0x20, 1, 0x24, 1]),
                             context=i.to_bytes(8, "little")), state)
    assert len(state["pending"]) == MAX_PENDING


def test_unknown_commands_desynchronise_and_recover() -> None:
    d, state = EnipDissector(), {}
    with pytest.raises(ParseError):
        d.feed(_pkt(), b"\x06\x00" + bytes(30), state)  # 0x0006: reserved for future use, no length to trust
    assert d.feed(_pkt(), encap(0x63, b""), state)[0].kind == "list_identity_request"


def test_a_legacy_command_is_framed_so_the_requests_sharing_its_segment_are_read() -> None:
    # RSLinx's 0x0001 (Vol 2 Table 2-3.2: reserved for legacy usage), then ListServices and ListInterfaces, in one
    # segment as EIP-IPAddressChangeAttempt.pcap's frames 3600-3602 would be if the sender's stack coalesced them
    d, state = EnipDissector(), {}
    out = d.feed(_pkt(), encap(0x0001, b"") + encap(0x0004, b"") + encap(0x0064, b""), state)
    assert [(o.fields["command"], o.fields["command_name"]) for o in out] == [
        (0x0001, "reserved_legacy"), (0x0004, "list_services"), (0x0064, "list_interfaces")]


def _records(path: Path) -> list[tuple[bytes, bytes]]:
    """(record header, frame) of a little-endian classic pcap."""
    raw, at, out = path.read_bytes(), 24, []
    while at < len(raw):
        end = at + 16 + struct.unpack_from("<I", raw, at + 8)[0]
        out.append((raw[at : at + 16], raw[at + 16 : end]))
        at = end
    return out


def _segment(frame: bytes) -> tuple[int, bytes] | None:
    """(source port, payload) of an Ethernet/IPv4/TCP frame (the payload bounded by the IP total length, so without
    the Ethernet padding), else None."""
    if frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    tcp = 14 + (frame[14] & 0x0F) * 4
    return struct.unpack_from("!H", frame, tcp)[0], frame[tcp + (frame[tcp + 12] >> 4) * 4 : 14 + _ip_length(frame)]


def _ip_length(frame: bytes) -> int:
    return int(struct.unpack_from("!H", frame, 16)[0])


def _coalesced(frame: bytes, more: bytes) -> bytes:
    """``frame`` (Ethernet/IPv4/TCP) with ``more`` bytes after its payload (before any padding), the IP total length
    and both checksums made again (RFC 791 §3.1, RFC 9293 §3.1)."""
    end, tcp = 14 + _ip_length(frame), 14 + (frame[14] & 0x0F) * 4
    out = bytearray(frame[:end] + more + frame[end:])
    struct.pack_into("!H", out, 16, end - 14 + len(more))
    struct.pack_into("!H", out, 24, 0)
    struct.pack_into("!H", out, 24, checksum(bytes(out[14:tcp])))
    struct.pack_into("!H", out, tcp + 16, 0)
    pseudo = bytes(out[26:34]) + struct.pack("!BBH", 0, 6, end + len(more) - tcp)
    struct.pack_into("!H", out, tcp + 16, checksum(pseudo + bytes(out[tcp : end + len(more)])))
    return bytes(out)


def test_the_same_requests_from_the_capture_whether_segmented_or_coalesced(tmp_path: Path) -> None:
    path = shared(*OPENICS, "EIP-IPAddressChangeAttempt.pcap")
    records, merged = _records(path), []
    for head, frame in records:  # the client's three 24-byte requests (frames 3600-3602) become one segment
        seg, last = _segment(frame), _segment(merged[-1][1]) if merged else None
        if seg and seg[0] == 1135 and len(seg[1]) == 24 and last and last[0] == 1135 and 0 < len(last[1]) < 72:
            merged[-1] = (merged[-1][0], _coalesced(merged[-1][1], seg[1]))
            continue
        merged.append((head, frame))
    assert len(merged) == len(records) - 2
    coalesced = tmp_path / "coalesced.pcap"  # each record's length its frame's; time and original length kept
    coalesced.write_bytes(path.read_bytes()[:24] + b"".join(
        head[:8] + struct.pack("<I", len(frame)) + head[12:] + frame for head, frame in merged))

    def commands(capture: Path) -> Counter[str]:
        obs, _ = run(EnipDissector(), capture)
        return Counter(o.fields["command_name"] for o in obs if o.kind == "encapsulation")

    assert commands(path) == commands(coalesced)
    assert commands(coalesced)["list_services"] == 2 and commands(coalesced)["reserved_legacy"] == 2


def test_list_identity_over_udp() -> None:
    out = contract(EnipDissector(), encap(0x63, b""), ip_proto=17, port=44818)
    assert out[0].kind == "list_identity_request"


def test_probe() -> None:
    assert EnipDissector().probe(encap(0x65, b"\x01\x00\x00\x00"), True)
    assert not EnipDissector().probe(b"\x16\x03\x01" + bytes(30), True)


def _pkt(to_server: bool = True) -> Packet:
    return Packet(ts=0.0, payload=b"", ip_proto=6, src_port=40000 if to_server else 44818,
                  dst_port=44818 if to_server else 40000, to_server=to_server)


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(EnipDissector(), path)
    assert all(o.proto == "enip" for o in obs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_contract(data: bytes, to_server: bool) -> None:
    contract(EnipDissector(), data, to_server=to_server, port=44818)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_fuzz_cip_inside_valid_encapsulation(cip: bytes, to_server: bool) -> None:
    contract(EnipDissector(), rr(cip), to_server=to_server, port=44818)
    contract(EnipDissector(), encap(0x63, cip), to_server=False, port=44818)
