"""End to end: an OPC UA WriteRequest on a channel without security raises detect.ot.write_new_host through the
engine (on tcp/4840 and on another port found by the Hello probe); method calls, reads and the ics_iti capture
(no Write: tshark shows Call requests only) raise no OT alert; C37.118 commands raise none either; the write is
risk.ot.unauthorized_write on the server."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.conftest import shared
from tests.detect.runner import detect
from tests.dissect.uabuild import chunk, hello, msg, node, open_request, opn, request_header, response_header, ua_string
from tests.risk.harness import analyse, found, host, tcp, write_pcap

WRITES_FROM_START = {"detect.ot_write": {"learn_s": 0.0}}
CLIENT, SERVER = host(5), host(20)
ACK = chunk(b"ACK", struct.pack("<IIIII", 0, 65535, 65535, 0, 0))
OPENED = opn(node(449) + response_header() + struct.pack("<IIIQI", 0, 5, 1, 0, 600000) + ua_string(None), channel=5)
WRITE = msg(673, request_header() + struct.pack("<i", 1) + b"\x03" + struct.pack("<H", 2) + ua_string(b"Pump.Speed")
            + struct.pack("<I", 13) + b"\x00", request_id=3)
CALL = msg(712, request_header() + struct.pack("<i", 1) + node(85) + node(11492) + struct.pack("<i", 0), request_id=3)


def _capture(tmp_path: Path, request: bytes, port: int) -> Path:
    exchanges = [(True, hello(f"opc.tcp://10.9.0.20:{port}".encode())), (False, ACK), (True, open_request()),
                 (False, OPENED), (True, request), (False, msg(676, response_header(), request_id=3))]
    return write_pcap(tmp_path / "opcua.pcap", tcp(CLIENT, SERVER, port, exchanges))


@pytest.mark.parametrize("port", [4840, 48010])
def test_an_opc_ua_write_is_a_write_from_a_new_host(tmp_path: Path, port: int) -> None:
    ctx = detect([_capture(tmp_path, WRITE, port)], WRITES_FROM_START)
    ot = [a for a in ctx.alerts if a.id.startswith("detect.ot")]
    assert [(a.id, a.src_ip, a.dst_ip) for a in ot] == [("detect.ot.write_new_host", CLIENT.ip, SERVER.ip)]
    assert ot[0].evidence["operation"] == "OPCUA write" and "OPCUA write" in ot[0].title


def test_a_method_call_raises_no_ot_alert(tmp_path: Path) -> None:
    ctx = detect([_capture(tmp_path, CALL, 4840)], WRITES_FROM_START)
    assert not [a.id for a in ctx.alerts if a.id.startswith("detect.ot")]


@pytest.mark.parametrize("path", [("OPC", "opc-ua-ap-method-wireshark-freeze.pcap"),
                                  ("C37.118", "C37.118_1PMU_TCP.pcap"), ("C37.118", "C37.118_1PMU_UDP.pcap")])
def test_the_ics_iti_sessions_raise_no_ot_alert(path: tuple[str, str]) -> None:
    ctx = detect([shared("pcaps", "ics_iti", "pcaps", *path)], WRITES_FROM_START)
    assert not [a.id for a in ctx.alerts if a.id.startswith("detect.ot")]


def test_the_write_is_an_unauthorised_write_finding_on_the_server(tmp_path: Path) -> None:
    ctx, _ = analyse(_capture(tmp_path, WRITE, 4840))
    finding = found(ctx, "risk.ot.unauthorized_write")[f"mac:{SERVER.mac}"]
    assert finding.severity == "high" and finding.evidence["operations"] == ["opcua.write"]
    assert finding.evidence["unauthorised_sources"] == [f"mac:{CLIENT.mac}"]
