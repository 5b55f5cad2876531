"""Site server behaviours, run one at a time on the scenarios' worlds."""

from __future__ import annotations

from pathlib import Path

import dpkt
import pytest

from iotwarden.dissect import dhip
from iotwarden.dissect.fox import parse_frame
from iotwarden.dissect.hl7 import parse_message as parse_hl7
from iotwarden.dissect.kerberos import parse_message
from iotwarden.dissect.s7comm import parse_cotp_cr, parse_s7, parse_s7plus
from iotwarden.errors import ConfigError
from iotwarden.lab.behave_site import BEHAVIOURS
from iotwarden.lab.generator import load_scenario
from iotwarden.lab.scenario import Scenario
from iotwarden.lab.world import World


def _run(scenario: Scenario, device_id: str, kind: str) -> list[tuple[float, dpkt.ethernet.Ethernet]]:
    world = World(scenario, 3)
    dev = world.devices[device_id]
    act = next(b for b in dev.behaviours if b.kind == kind)
    fn, _ = BEHAVIOURS[kind]
    return [(t, dpkt.ethernet.Ethernet(f)) for t, f in fn(world, dev, act)]


def test_kerberos_logons_of_each_client_on_port_88(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "srv-dc", "kerberos")
    times = [t for t, _ in frames]
    assert times == sorted(times)
    streams: dict[tuple[int, int], bytes] = {}  # each message is one direction of its own connection
    for _, e in frames:
        tcp = e.data.data
        streams[(tcp.sport, tcp.dport)] = streams.get((tcp.sport, tcp.dport), b"") + bytes(tcp.data)
    kinds = [parse_message(r[4:])[0] for r in streams.values() if r]
    assert kinds == ["as_req", "error", "as_req", "as_rep", "tgs_req", "tgs_rep", "tgs_req", "tgs_rep"]
    assert {e.data.data.dport for _, e in frames if e.data.data.data and e.data.data.sport != 88} == {88}


ENTERPRISE = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios" / "enterprise.yaml"


def test_fox_hellos_of_workbench_and_the_station() -> None:
    frames = _run(load_scenario(ENTERPRISE), "bms", "fox")
    payloads = [bytes(e.data.data.data) for _, e in frames if e.data.data.data]
    (_, _, _, workbench), (_, _, _, station) = (parse_frame(p) for p in payloads[:2])
    assert workbench["app_name"] == "Workbench" and workbench["host_name"] == "WS-OPS-03"
    assert station["app_name"] == "Station" and station["os_name"] == "QNX" and station["app_version"] == "4.12.1.16"
    assert {e.data.data.dport for _, e in frames[:1]} == {1911}


def test_an_hmi_opens_an_op_connection_then_polls_variables() -> None:
    frames = _run(load_scenario(ENTERPRISE), "plc-line2", "s7")
    payloads = [bytes(e.data.data.data) for _, e in frames if e.data.data.data]
    assert parse_cotp_cr(payloads[0][4:])["connection_type"] == "op"
    kinds = [parse_s7(p[7:], {})[1]["function"] for p in payloads[2:8]]
    assert kinds == ["setup_communication"] * 2 + ["read_var"] * 4
    assert sum(1 for p in payloads if p[7:8] == b"\x32") > 500  # every 2 s for ten minutes, both ways


def test_tia_portal_goes_online_to_the_engineering_tsap() -> None:
    frames = _run(load_scenario(ENTERPRISE), "plc-line2", "s7plus")
    payloads = [bytes(e.data.data.data) for _, e in frames if e.data.data.data]
    assert parse_cotp_cr(payloads[0][4:])["dst_tsap_text"] == "SIMATIC-ROOT-ES"
    functions = [parse_s7plus(p[7:])["function"] for p in payloads[2:10]]
    assert functions == ["create_object", "create_object", "explore", "explore", "get_multi_variables",
                         "get_multi_variables", "delete_object", "delete_object"]


def test_the_recorder_answers_searches_in_its_subnet_and_from_across_the_router(small_scenario: Scenario) -> None:
    for scenario, device, group in ((small_scenario, "dvr-01", True), (load_scenario(ENTERPRISE), "dvr-lobby", False)):
        search, answer = _run(scenario, device, "dhip")[:2]
        assert (search[1].data.dst == bytes([239, 255, 255, 251])) is group  # same subnet: the multicast group
        assert dhip.parse(bytes(search[1].data.data.data))[0] == "search"
        kind, info = dhip.parse(bytes(answer[1].data.data.data))
        assert kind == "device_info" and info["device_class"] == "NVR" and info["device_type"] == "NVR4104HS-P-4KS2"


def test_the_gateway_keeps_one_mllp_link_and_every_message_is_acknowledged() -> None:
    frames = _run(load_scenario(ENTERPRISE), "srv-linux", "hl7")
    assert len({e.data.data.sport for _, e in frames if e.data.data.dport == 2575}) == 1
    payloads = [bytes(e.data.data.data) for _, e in frames if e.data.data.data]
    kinds = [parse_hl7(p[1:-2])[0] for p in payloads]
    assert kinds == ["message", "ack"] * (len(kinds) // 2) and len(kinds) >= 16  # every minute for ten minutes
    # enterprise.yaml: each message names bed 1's monitor and pump by the EUI-64 of their MACs
    devices = parse_hl7(payloads[0][1:-2])[1]["devices"]
    assert {(d["term"], d["mac"]) for d in devices if d["level"] == "MDS"} == {
        ("MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS", "44:4b:5d:50:00:02"), ("MDC_DEV_PUMP_INFUS_MDS", "58:46:e1:50:00:03")}


def test_a_reporter_cannot_report_a_kind_without_device_terms() -> None:
    scenario = load_scenario(ENTERPRISE)
    world = World(scenario, 3)
    dev = world.devices["srv-linux"]
    act = next(b for b in dev.behaviours if b.kind == "hl7")
    act.params["reports"] = ["core-rtr"]
    with pytest.raises(ConfigError, match="reports a router; the lab has IEEE 11073 device terms for infusion_pump"):
        BEHAVIOURS["hl7"][0](world, dev, act)
