"""Lab KNX (building-knx.yaml): the KNX IP router answers ETS's search and description, routes group telegrams and
serves a visualisation's tunnel and ETS's device-management connection, all read back by dissect/knxip.py; the
ground truth lists it; the inventory names it from its DIBs; risk.knx.unsecured fires, and only the knx_reprogram
attack raises OT alerts, on the router, naming the attacker. With ``secure`` the router advertises KNX IP Secure and
its traffic is wrapped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iotwarden.addons import default_analyzers
from iotwarden.errors import ConfigError
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.lab.knx_app import address
from tests.detect.runner import detect
from tests.lab.conftest import SCENARIOS, observations_of
from tests.risk.harness import found, run_capture

ROUTER_KEY = "mac:00:24:6d:0a:07:52"


@pytest.fixture(scope="module")
def attack_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("knx-lab")
    truth = generate(load_scenario(SCENARIOS / "building-knx.yaml"), out / "knx.pcap", out / "knx.json", attacks=True)
    return out / "knx.pcap", truth


def test_the_router_s_services_are_read_back(tmp_path: Path) -> None:
    obs, truth = observations_of("building-knx.yaml", tmp_path, "knxip")
    kinds = {o.kind for o in obs}
    assert {"search_request", "search_response", "description_request", "description_response",
            "routing_indication", "connect_request", "connect_response", "tunnelling_request",
            "tunnelling_ack"} <= kinds
    assert not [o for o in obs if o.fields.get("ot_operation")]  # ETS and the visualisation never program
    assert any(d["id"] == "knx-router" and d["type"] == "building_gateway" for d in truth["devices"])


def test_ets_manages_the_router_over_a_device_management_connection(tmp_path: Path) -> None:
    """ETS's device-management connection (03.08.03 §4): CONNECT with connection type DEVICE_MGMT_CONNECTION, an
    M_PropRead of the interface's Device object properties, each acknowledged and answered, then DISCONNECT."""
    obs, truth = observations_of("building-knx.yaml", tmp_path, "knxip")
    ets = next(d["ips"][0] for d in truth["devices"] if d["id"] == "ets")
    connects = {(o.src_ip, o.fields["connection_type"]) for o in obs if o.kind == "connect_request"}
    assert (ets, "device_management") in connects
    assert {c for src, c in connects if src != ets} == {"tunnelling"}  # the visualisation's tunnel
    reads = [o.fields for o in obs if o.kind == "device_configuration_request" and o.src_ip == ets]
    assert {(f["message_name"], f["interface_object_type"], f["property_id"]) for f in reads} == {
        ("M_PropRead.req", 0, 11), ("M_PropRead.req", 0, 12), ("M_PropRead.req", 0, 56)}
    answers = [o.fields for o in obs if o.kind == "device_configuration_request" and o.dst_ip == ets]
    assert {f["message_name"] for f in answers} == {"M_PropRead.con"}
    assert {"device_configuration_ack", "disconnect_request", "disconnect_response"} <= {o.kind for o in obs}


def test_the_router_is_inventoried_and_unsecured(attack_run: tuple[Path, dict[str, Any]]) -> None:
    path, _ = attack_run
    ctx = run_capture(path, default_analyzers())
    router = ctx.devices[ROUTER_KEY]
    assert (router.vendor, router.device_type, router.category) == ("Weinzierl", "building_gateway", "building")
    assert "KNX IP Router 752" in router.hostnames
    assert set(found(ctx, "risk.knx.unsecured")) == {ROUTER_KEY}


def test_the_reprogramming_is_in_the_truth_and_alerted(attack_run: tuple[Path, dict[str, Any]]) -> None:
    path, truth = attack_run
    (attack,) = [a for a in truth["attacks"] if a["kind"] == "knx_reprogram"]
    assert attack["attacker"]["ip"] == "10.30.0.66" and attack["targets"] == ["10.30.0.20"]
    ot = {a.id: a for a in detect([path]).alerts if a.id.startswith("detect.ot")}
    assert set(ot) == {"detect.ot.program_download", "detect.ot.device_restart"}
    assert {(a.src_ip, a.dst_ip) for a in ot.values()} == {("10.30.0.66", "10.30.0.20")}
    assert ot["detect.ot.program_download"].count == 8  # the attack's A_Memory_Write blocks


def test_a_secure_router_makes_no_finding(tmp_path: Path) -> None:
    scenario = (SCENARIOS / "building-knx.yaml").read_text().replace("group_every: 4,", "group_every: 4, secure: true,")
    assert "secure: true" in scenario
    path = tmp_path / "building-knx.yaml"
    path.write_text(scenario)
    generate(load_scenario(path), tmp_path / "knx.pcap", tmp_path / "knx.json")
    ctx = run_capture(tmp_path / "knx.pcap", default_analyzers())
    assert ctx.devices[ROUTER_KEY].attributes["knxip.secure"] == {"true"}
    assert found(ctx, "risk.knx.unsecured") == {}
    ets = next(d for d in load_scenario(path).devices if d.id == "ets")  # its management session is wrapped too
    assert "knxip.connection_type" not in ctx.devices[f"mac:{ets.mac}"].attributes


def test_individual_addresses() -> None:
    assert address("1.1.5") == 0x1105 and address("15.15.255") == 0xFFFF
    for bad in ("1.1", "16.0.0", "a.b.c"):
        with pytest.raises(ConfigError):
            address(bad)
