"""HL7 v2 over MLLP dissector: an IHE PCD-01 feed and its acknowledgements (checked against tshark's HL7
decoder on the lab's capture), headers and device-identity rows only (never patient data or values),
framing errors, limits, the contract on hostile input."""

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
from iotwarden.dissect.hl7 import MAX_DEVICE_ROWS, MAX_MESSAGE, MAX_MESSAGES, Hl7Dissector, eui64_mac, parse_message
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
MONITOR, PUMP = "44:4b:5d:50:00:02", "58:46:e1:50:00:03"
GATEWAY_ORU = proto_app.hl7_pcd01("CARESCAPE Gateway^444B5DFFFE500001^EUI-64|ICU^HOSP", RECEIVER, "20240304090005",
                                  "MSG00000002", spo2=97, heart_rate=72, pump_rate=42.5,
                                  devices=(("patient_monitor", MONITOR), ("infusion_pump", PUMP)))
STAMP = "20240304090005"
PID_SENTINEL, VALUE_SENTINEL = "ZZPIDSECRET", "ZZOBX5SECRET"
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
    assert first["sending_application"] == "CARESCAPE Gateway^444B5DFFFE500001^EUI-64" and first["version"] == "2.6"
    assert first["sender_mac"] == "44:4b:5d:50:00:01"  # enterprise.yaml: med-gw
    # enterprise.yaml: med-gw reports bed 1's B450 monitor and Sigma Spectrum pump by their MACs' EUI-64
    assert [(d["term"], d["mac"]) for d in first["devices"]] == [
        ("MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS", MONITOR), ("MDC_DEV_PUMP_INFUS_MDS", PUMP),
        ("MDC_DEV_PUMP_INFUS_VMD", PUMP), ("MDC_DEV_PUMP_INFUS_CHAN_DELIVERY", PUMP)]
    assert ack["ack_code"] == "AA" and ack["sending_application"] == "Mirth" and "devices" not in ack
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


def _message(*segments: str, msh3: str = "PUMPGW^5846E1FFFE000001^EUI-64") -> bytes:
    msh = (f"MSH|^~\\&|{msh3}|ICU|EMR|HOSP|{STAMP}||ORU^R01^ORU_R01|M1|P|2.6|||NE|AL||UNICODE UTF-8|||"
           "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO")
    patient = [f"PID|||{PID_SENTINEL}^^^HOSP^MR||DOE^JANE", f"PV1||I|ICU^1^{PID_SENTINEL}"]
    return "\r".join([msh, *patient, *segments]).encode()


def _devices(message: bytes) -> list[dict[str, Any]]:
    kind, fields = parse_message(message)
    assert kind == "message"
    assert PID_SENTINEL not in str(fields) and VALUE_SENTINEL not in str(fields)  # never patient data or values
    return list(fields.get("devices", []))


def test_a_pumps_own_pcd01_report_mds_vmd_and_channel_rows() -> None:
    # IHE PCD TF-2 §B.8: the MDS row carries OBX-18; the VMD and channel rows below it in OBX-4's tree inherit it
    devices = _devices(_message(
        "OBX|1||69985^MDC_DEV_PUMP_INFUS_MDS^MDC|1.0.0.0|||||||X|||||||5846E1FFFE500003^^5846E1FFFE500003^EUI-64",
        "OBX|2||69986^MDC_DEV_PUMP_INFUS_VMD^MDC|1.1.0.0|||||||X",
        "OBX|3||126978^MDC_DEV_PUMP_INFUS_CHAN_DELIVERY^MDC|1.1.1.0|||||||X",
        f"OBX|4|ST|184508^MDC_PUMP_STAT^MDC|1.1.1.1|{VALUE_SENTINEL}||||||R",
        f"OBX|5|NM|157784^MDC_FLOW_FLUID_PUMP^MDC|1.1.1.2|{VALUE_SENTINEL}|265266^MDC_DIM_MILLI_L_PER_HR^MDC|||||R",
        msh3="Spectrum^5846E1FFFE500003^EUI-64"))
    pump = {"equipment_id": "5846E1FFFE500003", "equipment_id_type": "EUI-64", "mac": PUMP}
    assert devices == [
        {"term": "MDC_DEV_PUMP_INFUS_MDS", "code": "69985", "level": "MDS", **pump},
        {"term": "MDC_DEV_PUMP_INFUS_VMD", "code": "69986", "level": "VMD", **pump},
        {"term": "MDC_DEV_PUMP_INFUS_CHAN_DELIVERY", "code": "126978", "level": "CHAN", **pump},
    ]  # metric rows (MDC_PUMP_STAT, the rate) are not devices and their values are never read
    _, fields = parse_message(_message(msh3="Spectrum^5846E1FFFE500003^EUI-64"))
    assert (fields["sending_application_uid"], fields["sending_application_uid_type"], fields["sender_mac"]) == \
        ("5846E1FFFE500003", "EUI-64", PUMP)


