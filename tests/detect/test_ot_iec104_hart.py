"""IEC 104 and HART-IP requests reach the generic OT detectors through model/otops.py's fields: a command
on ics_iti's IEC 104 captures is a write from a new host; a reset process / device reset is a restart."""

from __future__ import annotations

import struct

import pytest

from iotwarden.detect.ot import OtOperationDetector
from iotwarden.detect.ot_write import OtWriteDetector
from iotwarden.dissect.hartip import HartIpDissector
from iotwarden.dissect.iec104 import Iec104Dissector
from tests.conftest import shared
from tests.detect.runner import detect, feed
from tests.dissect.hostile import feed_chunks

IEC104 = ("pcaps", "ics_iti", "pcaps", "IEC60870-5-104")
WRITES_FROM_START = {"detect.ot_write": {"learn_s": 0.0}}


@pytest.mark.parametrize(("name", "rtu", "master", "first"), [
    # tshark: frame 117 C_DC_NA_1 act, IOA 15000, from the master's port 1578 to the RTU's 2404
    ("TestDissectIec104.pcap", "172.27.248.79", "172.27.248.109", "IEC104 c_dc_na_1"),
    # one host talking to itself over loopback: commands and set points, 45-63 with cause act
    ("090813_diverse.pcap", "10.0.0.10", "10.0.0.10", "IEC104 c_sc_ta_1"),
])
def test_a_command_on_a_real_capture_is_a_write_from_a_new_host(name: str, rtu: str, master: str, first: str) -> None:
    ctx = detect([shared(*IEC104, name)], WRITES_FROM_START)
    ot = [a for a in ctx.alerts if a.id.startswith("detect.ot.")]
    assert [a.id for a in ot] == ["detect.ot.write_new_host"]
    alert = ot[0]
    assert (alert.dst_ip, alert.src_ip, alert.severity) == (rtu, master, "high")
    assert alert.evidence["operation"] == first and alert.evidence["seen_in"] == "request"
    assert set(alert.mitre) == {"T0836", "T0855"}
    assert alert.observations and alert.observations[0]["proto"] == "iec104"


def test_interrogations_only_raise_nothing_and_a_known_writer_is_learned() -> None:
    assert not [a for a in detect([shared(*IEC104, "JavaRMI_and_IEC_Misc.pcap")], WRITES_FROM_START).alerts
                if a.id.startswith("detect.ot.")]
    learned = detect([shared(*IEC104, "TestDissectIec104.pcap")])  # default learning phase
    assert not [a for a in learned.alerts if a.id.startswith("detect.ot.")]


def _iec104_reset_process() -> bytes:
    asdu = bytes([105, 1, 6, 0]) + (7).to_bytes(2, "little") + bytes(3) + b"\x01"  # C_RP_NA_1 act, QRP 1
    return bytes([0x68, 4 + len(asdu)]) + bytes(4) + asdu


def _iec104_parameter_loading() -> bytes:
    # P_ME_NC_1 act (IEC 60870-5-101 §7.3.5): IOA 4001, threshold 5.0, QPM 0x01 (KPA threshold value)
    asdu = bytes([112, 1, 6, 0]) + (7).to_bytes(2, "little") + (4001).to_bytes(3, "little") + \
        bytes.fromhex("0000a040") + b"\x01"
    return bytes([0x68, 4 + len(asdu)]) + bytes(4) + asdu


def test_iec104_parameter_loading_is_a_config_change() -> None:
    obs = feed_chunks(Iec104Dissector(), [(True, _iec104_parameter_loading())])
    alerts = feed([OtOperationDetector()], obs)
    assert [(a.id, a.dst_ip, a.src_ip, a.severity) for a in alerts] == [
        ("detect.ot.config_change", "10.0.0.2", "10.0.0.1", "high")]
    assert alerts[0].evidence["operation"] == "IEC104 p_me_nc_1 (configuration change)"


def _hartip(command: int, data: bytes = b"") -> bytes:
    frame = bytes([0x82]) + bytes.fromhex("264e0000d2") + bytes([command, len(data)]) + data + b"\x00"
    return struct.pack(">BBBBHH", 1, 0, 3, 0, 5, 8 + len(frame)) + frame


def test_iec104_reset_process_is_a_device_restart() -> None:
    obs = feed_chunks(Iec104Dissector(), [(True, _iec104_reset_process())])
    alerts = feed([OtOperationDetector()], obs)
    assert [(a.id, a.dst_ip, a.src_ip, a.severity) for a in alerts] == [
        ("detect.ot.device_restart", "10.0.0.2", "10.0.0.1", "critical")]
    assert alerts[0].evidence["operation"] == "IEC104 c_rp_na_1 (device restart)"


def test_hart_ip_write_and_device_reset() -> None:
    obs = feed_chunks(HartIpDissector(), [(True, _hartip(6, b"\x05")), (True, _hartip(42))])
    writes = feed([OtWriteDetector({"learn_s": 0.0})], obs)
    assert [(a.id, a.evidence["operation"]) for a in writes] == [
        ("detect.ot.write_new_host", "HARTIP write_polling_address")]
    restarts = feed([OtOperationDetector()], obs)
    assert [(a.id, a.dst_ip) for a in restarts] == [("detect.ot.device_restart", "10.0.0.2")]
