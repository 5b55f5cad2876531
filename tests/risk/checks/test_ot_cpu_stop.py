"""risk.ot.cpu_stop: stop/restart commands from non-engineering hosts; a host typed an engineering station
only by the stop it sent (or by other requests any host can send) is no engineering station."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.lab import proto_ot
from tests.conftest import shared
from tests.risk.harness import T0, analyse, found, host, tcp, write_pcap

ID = "risk.ot.cpu_stop"
# S7 job 0x29 PLC Stop: 5 unknown bytes, then the PI service name 'P_PROGRAM' (Wireshark packet-s7comm.c)
PLC_STOP = bytes([0x29, 0, 0, 0, 0, 0, 9]) + b"P_PROGRAM"
CLIENT, PLC = host(5), host(50)


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


@pytest.mark.parametrize("name", ["snap7_s300_stop.pcapng", "step7_s300_stop.pcapng"])
def test_a_stop_does_not_make_its_sender_an_engineering_station(name: str) -> None:
    """Snap7 and STEP 7 stop an S7-300 alike; the PLC Stop alone types the sender an engineering workstation
    (kb s7.client.engineering_job, a behaviour rule), which authorises nothing: the stop is a finding whose
    evidence says why its sender is not trusted."""
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "s7", name), classifier=True)
    (finding,) = found(ctx, ID).values()
    (source,) = finding.evidence["unauthorised_sources"]
    assert ctx.devices[source].device_type == "engineering_workstation"
    assert finding.evidence["untrusted_types"] == [
        f"{source}: typed engineering_workstation only from requests any host can send "
        "(s7.client.engineering_job: plc_stop); list it in engineering_stations if it is one"]


def _stop(path: Path, *, tia_online: bool) -> Path:
    """A client stops a PLC over a classic S7 PG connection; with ``tia_online`` it went online to it as TIA
    Portal does first (COTP to the S7comm-plus TSAP 'SIMATIC-ROOT-ES', then an S7comm-plus CreateObject:
    lab behave_site._s7plus)."""
    frames = []
    if tia_online:
        tsap = b"SIMATIC-ROOT-ES"
        frames += tcp(CLIENT, PLC, 102, [
            (True, proto_ot.cotp_connection_request(b"\x01\x00", tsap)),
            (False, proto_ot.cotp_connection_confirm(b"\x01\x00", tsap)),
            (True, proto_ot.s7plus_frame(0x31, 0x04CA, 1, bytes(120))),
            (False, proto_ot.s7plus_frame(0x32, 0x04CA, 1, bytes(60)))], cport=40001)
    pg = proto_ot.s7_tsap(1, 0, 2)
    frames += tcp(CLIENT, PLC, 102, [
        (True, proto_ot.cotp_connection_request(b"\x01\x00", pg)),
        (False, proto_ot.cotp_connection_confirm(b"\x01\x00", pg)),
        (True, proto_ot.s7_job(1, proto_ot.S7_SETUP_COMMUNICATION)),
        (False, proto_ot.s7_ack_data(1, proto_ot.S7_SETUP_COMMUNICATION)),
        (True, proto_ot.s7_job(2, PLC_STOP)), (False, proto_ot.s7_ack_data(2, PLC_STOP[:1]))], t=T0 + 10, seed=2)
    return write_pcap(path, frames)


def test_the_stop_and_the_pg_connection_vouch_for_nothing(tmp_path: Path) -> None:
    ctx, _ = analyse(_stop(tmp_path / "stop.pcap", tia_online=False), classifier=True)
    client = f"mac:{CLIENT.mac}"
    assert ctx.devices[client].device_type == "engineering_workstation"
    (finding,) = found(ctx, ID).values()
    assert finding.subject == f"mac:{PLC.mac}" and finding.evidence["unauthorised_sources"] == [client]
    assert finding.evidence["untrusted_types"] == [
        f"{client}: typed engineering_workstation only from requests any host can send (s7.client.engineering_job: "
        "plc_stop; s7.client.pg_connection: pg); list it in engineering_stations if it is one"]


def test_an_engineering_station_by_its_own_name_may_stop(tmp_path: Path) -> None:
    """TIA Portal names itself in the S7comm-plus TSAP (identity evidence, kb s7plus.client.engineering)."""
    ctx, _ = analyse(_stop(tmp_path / "stop.pcap", tia_online=True), classifier=True)
    assert ctx.devices[f"mac:{CLIENT.mac}"].device_type == "engineering_workstation"
    assert found(ctx, ID) == {}


def test_stop_from_the_engineering_station_is_fine() -> None:
    path = shared("pcaps", "ics_iti", "pcaps", "s7", "snap7_s300_stop.pcapng")
    source = found(analyse(path)[0], ID).popitem()[1].evidence["unauthorised_sources"][0]
    ctx, _ = analyse(path, options={ID: {"engineering_stations": [source]}}, classifier=True)
    assert found(ctx, ID) == {}


def test_polling_is_no_stop() -> None:
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "s7", "s7comm_varservice_libnodavedemo.pcap"))
    assert found(ctx, ID) == {}
