"""risk.ot.cpu_stop: stop/restart commands from non-engineering hosts."""

from __future__ import annotations

import pytest

from tests.conftest import shared
from tests.risk.harness import analyse, found

ID = "risk.ot.cpu_stop"


@pytest.mark.parametrize(("parts", "operation"), [
    (("s7", "snap7_s300_stop.pcapng"), "s7comm.plc_stop"),
    (("s7", "step7_s300_stop.pcapng"), "s7comm.plc_stop"),
    (("dnp3", "cold_restart_and_response.pcap"), "dnp3.cold_restart"),
    (("dnp3", "warm_restart_and_response.pcap"), "dnp3.warm_restart"),
    (("EthernetIP", "cip_stop_plc.pcap"), None),
])
def test_real_stop_captures(parts: tuple[str, str], operation: str | None) -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", *parts))
    (finding,) = found(ctx, ID).values()
    assert finding.severity == "critical"
    if operation:
        assert operation in finding.evidence["operations"]


def test_stop_from_the_engineering_station_is_fine() -> None:
    path = shared("pcaps", "ics_iti", "pcaps", "s7", "snap7_s300_stop.pcapng")
    source = found(analyse(path)[0], ID).popitem()[1].evidence["unauthorised_sources"][0]
    ctx, _ = analyse(path, options={ID: {"engineering_stations": [source]}})
    assert found(ctx, ID) == {}


def test_polling_is_no_stop() -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "s7", "s7comm_varservice_libnodavedemo.pcap"))
    assert found(ctx, ID) == {}
