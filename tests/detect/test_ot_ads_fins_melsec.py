"""End to end on the ics_iti captures: an ADS route added to the Beckhoff CX (TwinCAT system service, udp/48899)
is detect.ot.config_change on the CX; ADS and FINS sessions that only read raise no OT alert; GX Works stopping
the FX5U and writing its program files over MELSOFT is a CPU stop and a program download on the PLC."""

from __future__ import annotations

import pytest

from tests.conftest import shared
from tests.detect.runner import detect
from tests.risk.harness import analyse, found

BECKOFF = ("pcaps", "ics_iti", "pcaps", "beckoff")
ROUTES = {  # capture -> (engineering host that added the route, add-route requests)
    "addroute.pcapng": ("192.168.1.99", 1),
    "addroute1.pcapng": ("192.168.1.99", 2),
    "beckoffaddroute.pcapng": ("192.168.1.199", 2),
    "addrouteuse444444444.pcapng": ("192.168.1.99", 1),
}


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_an_added_ads_route_is_a_config_change_on_the_cx(name: str) -> None:
    ctx = detect([shared(*BECKOFF, name)])
    ot = [a for a in ctx.alerts if a.id.startswith("detect.ot.")]
    assert [a.id for a in ot] == ["detect.ot.config_change"]
    alert = ot[0]
    assert (alert.src_ip, alert.dst_ip) == (ROUTES[name][0], "192.168.1.8") and alert.count == ROUTES[name][1]
    assert alert.severity == "high" and "T0836" in alert.mitre
    assert alert.evidence["proto"] == "ads" and "add_route" in alert.evidence["operation"]


@pytest.mark.parametrize("path", [("beckoff", "beckoffiplink.pcapng"), ("omron", "omron_test.pcap"),
                                  ("MELSEC", "melsoft_variant_clean.pcap")])
def test_reading_sessions_raise_no_ot_alert(path: tuple[str, str]) -> None:
    ctx = detect([shared("pcaps", "ics_iti", "pcaps", *path)])
    assert not [a.id for a in ctx.alerts if a.id.startswith("detect.ot.")]


def test_gx_works_stopping_the_fx5u_and_writing_its_files_is_seen_on_the_plc() -> None:
    ctx = detect([shared("pcaps", "ics_iti", "pcaps", "MELSEC", "melsoft_UDP_clean_1.pcap")])
    ot = {a.id: a for a in ctx.alerts if a.id.startswith("detect.ot.")}
    assert set(ot) == {"detect.ot.cpu_stop", "detect.ot.program_download"}
    assert {(a.src_ip, a.dst_ip) for a in ot.values()} == {("192.168.3.101", "192.168.3.250")}  # GX Works, the PLC
    assert ot["detect.ot.program_download"].count == 17  # "MAIN PRG", "CPU PRM", ... file writes


def test_the_risk_checks_name_gx_works_host_as_the_unauthorised_source() -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "MELSEC", "melsoft_UDP_clean_1.pcap"))
    for check in ("risk.ot.cpu_stop", "risk.ot.program_change"):
        (finding,) = found(ctx, check).values()
        assert finding.evidence["unauthorised_sources"] == ["mac:84:7b:eb:0d:bd:b7"]  # 192.168.3.101, not broadcast
