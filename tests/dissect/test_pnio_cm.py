"""PROFINET IO context management (IEC 61158-6-10 §5.1) on udp/34964: spec-built Read/Write/Control/Connect PDUs in
both byte orders, I&M0 and I&M0FilterData records, the EPM lookup answer's annotation, the shared ics_iti
profinet.pcap, negatives and the ParseError contract under fuzzing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.pnio_blocks import MAX_EPM_ENTRIES, MAX_SUBMODULES
from iotwarden.dissect.pnio_cm import MAX_SHARING, PnioCmDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import operation_of
from tests.conftest import shared
from tests.dissect import pniobuild as b
from tests.dissect.discovery import CUTS, EDITS, by_frame, contract_call, mutate, single, udp
from tests.dissect.ot_captures import run, sweep_captures, sweep_id

D = PnioCmDissector()
CPU = b.pnio_object(0x002A, 0x0101)


def one(raw: bytes, state: dict[str, Any] | None = None, *, to_device: bool = True) -> Observation:
    pkt = udp(raw, 0xC001, 34964) if to_device else udp(raw, 34964, 0xC001)
    (obs,) = D.dissect(pkt, {} if state is None else state)
    return obs


@pytest.mark.parametrize("order", ["<", ">"])
def test_an_im0_answer_states_the_device(order: str) -> None:
    obs = one(b.read_response(0xAFF0, b.im0(), obj=CPU, order=order), to_device=False)
    f = obs.fields
    assert (obs.kind, f["interface"], f["operation"], f["pnio_status"]) == \
        ("response", "pnio_device", "read_implicit", "ok")
    assert (f["vendor_id"], f["device_id"], f["instance"]) == (0x002A, 0x0101, 1)
    assert (f["index"], f["index_name"], f["slot"], f["subslot"], f["record_length"]) == (0xAFF0, "im0", 0, 1, 60)
    assert (f["order_id"], f["serial_number"], f["hardware_revision"], f["software_revision"]) == \
        ("6ES7 315-2EH14-0AB0", "S C-X4U421302009", 3, "V3.2.6")
    assert (f["revision_counter"], f["profile_id"], f["im_version"], f["im_supported"]) == (0, 0, "1.1", 0x1E)
    assert f["byte_order"] == ("little" if order == "<" else "big") and operation_of(f) is None


def test_a_module_im0_is_not_the_devices() -> None:
    f = one(b.read_response(0xAFF0, b.im0(order_id=b"6ES7 131-6BF00-0BA0", vendor=0x2A), slot=2, obj=CPU)).fields
    assert "order_id" not in f and f["vendor_id"] == 0x002A  # the object UUID's id still names the device
    assert (f["module_im0"]["slot"], f["module_im0"]["order_id"]) == (2, "6ES7 131-6BF00-0BA0")


def test_the_filter_data_device_block_names_the_devices_own_submodule() -> None:
    state: dict[str, Any] = {}
    record = b.filter_block(0x0030, [(0, 1, 1), (1, 1, 7)]) + b.filter_block(0x0032, [(1, 1, 7)])
    f = one(b.read_response(0xF840, record), state).fields
    assert [(e["slot"], e["subslot"]) for e in f["im0_submodules"]] == [(0, 1), (1, 1)]
    assert f["im0_device"] == [{"api": 0, "slot": 1, "subslot": 1, "module_ident": 7, "submodule_ident": 7}]
    assert "order_id" not in one(b.read_response(0xAFF0, b.im0(), slot=0), state).fields  # slot 0 is a module here
    assert one(b.read_response(0xAFF0, b.im0(), slot=1), state).fields["order_id"] == "6ES7 315-2EH14-0AB0"


def test_filter_lists_are_bounded() -> None:
    f = one(b.read_response(0xF840, b.filter_block(0x0030, [(0, n, n) for n in range(MAX_SUBMODULES + 9)]))).fields
    assert len(f["im0_submodules"]) == MAX_SUBMODULES


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_read_request_names_its_record_and_target(order: str) -> None:
    f = one(b.read_request(0xAFF0, slot=0, subslot=1, order=order, opnum=2, target=CPU)).fields
    assert (f["operation"], f["index_name"], f["record_length"]) == ("read", "im0", 32768)
    assert (f["target_vendor_id"], f["target_device_id"], "vendor_id" in f) == (0x002A, 0x0101, False)
    assert operation_of(f) is None


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_write_is_a_config_operation(order: str) -> None:
    f = one(b.write_request(0xAFF1, b"\x00" * 54, order=order)).fields
    assert (f["operation"], f["index_name"], f["record_length"]) == ("write", "im1", 54)
    assert operation_of(f) == ("config", "write_im1")
    assert operation_of(one(b.write_request(0x8030, b"\x01\x02")).fields) == ("config", "write_0x8030")


def test_a_write_multiple_lists_its_records() -> None:
    entries = b.record_header(0x0008, 0xAFF1, 54) + bytes(54) + bytes(2) + b.record_header(0x0008, 0x8030, 4) + bytes(4)
    f = one(b.write_request(0xE040, entries)).fields
    assert (f["index_name"], f["written"], operation_of(f)) == ("write_multiple", ["im1", "0x8030"],
                                                               ("config", "write_write_multiple"))
    with pytest.raises(ParseError, match="WriteMultiple"):
        D.dissect(udp(b.write_request(0xE040, bytes(64)), 0xC001, 34964), {})


def test_a_write_answer_and_a_fault() -> None:
    stub = b.response_stub(b.record_header(0x8008, 0xAFF1, 54), status=bytes.fromhex("de80b000"))
    f = one(b.cl(b.RESPONSE, stub, opnum=3), to_device=False).fields
    assert (f["operation"], f["pnio_status"], f["record_status"], f["index_name"], operation_of(f)) == \
        ("write", "de80b000", "ok", "im1", None)
    fault = one(b.cl(b.FAULT, b"\x03\x00\x01\x1c", opnum=3), to_device=False)
    assert (fault.kind, fault.fields["status"]) == ("fault", 0x1C010003)


def test_control_prm_end_is_a_config_operation_release_is_not() -> None:
    f = one(b.control_request(0x0001)).fields
    assert (f["operation"], f["control"], operation_of(f)) == ("control", ["prm_end"], ("config", "control_prm_end"))
    f = one(b.control_request(0x0004, kind=0x0114, order=">")).fields
    assert f["control"] == ["release"] and operation_of(f) == ("config", "control_release")
    # the device's ApplicationReady goes to the controller's interface: no operation on a device
    f = one(b.control_request(0x0002, kind=0x0112, interface=b.PNIO_CONTROLLER)).fields
    assert (f["interface"], f["control"], operation_of(f)) == ("pnio_controller", ["application_ready"], None)


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_connect_names_the_controller(order: str) -> None:
    f = one(b.connect_request(b"plc-line-1", order=order)).fields
    assert (f["operation"], f["ar_type"], f["initiator_station_name"], f["initiator_mac"]) == \
        ("connect", "iocar_single", "plc-line-1", "00:1b:1b:02:9a:c3")
    assert operation_of(f) is None
    assert one(b.connect_request(b"pg", ar_type=0x0006)).fields["ar_type"] == "iosar"


def _connect(dissector: PnioCmDissector, controller: str, device: str, *, sport: int = 0xC001,
             ar_type: int = 0x0001, status: bytes | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Connect from ``controller`` to ``device`` on a flow of its own (answered with ``status`` when given), then
    a Write on that flow: the Connect's fields and the Write's."""
    state: dict[str, Any] = {}
    (connect,) = dissector.dissect(udp(b.connect_request(ar_type=ar_type), sport, 34964, src_ip=controller,
                                       dst_ip=device), state)
    if status is not None:
        dissector.dissect(udp(b.connect_response(status), 34964, sport, src_ip=device, dst_ip=controller), state)
    (write,) = dissector.dissect(udp(b.write_request(0x8000, bytes(8)), sport, 34964, src_ip=controller,
                                     dst_ip=device), state)
    return connect.fields, write.fields


