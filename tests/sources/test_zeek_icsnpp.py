"""CISA ICSNPP's s7comm.log, bacnet.log and bacnet_discovery.log read as dissect/s7comm.py and dissect/bacnet.py
describe packets: a Zeek sensor's PLC Stop, program download or BACnet write raises what the packets raise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ParseError
from iotwarden.sources.zeek import read_zeek, sniff_zeek
from iotwarden.sources.zeek_icsnpp import map_bacnet, map_bacnet_discovery, map_s7comm
from tests.sources.zeeklog import (
    CONN_COLUMNS,
    FORMATS,
    ID_COLUMNS,
    analysed,
    assert_maps_or_parse_error,
    conn_row,
    write_log,
)

T0 = 1_700_000_000.0
EWS, PLC = ("192.168.61.131", "00:1b:21:00:00:31"), ("192.168.61.211", "00:1b:1b:00:02:11")  # Siemens OUI
INTRUDER, ROGUE = ("192.168.61.66", "00:1b:21:00:00:66"), ("192.168.61.99", "00:1b:21:00:00:99")
BMS, AHU = ("10.40.0.10", "00:1b:21:00:40:10"), ("10.40.0.77", "00:10:0b:00:40:77")

# S7COMM (icsnpp-s7comm scripts/icsnpp/s7comm/main.zeek), is_orig included as its later versions log it
S7_COLUMNS = [*ID_COLUMNS, ("is_orig", "bool"), ("rosctr_code", "count"), ("rosctr_name", "string"),
              ("pdu_reference", "count"), ("function_code", "string"), ("function_name", "string"),
              ("subfunction_code", "string"), ("subfunction_name", "string"), ("error_class", "string"),
              ("error_code", "string")]
# BACnet_Header and BACnet_Discovery (icsnpp-bacnet scripts/icsnpp/bacnet/main.zeek)
BACNET_COLUMNS = [*ID_COLUMNS, ("is_orig", "bool"), ("bvlc_function", "string"), ("pdu_type", "string"),
                  ("pdu_service", "string"), ("invoke_id", "count"), ("result_code", "string")]
DISCOVERY_COLUMNS = [*ID_COLUMNS, ("is_orig", "bool"), ("pdu_service", "string"), ("object_type", "string"),
                     ("instance_number", "count"), ("vendor", "string"), ("range", "string"),
                     ("object_name", "string")]


def _s7(**kw: object) -> dict[str, Any]:
    """A line as icsnpp-s7comm's snap7 test baseline writes it (no is_orig column)."""
    return {"ts": T0, "uid": "CHhAv", "id.orig_h": EWS[0], "id.orig_p": 51212, "id.resp_h": PLC[0],
            "id.resp_p": 102, "rosctr_code": 1, "rosctr_name": "Job-Request", "pdu_reference": 28,
            "function_code": "0x29", "function_name": "PLC Stop", **kw}


def test_an_s7_job_is_the_dissectors_job_and_its_ack_data_the_plcs() -> None:
    (stop,) = map_s7comm(_s7())
    assert (stop.proto, stop.kind, stop.src_ip, stop.dst_ip, stop.dst_port) == ("s7comm", "job", EWS[0], PLC[0], 102)
    assert stop.fields == {"rosctr": "job", "pdu_ref": 28, "function_code": 0x29, "function": "plc_stop"}
    (ack,) = map_s7comm(_s7(rosctr_code=3, rosctr_name="ACK-Data", error_class="No error", error_code="0x00"))
    assert (ack.kind, ack.src_ip, ack.src_port, ack.fields["function"]) == ("ack_data", PLC[0], 102, "plc_stop")
    (control,) = map_s7comm(_s7(function_code="0x28", function_name="PLC Control", subfunction_code="_MODU",
                                subfunction_name="PLC Copy Ram to Rom"))
    assert (control.fields["function"], control.fields["pi_service"]) == ("plc_control", "_MODU")
    (setup,) = map_s7comm(_s7(function_code="0xf0", function_name="Setup Communication"))
    assert (setup.kind, setup.fields["function"]) == ("setup", "setup_communication")


