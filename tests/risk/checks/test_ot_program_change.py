"""risk.ot.program_change: program downloads and block changes from non-engineering hosts."""

from __future__ import annotations

from tests.conftest import shared
from tests.risk.harness import analyse, found

ID = "risk.ot.program_change"


def test_s7_block_download_is_critical_and_the_plcs_own_jobs_are_the_pgs() -> None:
    """The PG asks for the download; the PLC then fetches the block with its own Download Block and Download
    Ended jobs: one finding, about the PLC, naming the PG, never one about the PG naming the PLC."""
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "s7", "s7comm_downloading_block_db1.pcap"))
    (finding,) = found(ctx, ID).values()
    assert finding.severity == "critical"
    assert (finding.subject, finding.evidence["unauthorised_sources"]) == ("mac:00:1b:1b:23:eb:3b",
                                                                           ["mac:90:e6:ba:84:5e:41"])
    assert {"s7comm.request_download", "s7comm.download_block", "s7comm.download_ended"} <= set(
        finding.evidence["operations"])


def test_umas_download_to_a_modicon() -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "modicon", "modicon_test.pcap"))
    (finding,) = found(ctx, ID).values()
    assert all(op.startswith("modbus.umas.") for op in finding.evidence["operations"])


def test_dnp3_file_delete_is_a_program_change() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "dnp3", "dnp3-file-del", "input.pcap"))
    (finding,) = found(ctx, ID).values()
    assert finding.evidence["operations"] == ["dnp3.delete_file"]


def test_variable_reads_and_writes_are_not_program_changes() -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "s7", "s7comm_varservice_libnodavedemo.pcap"))
    assert found(ctx, ID) == {}
