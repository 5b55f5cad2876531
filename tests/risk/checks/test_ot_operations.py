"""What counts as an OT write, program change, stop or firmware update, and who may send them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iotwarden.hooks import Context
from iotwarden.kb.index import KnowledgeBase
from iotwarden.model import Conclusion, Device, Observation
from iotwarden.model.device import DOMAINS_ATTRIBUTE
from iotwarden.risk.checks.ot_operations import behaviour_only, operation
from iotwarden.risk.checks.ot_program_change import OtProgramChange
from iotwarden.risk.checks.ot_unauthorized_write import OtUnauthorizedWrite
from iotwarden.risk.subjects import SubjectIndex
from tests.dissect import knxbuild as knx
from tests.risk.harness import analyse, found, key_of


def obs(proto: str, kind: str, **fields: Any) -> Observation:
    return Observation(ts=1.0, proto=proto, kind=kind, src_ip="10.0.0.5", dst_ip="10.0.0.50", fields=fields)


@pytest.mark.parametrize(("observation", "expected"), [
    (obs("modbus", "request", function_code=6, function="write_single_register", is_write=True),
     ("write", "write_single_register")),
    (obs("modbus", "request", function_code=90, umas_function="initialize_download"),
     ("program", "umas.initialize_download")),
    (obs("modbus", "request", function_code=90, umas_function="stop_plc"), ("stop", "umas.stop_plc")),
    (obs("modbus", "request", function_code=8, sub_function=4), ("stop", "diagnostics.4")),
    (obs("s7comm", "job", function="plc_stop"), ("stop", "plc_stop")),
    (obs("s7comm", "job", function="request_download"), ("program", "request_download")),
    (obs("s7comm", "job", function="plc_control", pi_service="_MODU"), ("program", "plc_control._MODU")),
    (obs("dnp3", "request", function="direct_operate"), ("write", "direct_operate")),
    (obs("dnp3", "request", function="cold_restart"), ("stop", "cold_restart")),
    (obs("enip", "cip_request", service_name="set_attribute_single", **{"class": 0xF5}),
     ("write", "set_attribute_single")),
    (obs("enip", "cip_request", service_name="object_specific", **{"class": 0xA1}),
     ("firmware", "non_volatile_storage.object_specific")),
    (obs("bacnet", "write_property"), ("write", "write_property")),
    (obs("bacnet", "reinitialize_device"), ("stop", "reinitialize_device")),
])
def test_operation_classes(observation: Observation, expected: tuple[str, str]) -> None:
    assert operation(observation) == expected


@pytest.mark.parametrize("observation", [
    obs("modbus", "request", function_code=3, function="read_holding_registers", is_write=False),
    obs("modbus", "response", function_code=6, is_write=True),  # the PLC's echo is no request
    obs("s7comm", "job", function="read_var"),
    obs("dnp3", "request", function="read"),
    obs("enip", "cip_request", service_name="get_attribute_single", **{"class": 0xA1}),
    obs("bacnet", "read_property"),
])
def test_reads_and_responses_are_no_operation(observation: Observation) -> None:
    assert operation(observation) is None


def test_each_observation_gets_its_own_answer_when_asked_in_turn() -> None:
    """Every risk.ot.* check asks about the same observation: the answer is remembered for the last
    one only, so observations taking turns (and a fresh copy of one) are each read as they are."""
    write = obs("modbus", "request", function_code=6, function="write_single_register", is_write=True)
    read = obs("modbus", "request", function_code=3, function="read_holding_registers", is_write=False)
    written = ("write", "write_single_register")
    for observation, expected in [(write, written), (write, written), (read, None), (write, written), (read, None)]:
        assert operation(observation) == expected
    copy = obs("modbus", "request", function_code=6, function="write_single_register", is_write=False)
    assert operation(copy) is None  # same fields but the write flag: another object, read afresh


def test_lab_engineering_station_may_write_and_a_workstation_may_not(small_lab: Any, enterprise_lab: Any) -> None:
    # small.yaml: ws-01 (a workstation) writes to plc-01; enterprise.yaml: eng-ws (an engineering
    # workstation) writes to plc-line1; both classified as the ground truth says
    ctx, _, truth = small_lab
    finding = found(ctx, "risk.ot.unauthorized_write")[key_of(truth, "plc-01")]
    assert finding.evidence["unauthorised_sources"] == [key_of(truth, "ws-01")]
    ctx, _, truth = enterprise_lab
    assert found(ctx, "risk.ot.unauthorized_write") == {}


def test_lab_engineering_station_is_one_by_its_own_name(enterprise_lab_classifier: Any) -> None:
    """enterprise.yaml's eng-ws goes online to plc-line2 as TIA Portal (S7comm-plus TSAP 'SIMATIC-ROOT-ES': the
    product's name for itself, identity evidence) and writes plc-line1's registers: the knowledge base types it
    an engineering workstation on that name, which authorises its writes."""
    ctx, _, truth = enterprise_lab_classifier
    eng_ws = ctx.devices[key_of(truth, "eng-ws")]
    assert eng_ws.device_type == "engineering_workstation"
    assert behaviour_only(eng_ws.classification["device_type"], frozenset({"engineering_workstation"})) is None
    assert found(ctx, "risk.ot.unauthorized_write") == {}


EWS = frozenset({"engineering_workstation"})


def _evidence(rule_id: str, concludes: str, behaviour: str | None, agrees: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"rule_id": rule_id, "value": "v", "concludes": concludes, "agrees": agrees}
    if behaviour:
        item["behaviour"] = behaviour
    return item


@pytest.mark.parametrize(("evidence", "expected"), [
    ([_evidence("s7.client.engineering_job", "engineering_workstation", "ot_operation"),
      _evidence("s7.client.pg_connection", "engineering_workstation", "ot_connection")],
     ["s7.client.engineering_job: v", "s7.client.pg_connection: v"]),
    ([_evidence("s7.client.engineering_job", "engineering_workstation", "ot_operation"),
      _evidence("s7plus.client.engineering", "engineering_workstation", None)], None),
    # a workstation's own evidence (its parent type) says nothing of engineering
    ([_evidence("s7.client.engineering_job", "engineering_workstation", "ot_operation"),
      _evidence("example.windows_workstation", "workstation", None)], ["s7.client.engineering_job: v"]),
    # identity evidence for another type, outvoted, vouches for nothing
    ([_evidence("umas.client.engineering", "engineering_workstation", "ot_operation"),
      _evidence("s7plus.client.engineering", "engineering_workstation", None, agrees=False)],
     ["umas.client.engineering: v"]),
    ([], None),  # a type set without rule evidence (an analyst's) is vouched for
])
def test_a_type_resting_on_behaviour_alone_is_not_vouched_for(evidence: list[dict[str, Any]],
                                                              expected: list[str] | None) -> None:
    assert behaviour_only(Conclusion("engineering_workstation", 0.9, evidence), EWS) == expected


def test_every_rule_typing_an_authorised_client_from_its_requests_is_behaviour() -> None:
    """The knowledge base's rules that conclude a type the risk.ot checks authorise (engineering_workstation,
    hmi, scada_server): those on a client's requests or connection resource are marked behaviour; the unmarked
    ones read a name the device gives itself. A new rule concluding these types must be sorted here. The generic
    OT client rules (service.client: ENIP/CIP, BACnet, DNP3, IEC 104, FINS, MELSOFT, ADS, ...) conclude a category
    only."""
    rules = KnowledgeBase.load().rules
    typing = {r.id: (r.attribute, r.behaviour) for r in rules
              if r.conclusions.get("device_type") in ("engineering_workstation", "hmi", "scada_server")}
    assert {rid: b for rid, (_, b) in typing.items() if b} == {
        "umas.client.engineering": "ot_operation", "s7.client.engineering_job": "ot_operation",
        "s7.client.pg_connection": "ot_connection", "s7.client.op_connection": "ot_connection",
        "knxip.client.device_management": "ot_connection"}
    assert {rid: a for rid, (a, b) in typing.items() if not b} == {
        "enip.product.panelview": "enip.product_name", "s7.order.hmi": "s7comm.module_order_number",
        "s7plus.client.engineering": "s7comm.dst_tsap_text", "s7plus.client.hmi": "s7comm.dst_tsap_text",
        # what a device answers about itself: its CIP Identity object's device profile, its MMS Identify
        "enip.device_type.hmi": "enip.device_type", "mms.model.areva_e_terra": "mms.model_name"}
    assert not [r.id for r in rules if r.attribute == "service.client" and "device_type" in r.conclusions]


def _knx_routed(tmp_path: Path, frames: list[bytes], *, announced: bool = True) -> dict[str, dict[str, Any]]:
    """risk.ot.* findings of the intruder routing ``frames`` to the KNX multicast group (after the site's search
    and description, where the router announces 1.1.0, or with nothing announced): check id -> subject -> finding."""
    site = knx.site(group_writes=2) if announced else []
    routed = [knx.datagram(knx.T0 + 30 + i, knx.INTRUDER, None, knx.routing(f)) for i, f in enumerate(frames)]
    ctx, _ = analyse(knx.write_frames(tmp_path / "routed.pcap", site + routed))
    return {check: found(ctx, check) for check in ("risk.ot.program_change", "risk.ot.cpu_stop",
                                                     "risk.ot.unauthorized_write")}


def test_knx_operations_routed_to_the_multicast_group_are_findings_on_the_router_of_the_line(tmp_path: Path) -> None:
    """Routed to 224.0.23.12, a memory write and a restart of 1.1.5 land on the KNX IP router coupling line 1.1
    (inventory/knx.py, as detect.ot's alerts do), never dropped as about the multicast group."""
    memory_write = knx.l_data(0x283, b"\x40\x00\x01\x02\x03", code=knx.L_DATA_IND)
    restart = knx.l_data(0x380, code=knx.L_DATA_IND)
    by_check = _knx_routed(tmp_path, [memory_write, restart])
    router = f"mac:{knx.ROUTER.mac}"
    assert set(by_check["risk.ot.program_change"]) == {router} and set(by_check["risk.ot.cpu_stop"]) == {router}
    assert by_check["risk.ot.program_change"][router].evidence["unauthorised_sources"] == [f"mac:{knx.INTRUDER.mac}"]
    assert by_check["risk.ot.unauthorized_write"] == {}


def test_knx_group_value_writes_routed_to_the_group_are_no_finding(tmp_path: Path) -> None:
    """The bus's normal operation, routed the same way, is no OT operation."""
    group_write = knx.l_data(0x081, group=True, dst=0x0A03, code=knx.L_DATA_IND)  # A_GroupValue_Write to 1/2/3
    assert all(not findings for findings in _knx_routed(tmp_path, [group_write]).values())


def test_a_routed_knx_operation_with_no_ip_device_known_lands_on_no_other_device(tmp_path: Path) -> None:
    memory_write = knx.l_data(0x283, b"\x40\x00\x01\x02\x03", code=knx.L_DATA_IND)
    assert _knx_routed(tmp_path, [memory_write], announced=False)["risk.ot.program_change"] == {}


def test_each_vlans_writer_at_one_address_is_its_own_and_a_listed_address_is_one_on_every_vlan() -> None:
    """A router on VLAN 10 and 20 carries each VLAN's routed 10.0.0.5 writing to its VLAN's PLC at 10.0.0.50: each
    PLC names its own VLAN's writer (before: both VLAN 10's, the first routed device holding 10.0.0.5).
    engineering_stations lists an address as written, without a VLAN (the station on every VLAN), or zoned."""
    router = "02:00:00:00:00:01"
    devices = [Device(f"mac:{router}", 0.0, 1.0, mac=router, ips={"10.0.0.1"},
                      attributes={DOMAINS_ATTRIBUTE: {"vlan10", "vlan20"}})]
    for vid, mac in ((10, "02:00:00:00:00:50"), (20, "02:00:00:00:00:51")):
        devices += [Device(f"mac:{mac}", 0.0, 1.0, mac=mac, ips={"10.0.0.50"}, attributes={DOMAINS_ATTRIBUTE: {
            f"vlan{vid}"}}), Device(f"ip:10.0.0.5%vlan{vid}", 0.0, 1.0, ips={"10.0.0.5"})]

    def sources(stations: list[str]) -> dict[str, list[str]]:
        check = OtUnauthorizedWrite()
        check.configure({"engineering_stations": stations})
        for vid, plc in ((10, "02:00:00:00:00:50"), (20, "02:00:00:00:00:51")):
            write = obs("modbus", "request", function_code=6, function="write_single_register", is_write=True)
            write.src_mac, write.dst_mac, write.vlan = router, plc, vid
            check.on_observation(Context(), write)
        subjects = SubjectIndex({d.key: d for d in devices})
        return {f.subject: f.evidence["unauthorised_sources"] for f in check.findings(Context(), subjects)}
    assert sources([]) == {"mac:02:00:00:00:00:50": ["ip:10.0.0.5%vlan10"],
                           "mac:02:00:00:00:00:51": ["ip:10.0.0.5%vlan20"]}
    assert sources(["10.0.0.5"]) == {}
    assert sources(["10.0.0.5%vlan10"]) == {"mac:02:00:00:00:00:51": ["ip:10.0.0.5%vlan20"]}


def test_a_routed_knx_operation_lands_on_the_router_of_its_own_vlan() -> None:
    """Two VLANs' KNX IP routers at 10.0.0.20, both announcing 1.1.0 (copies of one project): VLAN 10's on the link
    (its MAC device), VLAN 20's behind the gateway (routed: ip:10.0.0.20%vlan20). A memory write routed on VLAN 20
    to 1.1.5 lands on VLAN 20's coupler of line 1.1 (inventory/knx.py looks in the frame's VLAN), never on VLAN 10's
    router holding the plain address (before: the two VLANs' announcers made the coupler ambiguous)."""
    gateway, router = "02:00:00:00:00:01", "00:24:6d:00:00:0a"
    devices = [Device(f"mac:{gateway}", 0.0, 1.0, mac=gateway, ips={"10.0.0.1"},
                      attributes={DOMAINS_ATTRIBUTE: {"vlan10", "vlan20"}}),
               Device(f"mac:{router}", 0.0, 1.0, mac=router, ips={"10.0.0.20"},
                      attributes={DOMAINS_ATTRIBUTE: {"vlan10"}}),
               Device("ip:10.0.0.20%vlan20", 0.0, 1.0, ips={"10.0.0.20"})]
    check = OtProgramChange()
    for vid, mac in ((10, router), (20, gateway)):
        announce = Observation(ts=1.0, proto="knxip", kind="search_response", src_ip="10.0.0.20", src_mac=mac,
                               fields={"individual_address": "1.1.0", "service_families": ["routing"]})
        announce.vlan = vid
        check.on_observation(Context(), announce)
    write = Observation(ts=2.0, proto="knxip", kind="routing_indication", src_ip="10.0.0.66", src_mac=gateway,
                        dst_ip=knx.MULTICAST_IP, fields={"destination": "1.1.5", "destination_type": "individual",
                                                         "ot_operation": "program"})
    write.vlan = 20
    check.on_observation(Context(), write)
    findings = check.findings(Context(), SubjectIndex({d.key: d for d in devices}))
    assert [f.subject for f in findings] == ["ip:10.0.0.20%vlan20"]