def test_s7_user_data_is_the_dissectors_userdata_by_type_and_group() -> None:
    (request,) = map_s7comm(_s7(rosctr_code=7, rosctr_name="User-Data", function_code="0x44",
                                function_name="Request: CPU Functions", subfunction_code="0x01",
                                subfunction_name="Read SZL"))
    assert (request.kind, request.src_ip) == ("userdata", EWS[0])
    assert {k: request.fields[k] for k in ("function_group", "ud_type", "subfunction", "subfunction_name")} == {
        "function_group": "cpu_functions", "ud_type": "request", "subfunction": 1, "subfunction_name": "read_szl"}
    (answer,) = map_s7comm(_s7(rosctr_code=7, function_code="0x84", subfunction_code="0x01"))
    assert (answer.src_ip, answer.fields["ud_type"]) == (PLC[0], "response")
    (pushed,) = map_s7comm(_s7(is_orig=True, rosctr_code=7, function_code="0x87", subfunction_code="0x01"))
    assert pushed.src_ip == EWS[0]  # is_orig, when logged, says who sent it
    with pytest.raises(ParseError):
        map_s7comm(_s7(rosctr_code=9))


def _bacnet(**kw: object) -> dict[str, Any]:
    return {"ts": T0, "uid": "Cbac1", "id.orig_h": BMS[0], "id.orig_p": 47808, "id.resp_h": AHU[0],
            "id.resp_p": 47808, "is_orig": True, "bvlc_function": "Original_Unicast_NPDU",
            "pdu_type": "CONFIRMED_REQUEST", "pdu_service": "write_property", "invoke_id": 7, **kw}


def test_a_bacnet_request_is_the_dissectors_kind_for_its_service() -> None:
    (write,) = map_bacnet(_bacnet())
    assert (write.proto, write.kind, write.src_ip, write.dst_ip, write.ip_proto) == (
        "bacnet", "write_property", BMS[0], AHU[0], 17)
    assert write.fields == {"apdu_type": "confirmed_request", "service": "write_property", "service_choice": 15,
                            "invoke_id": 7}
    (reinit,) = map_bacnet(_bacnet(pdu_service="reinitialized_device"))  # ICSNPP's spelling of choice 20
    assert (reinit.kind, reinit.fields["service_choice"]) == ("reinitialize_device", 20)
    (wpm,) = map_bacnet(_bacnet(pdu_service="write_property_multiple"))
    assert (wpm.kind, wpm.fields["service"]) == ("confirmed_request", "write_property_multiple")
    (later,) = map_bacnet(_bacnet(pdu_service="Unknown Service Choice-0x21"))  # beyond ICSNPP's table
    assert later.fields["service"] == "audit_log_query"
    (ack,) = map_bacnet(_bacnet(is_orig=False, pdu_type="SIMPLE_ACK"))
    assert (ack.kind, ack.src_ip) == ("simple_ack", AHU[0])
    assert map_bacnet(_bacnet(pdu_type="UNCONFIRMED_REQUEST", pdu_service="i_am")) == []  # discovery's line
    assert map_bacnet(_bacnet(bvlc_function="Read_Broadcast_Table", pdu_type=None, pdu_service=None)) == []


def test_a_bacnet_i_am_is_the_devices_with_its_instance_its_vendor_name_and_no_guessed_vendor_id() -> None:
    rec = _bacnet(**{"id.orig_h": AHU[0], "id.resp_h": "10.40.0.255"}, pdu_service="i-am", object_type="device",
                  instance_number=1077, vendor="Johnson Controls Inc.")
    (i_am,) = map_bacnet_discovery(rec)
    assert (i_am.kind, i_am.src_ip) == ("i_am", AHU[0])
    assert i_am.fields == {"apdu_type": "unconfirmed_request", "service": "i_am", "service_choice": 0,
                           "device_instance": 1077, "vendor_name": "Johnson Controls Inc."}
    for unassigned in ("Unknown Vendor ID-0x4e2", "Reserved for ASHRAE", None, ""):  # no one's name: none stated
        (bare,) = map_bacnet_discovery({**rec, "vendor": unassigned})
        assert "vendor_name" not in bare.fields
    (who,) = map_bacnet_discovery({**rec, "pdu_service": "who-is", "range": "All"})
    assert who.kind == "who_is"
    with pytest.raises(ParseError):
        map_bacnet_discovery({**rec, "pdu_service": "read-property"})