def test_a_gateway_reporting_two_devices() -> None:
    _, fields = parse_message(GATEWAY_ORU[1:-2])
    assert fields["sender_mac"] == "44:4b:5d:50:00:01"
    assert [(d["term"], d["level"], d["equipment_id"], d["mac"]) for d in fields["devices"]] == [
        ("MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS", "MDS", "444B5DFFFE500002", MONITOR),
        ("MDC_DEV_PUMP_INFUS_MDS", "MDS", "5846E1FFFE500003", PUMP),
        ("MDC_DEV_PUMP_INFUS_VMD", "VMD", "5846E1FFFE500003", PUMP),  # tree 2 inherits the pump's id, not tree 1's
        ("MDC_DEV_PUMP_INFUS_CHAN_DELIVERY", "CHAN", "5846E1FFFE500003", PUMP),
    ]
    assert "42.5" not in str(fields) and "TEST0001" not in str(fields)  # the pump's rate, the patient: unread


@pytest.mark.parametrize(("equipment", "expected"), [
    ("0058E1FFFE500003^EUI-64", {"equipment_id": "0058E1FFFE500003", "equipment_id_type": "EUI-64",
                                 "mac": "00:58:e1:50:00:03"}),  # short form: the type right after the ID
    ("0009fbFFFF9b42b3^^^EUI-64", {"equipment_id": "0009fbFFFF9b42b3", "equipment_id_type": "EUI-64",
                                   "mac": "00:09:fb:9b:42:b3"}),  # entity ID typed; MAC-48 encapsulation FF-FF
    ("080019FFFE0B4020^B1X5_GE", {"equipment_id": "080019FFFE0B4020", "mac": "08:00:19:0b:40:20"}),  # untyped
    ("XW25200213^^1.2.3^ISO~0123456789ABCDEF^^0123456789ABCDEF^EUI-64",  # the EUI-64 repetition wins
     {"equipment_id": "0123456789ABCDEF", "equipment_id_type": "EUI-64"}),  # not MAC-derived: no MAC
    ("7f2586c7-0506-46cd-a612-d8e75b838faa-IntelliVue MX500 - 866064",
     {"equipment_id": "7f2586c7-0506-46cd-a612-d8e75b838faa-IntelliVue MX500 - 866064"}),
    ("", {}),  # no identifier and no MDS to inherit from
])
def test_equipment_identifier_forms(equipment: str, expected: dict[str, str]) -> None:
    row = f"OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||{equipment}"
    (device,) = _devices(_message(row))
    assert device == {"term": "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS", "code": "69965", "level": "MDS", **expected}


@pytest.mark.parametrize("row", [
    "OBX",  # no fields at all
    "OBX|1",  # no OBX-3
    "OBX|1||69985",  # a code without its reference name
    "OBX|1||69985^mdc_dev_pump_infus_mds^MDC|1.0.0.0",  # reference names are upper case
    "OBX|1||69985^MDC_DEV_^MDC|1.0.0.0",  # no term after the partition prefix
    "OBX|1||1^MDC_DEV_" + "X" * 200 + "^MDC|1.0.0.0",  # longer than any MDC reference name
    "OBX|1||69985^MDC_DEV_PUMP INFUS_MDS^MDC|1.0.0.0",  # not a reference name
    "OBX|1||150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97",  # a metric, not a device
    "OBXX|1||69985^MDC_DEV_PUMP_INFUS_MDS^MDC",  # not an OBX segment
])
def test_malformed_or_non_device_obx_rows_name_no_device(row: str) -> None:
    assert _devices(_message(row)) == []


def test_odd_device_rows_keep_what_they_hold() -> None:
    devices = _devices(_message(
        "OBX|1||x^MDC_DEV_PUMP_INFUS_MDS^MDC|||||||||||||||ZZZZZZZZZZZZZZZZ^^^EUI-64",  # non-numeric code, no OBX-4
        "OBX|2||69986^MDC_DEV_PUMP_INFUS_VMD^MDC",  # truncated after OBX-3: inherits the MDS of the message
        "OBX|3||69985^MDC_DEV_PUMP_INFUS_MDS^MDC|1.0.0.0|||||||X|||||||5846E1FFFE500003^EUI-64|extra|fields",
        "OBX|4||69985^MDC_DEV_PUMP_INFUS_MDS^MDC|1.0.0.0|||||||X|||||||5846E1FFFE500003^EUI-64",  # repeated row
    ))
    assert devices == [
        {"term": "MDC_DEV_PUMP_INFUS_MDS", "level": "MDS", "equipment_id": "ZZZZZZZZZZZZZZZZ",
         "equipment_id_type": "EUI-64"},
        {"term": "MDC_DEV_PUMP_INFUS_VMD", "code": "69986", "level": "VMD", "equipment_id": "ZZZZZZZZZZZZZZZZ",
         "equipment_id_type": "EUI-64"},
        {"term": "MDC_DEV_PUMP_INFUS_MDS", "code": "69985", "level": "MDS", "equipment_id": "5846E1FFFE500003",
         "equipment_id_type": "EUI-64", "mac": PUMP},
    ]


