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
    ctx, _ = analyse(path, classify={master_ip: ("scada_server", "ot")})  # a control centre's DNP3 master
    assert found(ctx, ID) == {}
    ctx, _ = analyse(path, classify={master_ip: ("workstation", "it")})
    assert set(found(ctx, ID).popitem()[1].evidence["unauthorised_sources"]) == {MASTER}


def test_learning_window_trusts_the_first_writer() -> None:
    ctx, _ = analyse(shared(*DNP3_WRITE), options={ID: {"learning_window_s": 60}})
    assert found(ctx, ID) == {}


def test_reads_only_are_fine() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "enip-alert", "enip_test1.pcap"))
    assert found(ctx, ID) == {}


def test_a_pg_connection_vouches_for_no_writer() -> None:
    """libnodave's demo writes a PLC's variables over an S7 PG connection, the connection resource every S7
    client library asks for by default (kb s7.client.pg_connection, a behaviour rule): typed an engineering
    workstation on that alone, the writer is not trusted."""
    path = shared("pcaps", "ics_iti", "pcaps", "s7", "s7comm_varservice_libnodavedemo.pcap")
    ctx, _ = analyse(path, classifier=True)
    (finding,) = found(ctx, ID).values()
    assert finding.evidence["operations"] == ["s7comm.write_var"]
    (writer,) = finding.evidence["unauthorised_sources"]
    assert ctx.devices[writer].device_type == "engineering_workstation"
    assert finding.evidence["untrusted_types"] == [
        f"{writer}: typed engineering_workstation only from requests any host can send (s7.client.pg_connection: pg); "
        "list it in engineering_stations if it is one"]
