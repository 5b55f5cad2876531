"""Acceptance on ../shared/data/pcaps/ics_iti: captures whose names say they hold a PLC stop, a program
or firmware download, a restart or writes raise the matching OT alert. Expectations follow what each
capture holds, checked with the dissectors: the TIA/STEP 7 "download" captures named below hold only
COTP/S7 setup or S7comm-plus userdata (no classic download job), EIP-SoftwareDownloadFailure and
DNP3-WriteRequest hold no request at all (the latter only a DNP3 link-status frame), so they raise nothing.
"""

from __future__ import annotations

import pytest

from tests.conftest import shared
from tests.detect.runner import detect

# each capture's one request host writes for the first time: enforce from the first write
WRITES_FROM_START = {"detect.ot_write": {"learn_s": 0.0}}

CASES = {
    "s7/snap7_s300_stop.pcapng": {"detect.ot.s7_cpu_stop"},
    "s7/step7_s300_stop.pcapng": {"detect.ot.s7_cpu_stop"},
    "s7/s7comm_downloading_block_db1.pcap": {"detect.ot.program_download"},
    "EthernetIP/cip_stop_plc.pcap": {"detect.ot.cip_stop"},
    "openics/EIP-FirmwareChange.pcap": {"detect.ot.firmware_update"},
    "openics/EIP-FirmwareChangeFailure.pcap": {"detect.ot.firmware_update"},
    "openics/EIP-SoftwareDownload.pcap": {"detect.ot.program_download", "detect.ot.cip_stop"},
    "dnp3/cold_restart_and_response.pcap": {"detect.ot.dnp3_cold_restart"},
    "dnp3/warm_restart_and_response.pcap": {"detect.ot.dnp3_warm_restart"},
    "openics/DNP3-Write.pcap": {"detect.ot.dnp3_write_new_host"},
    "dnp3/write_binary_output.pcap": {"detect.ot.dnp3_write_new_host"},
    "dnp3/file_write.pcap": {"detect.ot.dnp3_write_new_host"},
    "dnp3/write_iin_and_response.pcap": {"detect.ot.dnp3_write_new_host"},
    "dnp3/write_vto_empty_string.pcap": {"detect.ot.dnp3_write_new_host"},
    "bro/dnp3/dnp3_write.pcap": {"detect.ot.dnp3_write_new_host"},
    "bro/dnp3/dnp3_file_write.pcap": {"detect.ot.dnp3_write_new_host"},
    "openics/MODBUS-TestDataPart1.pcap": {"detect.ot.modbus_write_new_host"},
    # named for downloads/writes, but holding no request the dissectors can see (module docstring)
    "s7/tia_s300_downloadOb1.pcapng": set(),
    "s7/step7_s300_download.pcapng": set(),
    "s7/tia_s300_downloadHwConfig.pcapng": set(),
    "openics/EIP-SoftwareDownloadFailure.pcap": set(),
    "openics/DNP3-WriteRequest.pcap": set(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_named_ot_capture_raises_the_matching_alert(name: str) -> None:
    ctx = detect([shared("pcaps", "ics_iti", "pcaps", *name.split("/"))], WRITES_FROM_START)
    ot = {a.id for a in ctx.alerts if a.id.startswith("detect.ot.")}
    assert ot == CASES[name]
    for alert in ctx.alerts:
        if alert.id.startswith("detect.ot."):
            assert alert.severity in ("high", "critical")
            assert all(t.startswith("T0") for t in alert.mitre)  # ATT&CK for ICS
            assert alert.observations, "the requests behind the alert are its evidence"


def test_firmware_update_repeats_fold_into_one_alert() -> None:
    ctx = detect([shared("pcaps", "ics_iti", "pcaps", "openics", "EIP-FirmwareChange.pcap")])
    fw = [a for a in ctx.alerts if a.id == "detect.ot.firmware_update"]
    assert len(fw) == 1
    assert fw[0].count > 5000  # every Non-Volatile Storage request, counted, not re-raised
    assert len(fw[0].observations) <= 16


def test_a_known_writer_is_learned_with_the_default_learning_phase() -> None:
    ctx = detect([shared("pcaps", "ics_iti", "pcaps", "openics", "MODBUS-TestDataPart1.pcap")])
    assert not [a for a in ctx.alerts if a.id == "detect.ot.modbus_write_new_host"]
