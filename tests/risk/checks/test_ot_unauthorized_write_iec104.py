"""risk.ot.unauthorized_write on IEC 104: a master sending single and double commands to an RTU (ics_iti)."""

from __future__ import annotations

from tests.conftest import shared
from tests.risk.harness import analyse, found

ID = "risk.ot.unauthorized_write"
CAPTURE = ("pcaps", "ics_iti", "pcaps", "IEC60870-5-104", "TestDissectIec104.pcap")
RTU, MASTER = "mac:00:15:c5:18:d4:cc", "mac:00:13:72:d7:87:8a"


def test_commands_to_the_rtu_from_an_unlisted_master() -> None:
    ctx, _ = analyse(shared(*CAPTURE))
    finding = found(ctx, ID)[RTU]
    assert finding.severity == "high"
    assert set(finding.evidence["operations"]) == {"iec104.c_sc_na_1", "iec104.c_dc_na_1"}
    assert finding.evidence["unauthorised_sources"] == [MASTER]


def test_a_listed_engineering_station_may_command_it() -> None:
    ctx, _ = analyse(shared(*CAPTURE), options={ID: {"engineering_stations": [MASTER]}})
    assert found(ctx, ID) == {}


def test_interrogations_only_are_fine() -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "IEC60870-5-104", "JavaRMI_and_IEC_Misc.pcap"))
    assert found(ctx, ID) == {}