def test_the_devices_first_io_controller_owns_it_and_another_takes_it_over() -> None:
    d = PnioCmDissector()
    connect, write = _connect(d, "10.0.0.1", "10.0.0.10", status=b.OK)
    assert "previous_controller" not in connect and write["ar_setup"] is True and operation_of(write) is None
    connect, write = _connect(d, "10.0.0.1", "10.0.0.10", sport=0xC002)  # its restart: the same controller
    assert operation_of(write) is None
    connect, write = _connect(d, "10.0.0.66", "10.0.0.10", sport=0xC003)
    assert connect["previous_controller"] == "10.0.0.1" and operation_of(connect) is None
    assert (write["ar_takeover"], write["previous_controller"]) == (True, "10.0.0.1")
    assert operation_of(write) == ("config", "takeover_write_0x8000")
    _, write = _connect(d, "10.0.0.66", "10.0.0.11", sport=0xC004)  # another device: its first controller
    assert operation_of(write) is None


def test_a_refused_connect_opens_no_ar_and_claims_nothing() -> None:
    d = PnioCmDissector()
    _, write = _connect(d, "10.0.0.66", "10.0.0.10", status=b.REFUSED)
    assert "ar_setup" not in write and operation_of(write) == ("config", "write_0x8000")
    _, write = _connect(d, "10.0.0.1", "10.0.0.10", sport=0xC002, status=b.OK)
    assert operation_of(write) is None  # the refused host never became the controller


