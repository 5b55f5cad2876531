"""risk.ot.unauthorized_write: controller writes from hosts that are not engineering stations or HMIs."""

from __future__ import annotations

from tests.conftest import shared
from tests.risk.harness import analyse, found

ID = "risk.ot.unauthorized_write"
MASTER = "mac:b8:ac:6f:ab:45:7a"
DNP3_WRITE = ("pcaps", "suricata_verify", "dnp3", "dnp3-write", "input.pcap")


def test_dnp3_write_from_an_unknown_master_names_it() -> None:
    # suricata-verify dnp3-write: one DNP3 WRITE request (function 2) to the outstation
    ctx, _ = analyse(shared(*DNP3_WRITE))
    (finding,) = found(ctx, ID).values()
    assert finding.severity == "high"
    assert finding.evidence["operations"] == ["dnp3.write"]
    assert finding.evidence["unauthorised_sources"] == [MASTER]


def test_listed_engineering_station_or_classified_hmi_is_authorised() -> None:
    path = shared(*DNP3_WRITE)
    ctx, _ = analyse(path, options={ID: {"engineering_stations": [MASTER]}})
    assert found(ctx, ID) == {}
    (master_ip,) = analyse(path)[0].devices[MASTER].ips
    ctx, _ = analyse(path, classify={master_ip: ("hmi", "ot")})
    assert found(ctx, ID) == {}
    ctx, _ = analyse(path, classify={master_ip: ("workstation", "it")})
    assert set(found(ctx, ID).popitem()[1].evidence["unauthorised_sources"]) == {MASTER}


def test_learning_window_trusts_the_first_writer() -> None:
    ctx, _ = analyse(shared(*DNP3_WRITE), options={ID: {"learning_window_s": 60}})
    assert found(ctx, ID) == {}


def test_reads_only_are_fine() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "enip-alert", "enip_test1.pcap"))
    assert found(ctx, ID) == {}
