"""Printing in the lab: a client's IPP Get-Printer-Attributes and the printer's answer on tcp/631, and a raw
job on tcp/9100 whose driver asks the printer's model in PJL; read back by the dissectors, which keep what the
printer says of itself and drop who asks and where the printer stands."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dpkt
import pytest

from iotwarden.dissect.base import Packet
from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.ipp import parse_message
from iotwarden.dissect.pjl import PjlDissector
from iotwarden.lab.behave_app import BEHAVIOURS
from iotwarden.lab.generator import load_scenario
from iotwarden.lab.scenario import Scenario
from iotwarden.lab.world import World
from iotwarden.model import Observation

ENTERPRISE = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios" / "enterprise.yaml"


@pytest.fixture(scope="module")
def enterprise() -> Scenario:
    return load_scenario(ENTERPRISE)


def _streams(scenario: Scenario, device_id: str, kind: str, client: str | None = None) -> tuple[bytes, bytes, int]:
    """(client bytes, printer bytes, server port) of the behaviour's first session."""
    world = World(scenario, 3)
    dev = world.devices[device_id]
    act = next(b for b in dev.behaviours if b.kind == kind and (client is None or b.params["client"] == client))
    fn, _ = BEHAVIOURS[kind]
    up, down, port, first = b"", b"", 0, None
    for _, frame in fn(world, dev, act):
        tcp = dpkt.ethernet.Ethernet(frame).data.data
        if first is None:
            first = tcp.sport  # the client's ephemeral port: one session only
        if not tcp.data or first not in (tcp.sport, tcp.dport):
            continue
        if tcp.sport == first:
            up, port = up + bytes(tcp.data), tcp.dport
        else:
            down += bytes(tcp.data)
    return up, down, port


def _observe(dissector: HttpDissector | PjlDissector, up: bytes, down: bytes, port: int) -> list[Observation]:
    state: dict[str, object] = {}
    out: list[Observation] = []
    for to_server, data in ((True, up), (False, down)):
        ends = (("10.10.10.10", 50000), ("10.10.20.9", port))
        (sip, sport), (dip, dport) = ends if to_server else ends[::-1]
        pkt = Packet(ts=1.0, payload=data, src_ip=sip, dst_ip=dip, ip_proto=6, src_port=sport, dst_port=dport,
                     to_server=to_server)
        out += dissector.feed(pkt, data, state)
    return out


def test_the_mac_asks_the_mfp_for_its_attributes_once_a_day(enterprise: Scenario) -> None:
    up, down, port = _streams(enterprise, "prn-3f", "ipp", client="mac-01")
    assert port == 631 and up.startswith(b"POST /ipp/print HTTP/1.1\r\n")
    assert b"User-Agent: CUPS/2.3.4 (Darwin 23.3.0; arm64) IPP/2.0" in up  # uname: sysname, release, machine
    assert b"application/ipp" in up
    assert b"anna" in up and b"Marketing, 3rd floor" in down  # on the wire, as real clients and printers send
    request = parse_message(up.partition(b"\r\n\r\n")[2], request=True)
    answer = parse_message(down.partition(b"\r\n\r\n")[2], request=False)
    assert request is not None and answer is not None
    assert request["ipp_operation"] == "Get-Printer-Attributes"
    assert request["ipp_requested_attributes"] == ["all", "media-col-database"]
    assert answer["ipp_make_and_model"] == "HP Color LaserJet Pro MFP M479fdw"
    assert (answer["ipp_device_mfg"], answer["ipp_device_mdl"]) == ("HP", "HP Color LaserJet Pro MFP M479fdw")
    assert answer["ipp_firmware_string_version"] == ["002_2249A"] and answer["ipp_uuid"].startswith("urn:uuid:")
    assert answer["ipp_features"] == ["ipp-everywhere", "airprint-2.1"]
    ipp = [o for o in _observe(HttpDissector(), up, down, port) if o.kind.startswith("ipp_")]
    assert [o.kind for o in ipp] == ["ipp_request", "ipp_response"]
    assert "anna" not in repr(ipp) and "Marketing" not in repr(ipp)  # who asks, where it stands: never kept


def test_the_print_servers_driver_asks_the_printers_model_in_pjl(enterprise: Scenario) -> None:
    up, down, port = _streams(enterprise, "prn-2f", "raw_print")
    assert port == 9100 and b"@PJL INFO ID\r\n" in up
    obs = _observe(PjlDissector(), up, down, port)
    assert [o.fields["command"] for o in obs if o.kind == "command"] == [
        "JOB", "INFO ID", "USTATUS DEVICE", "ENTER LANGUAGE"]
    replies = [o.fields for o in obs if o.kind == "reply"]
    assert [r["category"] for r in replies] == ["INFO ID", "USTATUS DEVICE"]
    assert replies[0]["model"] == "HP LaserJet Pro M404dn" and replies[1]["online"] is True


def test_a_job_without_queries_gets_no_answer(small_scenario: Scenario) -> None:
    world = World(small_scenario, 3)
    dev = world.devices["prn-01"]
    act = next(b for b in dev.behaviours if b.kind == "raw_print")
    quiet = dataclasses.replace(act, params={**act.params, "queries": False})
    fn, _ = BEHAVIOURS["raw_print"]
    frames = [dpkt.ethernet.Ethernet(f).data.data for _, f in fn(world, dev, quiet)]
    printer_payload = [t for t in frames if t.sport == 9100 and t.data]
    assert printer_payload == []


def test_the_enterprise_inventory_holds_what_the_printers_said_and_nothing_of_who_asked(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.inventory.test_lab_truth import _analysed

    truth, rows = _analysed("enterprise", str(tmp_path_factory.mktemp("lab")))
    by_id = {d["id"]: next(r for r in rows if r.key == f"mac:{d['mac']}") for d in truth}
    prn_2f, prn_3f = by_id["prn-2f"].attributes, by_id["prn-3f"].attributes
    assert prn_2f["http.ipp_make_and_model"] == ["HP LaserJet Pro M404dn"]
    assert prn_2f["pjl.model"] == ["HP LaserJet Pro M404dn"]  # the driver's INFO ID, answered before the job
    assert prn_2f["http.ipp_device_mdl"] == ["HP LaserJet Pro M404dn"]
    assert prn_3f["http.ipp_make_and_model"] == ["HP Color LaserJet Pro MFP M479fdw"]
    assert prn_3f["http.ipp_firmware_string_version"] == ["002_2249A"]
    for client in ("mac-01", "srv-dc"):
        assert not [a for a in by_id[client].attributes if a.startswith(("http.ipp_", "pjl."))]
    everything = repr([r.attributes for r in rows])
    assert "anna" not in everything and "3rd floor" not in everything and "2nd floor" not in everything
    assert (by_id["prn-3f"].vendor, by_id["prn-3f"].model) == ("HP", "HP Color LaserJet Pro MFP M479fdw")