# --- a Zeek sensor's ICSNPP logs, analysed ------------------------------------------------------------

def _site(folder: Path, fmt: str) -> Path:
    """An engineering station reads a PLC; an intruder stops it and downloads a block; a BMS writes to an air
    handler and the air handler says I-Am; a rogue host writes a PLC variable and restarts the air handler:
    conn.log and the ICSNPP logs."""
    def s7(ts: float, conn: tuple[str, tuple[str, str], int], is_orig: str, rosctr: tuple[int, str],
           pdu: tuple[int, str, str]) -> list[str]:
        """A line of a PDU (reference, function code, function name) on a connection (uid, client, port)."""
        uid, host, port = conn
        return [f"{ts:.6f}", uid, host[0], str(port), PLC[0], "102", is_orig, str(rosctr[0]), rosctr[1], str(pdu[0]),
                pdu[1], pdu[2], "-", "-", "-", "-"]

    job, ack = (1, "Job-Request"), (3, "ACK-Data")
    ews, bad, rogue = ("Cews", EWS, 51212), ("Cbad", INTRUDER, 51300), ("Cwr", ROGUE, 51400)
    conn = [conn_row(T0, "Cews", (EWS[0], 51212, EWS[1]), (PLC[0], 102, PLC[1]),
                     proto="tcp", service="cotp,s7comm"),
            conn_row(T0 + 30, "Cbms", (BMS[0], 47808, BMS[1]), (AHU[0], 47808, AHU[1]),
                     proto="udp", service="bacnet"),
            conn_row(T0 + 600, "Cbad", (INTRUDER[0], 51300, INTRUDER[1]), (PLC[0], 102, PLC[1]),
                     proto="tcp", service="cotp,s7comm"),
            conn_row(T0 + 650, "Cwr", (ROGUE[0], 51400, ROGUE[1]), (PLC[0], 102, PLC[1]),
                     proto="tcp", service="cotp,s7comm"),
            conn_row(T0 + 700, "Cbac", (ROGUE[0], 47808, ROGUE[1]), (AHU[0], 47808, AHU[1]),
                     proto="udp", service="bacnet")]
    write_log(folder, "conn", CONN_COLUMNS, conn, fmt)
    write_log(folder, "s7comm", S7_COLUMNS, [
        s7(T0 + 0.1, ews, "T", job, (1, "0x04", "Read Variable")),
        s7(T0 + 0.2, ews, "F", ack, (1, "0x04", "Read Variable")),
        s7(T0 + 600.1, bad, "T", job, (5, "0x29", "PLC Stop")),
        s7(T0 + 600.2, bad, "F", ack, (5, "0x29", "PLC Stop")),
        s7(T0 + 601.0, bad, "T", job, (6, "0x1a", "Request Download")),
        s7(T0 + 601.5, bad, "F", job, (7, "0x1b", "Download Block")),
        s7(T0 + 650.1, rogue, "T", job, (1, "0x05", "Write Variable"))], fmt)

    def bacnet(ts: float, uid: str, host: tuple[str, str], is_orig: str, apdu: tuple[str, str, str]) -> list[str]:
        return [f"{ts:.6f}", uid, host[0], "47808", AHU[0], "47808", is_orig, "Original_Unicast_NPDU", *apdu, "-"]

    write_log(folder, "bacnet", BACNET_COLUMNS, [
        bacnet(T0 + 30.1, "Cbms", BMS, "T", ("CONFIRMED_REQUEST", "write_property", "3")),
        bacnet(T0 + 30.2, "Cbms", BMS, "F", ("SIMPLE_ACK", "write_property", "3")),
        bacnet(T0 + 700.1, "Cbac", ROGUE, "T", ("CONFIRMED_REQUEST", "reinitialized_device", "9"))], fmt)
    write_log(folder, "bacnet_discovery", DISCOVERY_COLUMNS, [
        [f"{T0 + 31:.6f}", "Cbms", BMS[0], "47808", AHU[0], "47808", "F", "i-am", "device", "1077",
         "Johnson Controls Inc.", "-", "-"]], fmt)
    return folder


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_icsnpp_logs_are_sniffed_and_read(tmp_path: Path, fmt: str) -> None:
    folder = _site(tmp_path / "zeek", fmt)
    assert [sniff_zeek(folder / f"{n}.log") for n in ("s7comm", "bacnet", "bacnet_discovery")] == [
        "s7comm", "bacnet", "bacnet_discovery"]
    obs = [o for b in read_zeek(folder) for o in b.observations]
    assert sorted((o.proto, o.kind) for o in obs) == sorted([
        *[("s7comm", "job")] * 5, *[("s7comm", "ack_data")] * 2, ("bacnet", "write_property"),
        ("bacnet", "simple_ack"), ("bacnet", "reinitialize_device"), ("bacnet", "i_am")])
    block = next(o for o in obs if o.fields.get("function") == "download_block")
    assert (block.src_ip, block.src_mac, block.dst_mac) == (PLC[0], PLC[1], INTRUDER[1])  # the PLC pulls blocks