def test_a_system_redundancy_device_has_two_controllers() -> None:
    d = PnioCmDissector()
    for controller in ("10.0.0.1", "10.0.0.2"):
        _, write = _connect(d, controller, "10.0.0.10", sport=0xC000 + int(controller[-1]), ar_type=0x0020)
        assert operation_of(write) is None
    _, write = _connect(d, "10.0.0.3", "10.0.0.10", sport=0xC003, ar_type=0x0020)
    assert operation_of(write) == ("config", "takeover_write_0x8000")
    d = PnioCmDissector()  # a single-controller AR first: no partner is expected
    _connect(d, "10.0.0.1", "10.0.0.10")
    _, write = _connect(d, "10.0.0.2", "10.0.0.10", sport=0xC002, ar_type=0x0020)
    assert operation_of(write) == ("config", "takeover_write_0x8000")


def test_a_connect_lists_the_submodules_it_expects() -> None:
    blocks = b.expected_block(0, [(1, 0), (0x8000, 0)]) + b.expected_block(1, [(1, 3)], api=0x3A00) + \
        b.expected_block(2, [(1, 2), (2, 1)])
    f = one(b.connect_request(expected=blocks)).fields
    assert f["expected_submodules"] == ["0/0/1", "0/0/32768", "14848/1/1", "0/2/1", "0/2/2"]


def test_a_shared_device_takes_controllers_for_other_submodules() -> None:
    d = PnioCmDissector()
    slot1, slot2 = b.expected_block(1, [(1, 1)]), b.expected_block(2, [(1, 1)])
    for i, (controller, blocks) in enumerate((("10.0.0.1", slot1), ("10.0.0.2", slot2))):
        state: dict[str, Any] = {}
        d.dissect(udp(b.connect_request(expected=blocks), 0xC000 + i, 34964, src_ip=controller, dst_ip="10.0.0.10"),
                  state)
        (write,) = d.dissect(udp(b.write_request(0x8000, bytes(8)), 0xC000 + i, 34964, src_ip=controller,
                                 dst_ip="10.0.0.10"), state)
        assert operation_of(write.fields) is None
    (connect,) = d.dissect(udp(b.connect_request(expected=slot2), 0xC009, 34964, src_ip="10.0.0.66",
                               dst_ip="10.0.0.10"), {})
    assert connect.fields["previous_controller"] == "10.0.0.2"  # the owner of the submodule it claims
    _, fields = _connect(d, "10.0.0.67", "10.0.0.10", sport=0xC00A)  # no submodules read: the whole device
    assert operation_of(fields) == ("config", "takeover_write_0x8000")


