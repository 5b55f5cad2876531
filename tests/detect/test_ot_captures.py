"""Acceptance on ../shared/data/pcaps/ics_iti: captures whose names say they hold a PLC stop, a program
or firmware download, a restart or writes raise the matching OT alert. Every file whose name says
so is listed below (a test walks the folder), with what it holds as tshark 4.0 decodes it:

* CASES: the alert the capture must raise (empty: the capture holds no such request, checked with
  tshark: EIP-SoftwareDownloadFailure holds only ARP/STP/LLDP, DNP3-WriteRequest a TCP exchange
  whose only DNP3 is a link-status frame).

MMS (ISO 9506) on IEC61850/"MMS - Specific Commands": the mms-* captures carry the MMS PDU straight
in the COTP user data, the iec61850_* ones (and IEC61850/iec) the full session/presentation/ACSE
stack; each holds the requests its name says (mms-stopRequest: start then stop, mms-startRequest:
stop then start, mms-initiateDownloadSequence: takeControl then initiateDownloadSequence) and the
servers' answers are malformed. The program-control captures not named for a stop are listed too.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import shared
from tests.detect.runner import detect

# each capture's one request host writes for the first time: enforce from the first write
WRITES_FROM_START = {"detect.ot_write": {"learn_s": 0.0}}
MMS = "IEC61850/MMS - Specific Commands/"

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
    "s7/step7_s300_rwVarTab.pcapng": {"detect.ot.s7_write_new_host"},  # programmer's "modify variable"
    "s7/wincc_s300_setup-alarm-read-write.pcapng": {"detect.ot.s7_write_new_host"},  # write_var (answers)
    # the download jobs come after segments the capture lost (tshark: "previous segment not captured"):
    # the engine skips the holes and goes on (engine/reassembly.py)
    "s7/step7_s300_download.pcapng": {"detect.ot.program_download"},
    "s7/tia_s300_downloadOb1.pcapng": {"detect.ot.program_download"},
    "s7/tia_s300_downloadHwConfig.pcapng": {"detect.ot.program_download", "detect.ot.s7_cpu_stop"},
    MMS + "mms-stopRequest.pcap": {"detect.ot.mms_stop", "detect.ot.mms_start"},
    MMS + "mms-startRequest.pcap": {"detect.ot.mms_stop", "detect.ot.mms_start"},
    MMS + "mms-killRequest.pcap": {"detect.ot.mms_stop"},
    MMS + "mms-resetRequest.pcap": {"detect.ot.mms_reset"},
    MMS + "mms-resumeRequest.pcap": {"detect.ot.mms_start"},
    MMS + "mms-deleteProgramInvocation.pcap": {"detect.ot.mms_delete"},
    MMS + "mms-initiateDownloadSequence.pcap": {"detect.ot.program_download"},
    MMS + "iec61850_write.pcap": {"detect.ot.mms_write_new_host"},
    "IEC61850/iec": {"detect.ot.mms_write_new_host"},  # IEC 61850 write of ACTSETGGIO80$DC$NamPlt$vendor
    # upload and read only: nothing changes on the device
    MMS + "mms-initiateUploadSequence.pcap": set(),
    MMS + "mms-terminateUploadSequence.pcap": set(),
    MMS + "iec61850_read.pcap": set(),
    # named for downloads/writes, but holding no such request (module docstring)
    "openics/EIP-SoftwareDownloadFailure.pcap": set(),
    "openics/DNP3-WriteRequest.pcap": set(),
}
NAMED = re.compile(r"stop|download|firmware|write|_rw", re.IGNORECASE)  # what the acceptance names


def test_every_capture_named_for_a_stop_download_or_write_is_checked() -> None:
    root = shared("pcaps", "ics_iti", "pcaps")
    named = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix in (".pcap", ".pcapng")
             and NAMED.search(p.name)}
    assert len(named) >= 24
    assert named <= set(CASES), sorted(named - set(CASES))


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
