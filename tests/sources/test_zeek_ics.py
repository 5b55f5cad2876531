"""Zeek's industrial logs (modbus.log, dnp3.log) and its service names, read as the packet path reads them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from iotwarden.errors import ParseError
from iotwarden.services.analyze import analyze
from iotwarden.sources.zeek import read_zeek, sniff_zeek
from iotwarden.sources.zeek_ics import map_cip, map_cip_identity, map_dnp3, map_modbus
from iotwarden.sources.zeek_map import service_name
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow
from iotwarden.store.schema import DeviceRow
from tests.sources.zeeklog import assert_maps_or_parse_error

HEAD = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n#fields\t{fields}\n"
ID = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p"
SCADA, EWS, INTRUDER, PLC, RTU = "10.20.0.5", "10.20.0.9", "10.20.0.66", "10.20.1.10", "10.20.1.20"
MACS = {SCADA: "00:1b:21:00:00:05", EWS: "00:1b:21:00:00:09", INTRUDER: "00:1b:21:00:00:66",
        PLC: "00:80:f4:00:01:0a", RTU: "00:30:a7:00:01:14"}
T0 = 1_700_000_000.0


@pytest.mark.parametrize(("zeek", "ours"), [
    ("ssl", "tls"), ("dnp3_tcp", "dnp3"), ("DNP3_UDP", "dnp3"), ("krb_tcp", "kerberos"), ("krb", "kerberos"),
    ("spicy_synchrophasor_tcp", "c37118"), ("spicy_hart_ip_udp", "hartip"), ("opcua-binary", "opcua"),
    ("spicy_omron_fins_udp", "fins"), ("s7comm_tcp", "s7comm"), ("spicy_openvpn_tcp_hmac_sha1", "openvpn"),
    ("modbus", "modbus"), ("http", "http"), ("_tcp", "_tcp"), ("spicy_ldap_tcp", "ldap"),
])
def test_zeek_service_names_are_our_dissectors_names(zeek: str, ours: str) -> None:
    assert service_name(zeek) == ours


def _rec(**kw: object) -> dict[str, object]:
    return {"ts": T0, "id.orig_h": SCADA, "id.orig_p": 50000, "id.resp_h": PLC, "id.resp_p": 502, **kw}


def test_a_modbus_line_is_the_masters_request_with_our_function_names() -> None:
    (obs,) = map_modbus(_rec(func="WRITE_SINGLE_REGISTER", tid=7, unit=1))
    assert (obs.proto, obs.kind, obs.src_ip, obs.dst_ip, obs.dst_port) == ("modbus", "request", SCADA, PLC, 502)
    assert obs.fields == {"function_code": 6, "function": "write_single_register", "is_write": True,
                          "transaction_id": 7, "unit_id": 1}
    (refused,) = map_modbus(_rec(func="WRITE_MULTIPLE_COILS_EXCEPTION", exception="ILLEGAL_DATA_ADDRESS"))
    assert (refused.fields["function"], refused.fields["is_write"], refused.fields["exception"]) == (
        "write_multiple_coils", True, "illegal_data_address")  # refused, but sent
    (odd,) = map_modbus(_rec(func="POLL_584_984"))
    assert (odd.fields["function"], odd.fields["is_write"]) == ("poll_584_984", False)
    (umas,) = map_modbus(_rec(func="PROGRAM_UNITY"))
    assert (umas.fields["function_code"], umas.fields["function"]) == (90, "umas")
    with pytest.raises(ParseError):
        map_modbus(_rec())


def test_a_dnp3_line_is_the_masters_request_and_an_unsolicited_answer_none() -> None:
    (obs,) = map_dnp3(_rec(**{"id.resp_h": RTU, "id.resp_p": 20000}, fc_request="COLD_RESTART",
                           fc_reply="RESPONSE", iin=0))
    assert (obs.proto, obs.kind, obs.dst_ip) == ("dnp3", "request", RTU)
    assert obs.fields == {"function_code": 13, "function": "cold_restart", "reply": "response", "iin": 0}
    assert map_dnp3(_rec(fc_reply="UNSOLICITED_RESPONSE")) == []
    with pytest.raises(ParseError):
        map_dnp3({"ts": T0, "fc_request": "READ"})


def _write(path: Path, log: str, fields: str, rows: list[str]) -> None:
    path.write_text(HEAD.format(path=log, fields=fields) + "".join(r + "\n" for r in rows))


def _site(folder: Path) -> Path:
    """An hour and a half of a SCADA master polling a PLC (Modbus, a set point written every ten minutes) and
    an RTU (DNP3), then an intruder writing to the PLC and cold-restarting the RTU: conn.log, modbus.log and
    dnp3.log as Zeek writes them."""
    folder.mkdir()
    conn, modbus, dnp3 = [], [], []
    conn_fields = f"{ID}\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_pkts\t" \
                  "orig_ip_bytes\tresp_pkts\tresp_ip_bytes\torig_l2_addr\tresp_l2_addr"

    def session(i: int, t: float, src: str, dst: str, *, port: int, service: str) -> None:
        conn.append(f"{t:.6f}\tC{i:09d}\t{src}\t{40000 + i}\t{dst}\t{port}\ttcp\t{service}\t0.2\t24\t24\tSF\t"
                    f"ShADadFf\t6\t300\t6\t300\t{MACS[src]}\t{MACS[dst]}")

    for i in range(90):
        t = T0 + i * 60.0
        session(2 * i, t, SCADA, PLC, port=502, service="modbus")
        func = "WRITE_SINGLE_REGISTER" if i % 10 == 0 else "READ_HOLDING_REGISTERS"  # a set point every 10 min
        modbus.append(f"{t + 0.01:.6f}\tC{2 * i:09d}\t{SCADA}\t{40000 + 2 * i}\t{PLC}\t502\t{func}\t-")
        session(2 * i + 1, t, SCADA, RTU, port=20000, service="dnp3_tcp")
        dnp3.append(f"{t + 0.01:.6f}\tC{2 * i + 1:09d}\t{SCADA}\t{40001 + 2 * i}\t{RTU}\t20000\tREAD\tRESPONSE\t0")
    t = T0 + 5600.0
    session(500, t, INTRUDER, PLC, port=502, service="modbus")
    modbus.append(f"{t + 0.01:.6f}\tC{500:09d}\t{INTRUDER}\t40500\t{PLC}\t502\tWRITE_SINGLE_REGISTER\t-")
    session(501, t + 5, INTRUDER, RTU, port=20000, service="dnp3_tcp")
    dnp3.append(f"{t + 5.01:.6f}\tC{501:09d}\t{INTRUDER}\t40501\t{RTU}\t20000\tCOLD_RESTART\tRESPONSE\t0")
    _write(folder / "conn.log", "conn", conn_fields, conn)
    _write(folder / "modbus.log", "modbus", f"{ID}\tfunc\texception", modbus)
    _write(folder / "dnp3.log", "dnp3", f"{ID}\tfc_request\tfc_reply\tiin", dnp3)
    return folder


def test_the_logs_are_sniffed_and_stamped_with_conn_logs_macs(tmp_path: Path) -> None:
    folder = _site(tmp_path / "zeek")
    assert [sniff_zeek(folder / f"{n}.log") for n in ("modbus", "dnp3")] == ["modbus", "dnp3"]
    obs = [o for b in read_zeek(folder) for o in b.observations]
    assert {o.proto for o in obs} == {"modbus", "dnp3"} and len(obs) == 182
    cold = next(o for o in obs if o.fields.get("function") == "cold_restart")
    assert (cold.src_mac, cold.dst_mac) == (MACS[INTRUDER], MACS[RTU])


def test_a_zeek_sensors_ics_logs_give_ot_devices_alerts_and_findings(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'iotwarden.db'}") as store:
        report = analyze([_site(tmp_path / "zeek")], store)
        assert [f.status for f in report.files] == ["complete"]
        with store.session() as s:
            devices = {d.key: d for d in s.scalars(select(DeviceRow))}
            alerts = {(a.detector_id, a.device_key) for a in s.scalars(select(AlertRow))}
            findings = {(f.check_id, f.device_key) for f in s.scalars(select(FindingRow))}
    plc, rtu = devices[f"mac:{MACS[PLC]}"], devices[f"mac:{MACS[RTU]}"]
    assert (plc.category, "modbus" in plc.protocols) == ("ot", True)
    assert (rtu.category, "dnp3" in rtu.protocols) == ("ot", True)  # Zeek's "dnp3_tcp" is our dnp3
    assert devices[f"mac:{MACS[SCADA]}"].category == "ot"  # who polls the controllers
    assert ("detect.ot.dnp3_cold_restart", rtu.key) in alerts
    assert ("detect.ot.modbus_write_new_host", plc.key) in alerts  # the master's writes were learned
    assert {("risk.ot.unauthorized_write", plc.key), ("risk.ot.cpu_stop", rtu.key)} <= findings


# --- ICSNPP-ENIP: cip.log and cip_identity.log (columns as its README and test baselines give them) ---

CIP_FIELDS = (f"{ID}\tis_orig\tcip_sequence_count\tdirection\tcip_service_code\tcip_service\tcip_status_code\t"
              "cip_status\tcip_extended_status_code\tcip_extended_status\tclass_id\tclass_name\tinstance_id\t"
              "attribute_id")
IDENTITY_FIELDS = (f"{ID}\tis_orig\tsource_h\tsource_p\tdestination_h\tdestination_p\tencapsulation_version\t"
                   "socket_address\tsocket_port\tvendor_id\tvendor_name\tdevice_type_id\tdevice_type_name\t"
                   "product_code\trevision\tdevice_status\tserial_number\tproduct_name\tdevice_state")
ENBT = "10.1.1.164"


def test_a_cip_request_line_is_the_dissectors_cip_request_and_a_response_none() -> None:
    rec = _rec(**{"id.resp_h": ENBT, "id.resp_p": 44818}, is_orig=True, direction="request", cip_service_code="0x10",
               cip_service="Set Attribute Single", class_id="0xf5", class_name="TCP/IP Interface", instance_id="0x01",
               attribute_id="0x05")
    (obs,) = map_cip(rec)
    assert (obs.proto, obs.kind, obs.src_ip, obs.dst_ip) == ("enip", "cip_request", SCADA, ENBT)
    assert obs.fields == {"service": 0x10, "service_name": "set_attribute_single", "class": 0xF5,
                          "class_name": "tcp_ip_interface", "instance": 1, "attribute": 5}
    assert map_cip({**rec, "direction": "response", "is_orig": False}) == []
    with pytest.raises(ParseError):
        map_cip({**rec, "cip_service_code": None})


def test_a_cip_identity_line_is_the_devices_identity() -> None:
    rec = _rec(**{"id.orig_h": "10.1.1.167", "id.orig_p": 5262, "id.resp_h": ENBT, "id.resp_p": 44818}, is_orig=False,
               socket_address=ENBT, socket_port=44818, vendor_id=1, vendor_name="Rockwell Automation/Allen-Bradley",
               device_type_id=12, product_code=58, revision="4.3", device_status="0x0030",
               serial_number="0x00524d8e", product_name="1756-ENBT/A", device_state="0x0003")
    (obs,) = map_cip_identity(rec)
    assert (obs.proto, obs.kind, obs.src_ip) == ("enip", "identity", ENBT)
    assert obs.fields == {"vendor_id": 1, "device_type": 12, "product_code": 58, "revision": "4.3", "status": 0x30,
                          "serial": "0x00524d8e", "product_name": "1756-ENBT/A", "state": 3, "ip": ENBT, "port": 44818}


def test_a_malcolm_sensors_enip_logs_name_the_module_and_its_stop(tmp_path: Path) -> None:
    folder = tmp_path / "zeek"
    folder.mkdir()
    conn_fields = f"{ID}\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_l2_addr\t" \
                  "resp_l2_addr"
    eng, enbt_mac, eng_mac = "10.1.1.167", "00:00:bc:3e:eb:e4", "00:1b:21:00:01:67"
    _write(folder / "conn.log", "conn", conn_fields, [
        f"{T0:.6f}\tCa\t{eng}\t5262\t{ENBT}\t44818\ttcp\tenip\t1.0\t300\t300\tSF\tShADadFf\t{eng_mac}\t{enbt_mac}",
        f"{T0 + 60:.6f}\tCb\t{eng}\t5263\t{ENBT}\t44818\ttcp\tenip\t1.0\t300\t300\tSF\tShADadFf\t{eng_mac}\t"
        f"{enbt_mac}"])
    _write(folder / "cip_identity.log", "cip_identity", IDENTITY_FIELDS, [
        f"{T0 + 0.1:.6f}\tCa\t{eng}\t5262\t{ENBT}\t44818\tF\t{ENBT}\t44818\t{eng}\t5262\t1\t{ENBT}\t44818\t1\t"
        "Rockwell Automation/Allen-Bradley\t12\tCommunications Adapter\t58\t4.3\t0x0030\t0x00524d8e\t1756-ENBT/A\t"
        "0x0003"])
    _write(folder / "cip.log", "cip", CIP_FIELDS, [
        f"{T0 + 60.1:.6f}\tCb\t{eng}\t5263\t{ENBT}\t44818\tT\t7\trequest\t0x07\tStop\t-\t-\t-\t-\t0x01\t"
        "Identity\t0x01\t-",
        f"{T0 + 60.2:.6f}\tCb\t{eng}\t5263\t{ENBT}\t44818\tF\t7\tresponse\t0x07\tStop\t0x00\tSuccess\t"
        "-\t-\t-\t-\t-\t-"])
    assert [sniff_zeek(folder / f"{n}.log") for n in ("cip", "cip_identity")] == ["cip", "cip_identity"]
    with Store(f"sqlite:///{tmp_path / 'iotwarden.db'}") as store:
        assert [f.status for f in analyze([folder], store).files] == ["complete"]
        with store.session() as s:
            enbt = s.scalars(select(DeviceRow).where(DeviceRow.key == f"mac:{enbt_mac}")).one()
            alerts = {(a.detector_id, a.device_key) for a in s.scalars(select(AlertRow))}
    assert (enbt.vendor, enbt.model, enbt.category) == ("Rockwell Automation", "1756-ENBT/A", "ot")
    assert ("detect.ot.cip_stop", enbt.key) in alerts


# --- hostile records: a log line's fields are whatever the file says (STYLE 10); modbus, dnp3, cip and cip_identity
# had no record fuzz (tests/sources/test_zeek_icsnpp.py fuzzes s7comm and the BACnet logs)

_COLUMNS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "func", "exception", "tid",
            "unit", "pdu_type", "fc_request", "fc_reply", "iin", "is_orig", "direction", "cip_service_code",
            "class_id", "class_name", "instance_id", "attribute_id", "socket_address", "socket_port", "vendor_id",
            "device_type", "device_type_id", "product_code", "revision", "device_status", "device_state", "status",
            "state", "serial", "serial_number", "product_name", "transaction_id", "unit_id"]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                     st.text(max_size=20), st.sampled_from([
                         "10.0.0.1", "fe80::1", "T", "F", "-", "", "request", "response", "READ_COILS",
                         "WRITE_SINGLE_REGISTER_EXCEPTION", "ILLEGAL_FUNCTION", "COLD_RESTART", "RESPONSE", "0x4c",
                         "0x0e", "0xzz", "0x", "0x10000", "-5", "65536", "99999999999999999999", "1e5", "1.2"]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), _SCALARS,
                                                                                 max_size=2))


@settings(max_examples=100, deadline=None)
@given(log_type=st.sampled_from(["modbus", "dnp3", "cip", "cip_identity"]),
       record=st.dictionaries(st.sampled_from(_COLUMNS), _VALUES, max_size=14))
def test_fuzz_any_record_maps_or_raises_parse_error(log_type: str, record: dict[str, object]) -> None:
    assert_maps_or_parse_error(log_type, record, T0)
