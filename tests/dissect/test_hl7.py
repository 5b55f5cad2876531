"""HL7 v2 over MLLP dissector: an IHE PCD-01 feed and its acknowledgements (checked against tshark's HL7
decoder on the lab's capture), headers only, framing errors, limits, the contract on hostile input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Packet
from iotwarden.dissect.hl7 import MAX_MESSAGES, Hl7Dissector, parse_message
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from iotwarden.lab import proto_app
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
SENDER, RECEIVER = "CARESCAPE Gateway^GE|ICU^HOSP", "Mirth|HOSP"
ORU = proto_app.hl7_pcd01(SENDER, RECEIVER, "20240304090005", "MSG00000001", spo2=97, heart_rate=72)
ACK = proto_app.hl7_ack(RECEIVER, SENDER, "20240304090005", "ACK00000001", "MSG00000001")


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hl7") / "enterprise.pcap"
    generate(load_scenario(SCENARIOS / "enterprise.yaml"), path, duration=200)
    return path


@pytest.fixture(scope="module")
def engine_obs(feed: Path) -> list[Observation]:
    """The engine with every dissector: HL7 recognised by its probe, TLS on port 2575 left to TLS."""
    engine = Engine(default_dissectors())
    out: list[Observation] = []
    for batch in read_capture(feed):
        out += engine.process(batch).observations
    out += engine.flush().observations
    assert engine.stats.parse_errors["hl7"] == 0
    return sorted(out, key=lambda o: o.ts)


def test_the_gateways_pcd01_feed_and_the_engines_acks(engine_obs: list[Observation]) -> None:
    obs = [o for o in engine_obs if o.proto == "hl7"]
    assert [o.kind for o in obs[:4]] == ["message", "ack", "message", "ack"]
    first, ack = obs[0].fields, obs[1].fields
    assert first["message_type"] == "ORU^R01^ORU_R01" and first["message_profile"] == ["IHE_PCD_001"]
    assert first["sending_application"] == "CARESCAPE Gateway^GE" and first["version"] == "2.6"
    assert ack["ack_code"] == "AA" and ack["sending_application"] == "Mirth"
    assert obs[0].src_ip == "10.10.50.10" and obs[0].dst_port == 2575
    assert not any("PATIENT" in str(o.fields) or "TEST0001" in str(o.fields) for o in obs)  # no patient data


def test_tls_on_the_hl7_port_stays_tls(engine_obs: list[Observation]) -> None:
    # enterprise.yaml: the B450 monitor reaches the gateway with TLS on 2575
    certs = [o for o in engine_obs if o.proto == "tls" and o.kind == "certificate" and 2575 in (o.src_port, o.dst_port)]
    assert certs


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed (apt-get install tshark)")
def test_tshark_reads_the_same_messages(feed: Path, engine_obs: list[Observation]) -> None:
    proc = subprocess.run(["tshark", "-n", "-r", str(feed), "-d", "tcp.port==2575,hl7", "-Y", "hl7", "-T", "fields",
                           "-e", "_ws.col.Info"], capture_output=True, text=True, timeout=120, check=True)
    theirs = proc.stdout.split()
    ours = [o.fields["message_type"].split("^")[0] for o in engine_obs if o.proto == "hl7"]
    assert [t for t in theirs if t in ("ORU", "ACK")] == ours


def test_a_message_split_over_segments_and_two_in_one() -> None:
    obs = feed_chunks(Hl7Dissector(), [(True, ORU[:50]), (True, ORU[50:] + ORU), (False, ACK)])
    assert [o.kind for o in obs] == ["message", "message", "ack"]


@pytest.mark.parametrize(("message", "error"), [
    (b"PID|||1", "MSH segment"),
    (b"MSHA^~\\&|x", "separator"),
    (b"MSH|^~\\&|APP|FAC", "message type"),
])
def test_what_is_not_an_hl7_header_is_refused(message: bytes, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parse_message(message)


def test_data_outside_mllp_ends_the_flow() -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError, match="outside"):
        Hl7Dissector().feed(Packet(ts=0.0, payload=b"", to_server=True), b"GET / HTTP/1.1\r\n", state)
    assert state["done"]


def test_observations_per_flow_are_bounded() -> None:
    assert len(feed_chunks(Hl7Dissector(), [(True, ORU * (MAX_MESSAGES + 3))])) == MAX_MESSAGES


def test_probe() -> None:
    assert Hl7Dissector().probe(ORU, True) and not Hl7Dissector().probe(b"MSH|^~\\&", True)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(Hl7Dissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(Hl7Dissector(), chunks)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 700))
def test_fuzz_mutated_messages(edits: list[tuple[int, int]], cut: int) -> None:
    feed_chunks(Hl7Dissector(), [(True, mutate(ORU, edits, cut)), (False, mutate(ACK, edits, cut))])