@pytest.mark.parametrize("fmt", FORMATS)
def test_icsnpp_logs_raise_the_ot_alerts_and_findings_packets_raise(tmp_path: Path, fmt: str) -> None:
    stored = analysed(_site(tmp_path / "zeek", fmt), tmp_path / "iotwarden.db")
    devices = stored.devices
    alerts = {(a.detector_id, a.device_key) for a in stored.alerts}
    rows = {(f.check_id, f.device_key): f.evidence for f in stored.findings}
    findings = set(rows)
    plc, ahu = devices[f"mac:{PLC[1]}"], devices[f"mac:{AHU[1]}"]
    assert "s7comm" in plc.protocols and "bacnet" in ahu.protocols
    assert (plc.category, plc.attributes["service.server"]) == ("ot", ["s7comm"])  # conn.log's "cotp,s7comm"
    assert ahu.attributes["bacnet.device_instance"] == ["1077"]
    assert (ahu.vendor, ahu.attributes["bacnet.vendor_name"]) == ("Johnson Controls", ["Johnson Controls Inc."])
    assert {("detect.ot.s7_cpu_stop", plc.key), ("detect.ot.program_download", plc.key)} <= alerts
    assert {("risk.ot.unauthorized_write", plc.key), ("risk.ot.unauthorized_write", ahu.key),
            ("risk.ot.cpu_stop", ahu.key)} <= findings
    # its PLC Stop and Request Download jobs type the intruder an engineering workstation (kb ot.yaml
    # s7.client.engineering_job), a behaviour rule: the type authorises none of the requests it rests on, and
    # the PLC's stop and download are findings, as from packets
    intruder = f"mac:{INTRUDER[1]}"
    assert devices[intruder].device_type == "engineering_workstation"
    stop = rows[("risk.ot.cpu_stop", plc.key)]
    assert stop["unauthorised_sources"] == [intruder]
    assert stop["untrusted_types"] == [f"{intruder}: typed engineering_workstation only from requests any host can "
                                       "send (s7.client.engineering_job: plc_stop; s7.client.engineering_job: "
                                       "request_download); list it in engineering_stations if it is one"]
    # the PLC's own Download Block job (it fetches the block) is the intruder's download too, never a finding
    # about the intruder
    download = rows[("risk.ot.program_change", plc.key)]
    assert (download["operations"], download["unauthorised_sources"]) == (
        ["s7comm.download_block", "s7comm.request_download"], [intruder])
    assert ("risk.ot.program_change", intruder) not in findings


# --- hostile records ---------------------------------------------------------------------------------

_COLUMNS = sorted({c for c, _ in S7_COLUMNS + BACNET_COLUMNS + DISCOVERY_COLUMNS} | {"proto"})
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                     st.text(max_size=20), st.sampled_from(["10.0.0.1", "fe80::1", "T", "0x29", "0x44", "0xzz", "7",
                                                            "CONFIRMED_REQUEST", "i-am", "device", "_MODU",
                                                            "Unknown Service Choice-0xff", "-"]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), _SCALARS,
                                                                                 max_size=2))


@settings(max_examples=300, deadline=None)
@given(log_type=st.sampled_from(["s7comm", "bacnet", "bacnet_discovery"]),
       record=st.dictionaries(st.sampled_from(_COLUMNS), _VALUES, max_size=12))
def test_fuzz_any_record_maps_or_raises_parse_error(log_type: str, record: dict[str, object]) -> None:
    assert_maps_or_parse_error(log_type, record, T0)