def test_device_rows_per_message_are_bounded() -> None:
    rows = [f"OBX|{i}||69985^MDC_DEV_PUMP_INFUS_MDS^MDC|{i}.0.0.0|||||||X|||||||5846E1FFFE{i:06X}^EUI-64"
            for i in range(MAX_DEVICE_ROWS + 5)]
    _, fields = parse_message(_message(*rows))
    assert len(fields["devices"]) == MAX_DEVICE_ROWS and fields["device_rows_dropped"] == 5


def test_adt_and_plain_oru_messages_have_no_device_rows() -> None:
    adt = (f"MSH|^~\\&|EPIC|HOSP|MIRTH|HOSP|{STAMP}||ADT^A01^ADT_A01|A1|P|2.5\r"
           f"EVN|A01|{STAMP}\rPID|||{PID_SENTINEL}^^^HOSP^MR||DOE^JANE\rPV1||I|ICU^1^1").encode()
    kind, fields = parse_message(adt)
    assert kind == "message" and fields["message_type"] == "ADT^A01^ADT_A01"
    assert "devices" not in fields and "sender_mac" not in fields and PID_SENTINEL not in str(fields)
    _, fields = parse_message(ORU[1:-2])  # vital signs without containment rows
    assert "devices" not in fields and "sending_application_uid" in fields  # MSH-3 "CARESCAPE Gateway^GE"


@pytest.mark.parametrize(("identifier", "mac"), [
    ("5846E1FFFE500003", "58:46:e1:50:00:03"),  # EUI-48 -> EUI-64: FF-FE
    ("5846e1ffff500003", "58:46:e1:50:00:03"),  # MAC-48 -> EUI-64: FF-FF (older rule), lower case
    ("58-46-E1-FF-FE-50-00-03", "58:46:e1:50:00:03"),  # IEEE hyphen notation
    ("0123456789ABCDEF", None),  # a native EUI-64 holds no MAC
    ("5846E1FFFE5000", None), ("5846E1FFFE50000303", None), ("5846E1FFFE50000G", None), ("", None),
])
def test_the_mac_inside_an_eui64(identifier: str, mac: str | None) -> None:
    assert eui64_mac(identifier) == mac


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


def test_a_block_over_the_limit_ends_the_flow_whole_or_in_pieces() -> None:
    block = b"\x0bMSH|^~\\&|" + b"x" * MAX_MESSAGE + b"\x1c\r"
    for cut in (len(block), 1460):
        state: dict[str, Any] = {}
        with pytest.raises(ParseError, match="over"):
            for i in range(0, len(block), cut):
                Hl7Dissector().feed(Packet(ts=0.0, payload=b"", to_server=True), block[i : i + cut], state)
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


_FIELD = st.text(alphabet="0123456789ABCDEFMDC_VPUSINX.^~&|\\-", max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_FIELD, max_size=22), max_size=12),
       st.lists(st.sampled_from(["MDC_DEV_PUMP_INFUS_MDS", "MDC_DEV_PUMP_INFUS_VMD", "MDC_DEV_", "MDC_DEV_X_CHAN",
                                 "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS", "MDC_PULS_OXIM_SAT_O2"]), max_size=12))
def test_fuzz_obx_rows(rows: list[list[str]], terms: list[str]) -> None:
    # OBX rows of random fields, some with device terms: ParseError or bounded records, never anything else
    segments = []
    for i, fields in enumerate(rows):
        if i < len(terms) and len(fields) > 3:
            fields[2] = f"1^{terms[i]}^MDC"
        segments.append("|".join(["OBX", *fields]))
    try:
        _, out = parse_message(_message(*segments))
    except ParseError:
        return
    assert len(out.get("devices", [])) <= MAX_DEVICE_ROWS
    for device in out.get("devices", []):
        assert device["term"].startswith("MDC_DEV_") and set(device) <= {
            "term", "code", "level", "equipment_id", "equipment_id_type", "mac"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 1500))
def test_fuzz_mutated_gateway_messages(edits: list[tuple[int, int]], cut: int) -> None:
    feed_chunks(Hl7Dissector(), [(True, mutate(GATEWAY_ORU, edits, cut)), (False, mutate(ACK, edits, cut))])