def test_past_max_sharing_a_controller_of_other_submodules_is_no_takeover() -> None:
    # MAX_SHARING controllers share the device, each its own slot: one more asking for a slot none claimed may be
    # one more of its own, unknown past the bound, so nothing is said (before: a takeover of the first one's); one
    # asking for a known controller's slot still takes it over
    d = PnioCmDissector()
    for i in range(MAX_SHARING + 1):
        state: dict[str, Any] = {}
        (connect,) = d.dissect(udp(b.connect_request(expected=b.expected_block(i + 1, [(1, 1)])), 0xC000 + i, 34964,
                                   src_ip=f"10.0.0.{i + 1}", dst_ip="10.0.0.100"), state)
        (write,) = d.dissect(udp(b.write_request(0x8000, bytes(8)), 0xC000 + i, 34964, src_ip=f"10.0.0.{i + 1}",
                                 dst_ip="10.0.0.100"), state)
        assert "previous_controller" not in connect.fields and operation_of(write.fields) is None, i
    (connect,) = d.dissect(udp(b.connect_request(expected=b.expected_block(1, [(1, 1)])), 0xC0F0, 34964,
                               src_ip="10.0.0.66", dst_ip="10.0.0.100"), {})
    assert connect.fields["previous_controller"] == "10.0.0.1"


def test_io_controllers_are_remembered_for_max_devices() -> None:
    d = PnioCmDissector(max_devices=2)
    for i in range(3):
        _connect(d, "10.0.0.1", f"10.0.0.{10 + i}", sport=0xC000 + i)
    assert len(d._controllers) == 2
    _, write = _connect(d, "10.0.0.66", "10.0.0.10", sport=0xC010)  # 10.0.0.10 forgotten: a first controller again
    assert operation_of(write) is None
    _, write = _connect(d, "10.0.0.66", "10.0.0.12", sport=0xC011)
    assert operation_of(write) == ("config", "takeover_write_0x8000")


CONNECTS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4), st.sampled_from([0x0001, 0x0006, 0x0020]),
                              st.sampled_from([None, b.OK, b.REFUSED]), st.sets(st.integers(1, 4), max_size=3)),
                    max_size=40)


@settings(max_examples=150, deadline=None)
@given(CONNECTS)
def test_the_controller_table_stays_bounded_whatever_connects_come(connects: list[tuple[Any, ...]]) -> None:
    """Any sequence of Connects (controllers, devices, AR types, answers, claimed slots) keeps the table within
    its limits, each device's controllers distinct, and a takeover always names a controller the device had."""
    d = PnioCmDissector(max_devices=3)
    for i, (controller, device, ar_type, status, slots) in enumerate(connects):
        blocks = b"".join(b.expected_block(slot, [(1, 1)]) for slot in sorted(slots))
        ip, device_ip = f"10.0.0.{controller + 1}", f"10.0.1.{device + 1}"
        state: dict[str, Any] = {}
        (connect,) = d.dissect(udp(b.connect_request(ar_type=ar_type, expected=blocks), 0xC000 + i, 34964,
                                   src_ip=ip, dst_ip=device_ip), state)
        if status is not None:
            d.dissect(udp(b.connect_response(status), 34964, 0xC000 + i, src_ip=device_ip, dst_ip=ip), state)
        previous = connect.fields.get("previous_controller")
        assert previous is None or (previous != ip and previous.startswith("10.0.0."))
        assert len(d._controllers) <= 3
        for _, owners in d._controllers.values():
            controllers = [owner for owner, _ in owners]
            assert len(controllers) == len(set(controllers)) <= MAX_SHARING


@pytest.mark.parametrize("order", ["<", ">"])
def test_the_epm_lookup_answer_annotation(order: str) -> None:
    epm_entry = ("00000000-0000-0000-0000-000000000000", b"\x00")
    f = one(b.lookup_response([epm_entry, (CPU, b.annotation())], order=order), to_device=False).fields
    assert (f["interface"], f["operation"], f["vendor_id"], f["device_id"]) == ("epm", "lookup", 0x002A, 0x0101)
    assert (f["device_type"], f["order_id"], f["hardware_revision"], f["software_revision"]) == \
        ("S7-300 CPU 315-2 PN/DP", "6ES7 315-2EH14-0AB0", 3, "V3.2.6")
    assert len(f["entries"]) == 2 and f["entries"][1]["object"] == CPU


def test_lookup_entries_are_bounded() -> None:
    many = [(b.pnio_object(1, n), b"x\x00") for n in range(MAX_EPM_ENTRIES + 4)]
    assert len(one(b.lookup_response(many), to_device=False).fields["entries"]) == MAX_EPM_ENTRIES


def test_the_ics_iti_read_implicit_of_im0_filter_data() -> None:
    # profinet/profinet.pcap, as tshark decodes it: a Read Implicit request of I&M0FilterData (slot 0/1) from
    # 10.10.0.150 and the device's answer listing the submodules with I&M0 (0/1, 0/3, 1/1), modules (1/1), device (0/1)
    got = by_frame(D, shared("pcaps", "ics_iti", "pcaps", "profinet", "profinet.pcap"))
    request, answer = single(got, 1), single(got, 2)
    assert (request.kind, request.src_ip, request.fields["operation"], request.fields["index_name"]) == \
        ("request", "10.10.0.150", "read_implicit", "im0_filter_data")
    assert (request.fields["target_vendor_id"], request.fields["target_device_id"]) == (0x015A, 0x0003)
    f = answer.fields
    assert (answer.kind, answer.src_ip, f["pnio_status"], f["record_length"]) == ("response", "10.10.0.129", "ok", 104)
    assert [(e["slot"], e["subslot"], e["submodule_ident"]) for e in f["im0_submodules"]] == \
        [(0, 1, 1), (0, 3, 0xFFFF010A), (1, 1, 0xFFFF8140)]
    assert [(e["slot"], e["subslot"]) for e in f["im0_modules"]] == [(1, 1)]
    assert [(e["slot"], e["subslot"]) for e in f["im0_device"]] == [(0, 1)]
    assert operation_of(request.fields) is None and operation_of(f) is None


@pytest.mark.parametrize("data", [
    b.cl(b.REQUEST, b"\x00" * 10),  # stub without its NDR header
    b.cl(b.REQUEST, b.request_stub(b.record_header(0x0009, 0xAFF0, 10))[:-8]),  # ActualCount past the stub
    b.cl(b.REQUEST, b.request_stub(b"\x00\x09\x00\x80\x01\x00" + bytes(20))),  # a block past its stub
    b.cl(b.REQUEST, b.request_stub(b.block(0x0009, bytes(20)))),  # a record header cut short
    b.cl(b.RESPONSE, b.response_stub(b.record_header(0x8009, 0xAFF0, 8) + b.block(0x0021, bytes(2))), flags1=0x28),
    b.lookup_response([(b.pnio_object(1, 1), b"abc")])[:-10],  # annotation past the stub
])
def test_malformed_pnio_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        D.dissect(udp(data, 34964, 0xC001), {})


def test_unknown_interfaces_and_housekeeping() -> None:
    f = one(b.cl(b.REQUEST, b"", interface="12345678-1234-1234-1234-123456789abc", opnum=9)).fields
    assert (f["interface"], f["operation"]) == ("12345678-1234-1234-1234-123456789abc", None)
    assert D.dissect(udp(b.cl(b.PING, b""), 0xC001, 34964), {}) == []


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(D, path)
    assert all(o.proto == "pnio_cm" for o in obs)


SEEDS = [b.read_response(0xAFF0, b.im0(), obj=CPU), b.read_response(0xF840, b.filter_block(0x0032, [(0, 1, 1)])),
         b.write_request(0xE040, b.record_header(0x0008, 0xAFF1, 2) + bytes(4)),
         b.write_request(0xAFF1, b"\x00" * 54, order=">"), b.control_request(),
         b.connect_request(expected=b.expected_block(1, [(1, 3), (2, 1)])), b.connect_response(),
         b.lookup_response([(CPU, b.annotation())])]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 0xC001, 34964), {})
    contract_call(D, udp(b.cl(b.RESPONSE, data, opnum=5), 34964, 0xC001), {})
    contract_call(D, udp(b.cl(b.RESPONSE, data, interface=b.EPM, opnum=2), 34964, 0xC001), {})


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SEEDS), EDITS, CUTS)
def test_mutated_pdus_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 34964, 0xC001), {})
