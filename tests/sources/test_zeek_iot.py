"""Zeek's quic.log, ntp.log and mqtt_*.log read as dissect/quic.py, dissect/ntp.py and dissect/mqtt.py describe
the same exchanges (each compared with the dissector's Observation of a real capture), in TSV and JSON, and what
they make of a site's devices."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.mqtt import MqttDissector
from iotwarden.dissect.ntp import NtpDissector
from iotwarden.dissect.quic import QuicDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.sources.zeek import read_zeek, sniff_zeek
from iotwarden.sources.zeek_iot import map_mqtt_connect, map_mqtt_publish, map_mqtt_subscribe, map_ntp, map_quic
from tests.conftest import shared
from tests.pcaputil import run_dissector
from tests.sources.zeeklog import (
    CONN_COLUMNS,
    FORMATS,
    ID_COLUMNS,
    analysed,
    assert_maps_or_parse_error,
    assert_same_as_packet,
    conn_row,
    ids_of,
    write_log,
)

T0 = 1_700_000_000.0
SV = ("pcaps", "suricata_verify")
PHONE, THERMOSTAT = ("192.168.1.30", "f4:f5:d8:00:00:30"), ("192.168.1.40", "18:b4:30:00:00:40")
PLUG, BROKER = ("192.168.1.50", "e8:68:e7:00:00:50"), ("192.168.1.2", "dc:a6:32:00:00:02")
GOOGLE = ("142.250.74.100", "00:00:5e:00:01:01")

# QUIC::Info (base/protocols/quic/main.zeek), NTP::Info (base/protocols/ntp/main.zeek), MQTT::ConnectInfo,
# PublishInfo and SubscribeInfo (base/protocols/mqtt/main.zeek), in their column order
QUIC_COLUMNS = [*ID_COLUMNS, ("version", "string"), ("client_initial_dcid", "string"), ("client_scid", "string"),
                ("server_scid", "string"), ("server_name", "string"), ("client_protocol", "string"),
                ("history", "string")]
NTP_COLUMNS = [*ID_COLUMNS, ("version", "count"), ("mode", "count"), ("stratum", "count"), ("poll", "interval"),
               ("precision", "interval"), ("root_delay", "interval"), ("root_disp", "interval"), ("ref_id", "string"),
               ("ref_time", "time"), ("org_time", "time"), ("rec_time", "time"), ("xmt_time", "time"),
               ("num_exts", "count")]
MQTT_CONNECT_COLUMNS = [*ID_COLUMNS, ("proto_name", "string"), ("proto_version", "string"), ("client_id", "string"),
                        ("connect_status", "string"), ("will_topic", "string"), ("will_payload", "string")]
MQTT_PUBLISH_COLUMNS = [*ID_COLUMNS, ("from_client", "bool"), ("retain", "bool"), ("qos", "string"),
                        ("status", "string"), ("topic", "string"), ("payload", "string"), ("payload_len", "count")]
MQTT_SUBSCRIBE_COLUMNS = [*ID_COLUMNS, ("action", "enum"), ("topics", "vector[string]"),
                          ("qos_levels", "vector[count]"), ("granted_qos_level", "count"), ("ack", "bool")]


# --- quic.log -----------------------------------------------------------------------------------

def test_a_quic_line_is_the_initials_client_hello_and_server_hello() -> None:
    # suricata-verify quic-ietf-ja3: msquic to msquic.net, ALPN h3-29, QUIC v1
    hello, server = run_dissector(QuicDissector(), shared(*SV, "quic-ietf-ja3", "input.pcap"))
    rec = {**ids_of(hello), "version": "1", "server_name": "msquic.net", "client_protocol": "h3-29",
           "history": "ISishH"}
    ours_hello, ours_server = map_quic(rec)
    assert_same_as_packet(ours_hello, hello, unlogged=set(hello.fields) - {"sni", "alpn", "quic_version"})
    assert_same_as_packet(ours_server, server, unlogged=set(server.fields) - {"quic_version"})
    assert ours_hello.ip_proto == 17


def test_quic_version_names_and_lines_without_a_hello() -> None:
    (hello,) = map_quic({"ts": T0, "id.orig_h": PHONE[0], "id.resp_h": GOOGLE[0], "version": "quicv2",
                         "server_name": "www.google.com", "history": "IS"})
    assert hello.fields == {"sni": "www.google.com", "quic_version": "2"}  # RFC 9369, as quicinitial names it
    assert map_quic({"ts": T0, "id.orig_h": PHONE[0], "id.resp_h": GOOGLE[0], "version": "mvfst (faceb002)",
                     "history": "IU"}) == []  # a version Zeek could not open: no hello was read
    with pytest.raises(ParseError):
        map_quic({"ts": T0, "server_name": "x"})


# --- ntp.log ------------------------------------------------------------------------------------

def _ntp_record(packet: Observation, from_orig: bool) -> dict[str, Any]:
    """The ntp.log line Zeek writes for a message the dissector read (NTP::Info; poll and precision 2^n s)."""
    f = packet.fields
    return {**ids_of(packet, from_orig=from_orig), "version": f["version"], "mode": f["mode"],
            "stratum": f["stratum"], "poll": 2.0 ** f["poll"], "precision": 2.0 ** f["precision"],
            "root_delay": f["root_delay"], "root_disp": f["root_dispersion"], "ref_id": f["reference_id"] or None,
            "ref_time": f["reference_ts"] or -2208988800.0, "org_time": f["origin_ts"] or -2208988800.0,
            "rec_time": f["receive_ts"] or -2208988800.0, "xmt_time": f["transmit_ts"], "num_exts": 0}


def test_an_ntp_line_is_the_message_its_mode_names_from_the_end_that_sent_it() -> None:
    # tcpdump ntp-time.pcap: a client's mode 3 and a stratum 2 server's mode 4 answer (reference 132.199.7.201)
    client, server = run_dissector(NtpDissector(), shared("pcaps", "tcpdump_tests", "ntp-time.pcap"))
    (ours_server,) = map_ntp(_ntp_record(server, from_orig=False))
    assert_same_as_packet(ours_server, server, unlogged={"leap"})
    (ours_client,) = map_ntp(_ntp_record(client, from_orig=True))
    # the reference id of Zeek's stratum-0 kiss
    assert_same_as_packet(ours_client, client, unlogged={"leap", "reference_id", "reference_id_raw"})
    assert (ours_client.fields["poll"], ours_client.fields["origin_ts"]) == (8, 0.0)  # 256 s; NTP's zero


def test_a_stratum_one_server_names_its_reference_clock() -> None:
    (gps,) = map_ntp({"ts": T0, "id.orig_h": PLUG[0], "id.orig_p": 123, "id.resp_h": BROKER[0], "id.resp_p": 123,
                      "version": 4, "mode": 4, "stratum": 1, "ref_id": "GPS", "poll": 16.0, "precision": 2 ** -20})
    assert (gps.kind, gps.src_ip) == ("server", BROKER[0])
    assert gps.fields == {"version": 4, "mode": 4, "stratum": 1, "poll": 4, "precision": -20, "reference_id": "GPS",
                          "reference_id_raw": "47:50:53:00"}
    with pytest.raises(ParseError):
        map_ntp({"ts": T0, "id.orig_h": PLUG[0], "id.resp_h": BROKER[0], "mode": 9})


# --- mqtt_connect.log, mqtt_publish.log, mqtt_subscribe.log --------------------------------------

def _mqtt(name: str) -> list[Observation]:
    return run_dissector(MqttDissector(), shared(*SV, name, "input.pcap"))


def test_an_mqtt_connect_line_is_the_clients_connect_and_the_brokers_connack() -> None:
    connect, connack, *_ = _mqtt("mqtt311-pub-qos1")
    ours_connect, ours_connack = map_mqtt_connect({
        **ids_of(connect), "proto_name": "MQTT", "proto_version": "3.1.1", "client_id": "myvoiceismypassport",
        "connect_status": "Connection Accepted"})
    # Zeek logs no user name, password flag, clean session or keepalive: unknown, so not in the Observation
    assert_same_as_packet(ours_connect, connect,
                          unlogged={"username", "password_present", "clean_session", "keepalive"})
    assert_same_as_packet(ours_connack, connack, unlogged={"session_present"})
    (_, refused) = map_mqtt_connect({**ids_of(connect), "proto_version": "5.0",
                                     "connect_status": "Refused: not authorized"})
    assert refused.fields == {"return_code": 5, "reason_code": 5}
    (_, odd) = map_mqtt_connect({**ids_of(connect), "connect_status": "unknown-return-code-135"})
    assert odd.fields == {"return_code": 135}


def test_mqtt_publish_and_subscribe_lines() -> None:
    *_, publish = _mqtt("mqtt311-pub-qos1")
    (ours,) = map_mqtt_publish({**ids_of(publish), "from_client": True, "retain": False, "qos": "at least once",
                                "status": "ok", "topic": "topicX", "payload": "ABCDEFGHIJKLMNOP", "payload_len": 16})
    assert_same_as_packet(ours, publish, unlogged={"dup"})
    (to_client,) = map_mqtt_publish({**ids_of(publish), "from_client": False, "qos": "at most once", "topic": "a/b",
                                     "payload_len": 2})
    assert (to_client.src_ip, to_client.src_port, to_client.fields["qos"]) == (publish.dst_ip, 1883, 0)
    subscribe = _mqtt("mqtt311-sub-userpass")[2]
    (ours_sub,) = map_mqtt_subscribe({**ids_of(subscribe), "action": "MQTT::SUBSCRIBE", "topics": ["topicX", "topicY"],
                                      "qos_levels": [0, 0], "granted_qos_level": 0, "ack": True})
    assert_same_as_packet(ours_sub, subscribe, unlogged=set())
    unsubscribe = _mqtt("mqtt311-unsub-qos1")[3]
    (ours_unsub,) = map_mqtt_subscribe({**ids_of(unsubscribe), "action": "MQTT::UNSUBSCRIBE", "topics": ["topicX"]})
    assert_same_as_packet(ours_unsub, unsubscribe, unlogged=set())


# --- a Zeek sensor's logs, analysed -------------------------------------------------------------

def _site(folder: Path, fmt: str) -> Path:
    """conn.log, quic.log, ntp.log and mqtt_*.log of a home: a phone on QUIC, a Nest thermostat asking its cloud
    over QUIC, a Shelly plug on the local broker (default client id), the broker answering NTP."""
    conn = [conn_row(T0, "Cq1", (THERMOSTAT[0], 50123, THERMOSTAT[1]), (GOOGLE[0], 443, GOOGLE[1]),
                     proto="udp", service="quic,ssl"),
            conn_row(T0 + 10, "Cm1", (PLUG[0], 49152, PLUG[1]), (BROKER[0], 1883, BROKER[1]),
                     proto="tcp", service="mqtt"),
            conn_row(T0 + 20, "Cn1", (PLUG[0], 123, PLUG[1]), (BROKER[0], 123, BROKER[1]), proto="udp",
                     service="ntp")]
    write_log(folder, "conn", CONN_COLUMNS, conn, fmt)
    write_log(folder, "quic", QUIC_COLUMNS, [[f"{T0:.6f}", "Cq1", THERMOSTAT[0], "50123", GOOGLE[0], "443", "1",
                                              "95412c47018cdfe8", "-", "d5412c47018cdfe8", "weather.nest.com", "h3",
                                              "ISisH"]], fmt)
    ids = [f"{T0 + 10:.6f}", "Cm1", PLUG[0], "49152", BROKER[0], "1883"]
    write_log(folder, "mqtt_connect", MQTT_CONNECT_COLUMNS,
              [[*ids, "MQTT", "3.1.1", "shellyplus1pm-441793d69718", "Connection Accepted",
                "shellyplus1pm-441793d69718/online", "false"]], fmt)
    write_log(folder, "mqtt_publish", MQTT_PUBLISH_COLUMNS,
              [[*ids, "T", "T", "at most once", "ok", "shellyplus1pm-441793d69718/online", "true", "4"]], fmt)
    write_log(folder, "mqtt_subscribe", MQTT_SUBSCRIBE_COLUMNS,
              [[*ids, "MQTT::SUBSCRIBE", "shellyplus1pm-441793d69718/rpc", "1", "1", "T"]], fmt)
    write_log(folder, "ntp", NTP_COLUMNS, [[f"{T0 + 20:.6f}", "Cn1", PLUG[0], "123", BROKER[0], "123", "4", "4",
                                            "2", "64.000000", "0.000001", "0.010000", "0.020000", "192.168.1.1",
                                            f"{T0 - 100:.6f}", f"{T0 + 19.9:.6f}", f"{T0 + 20:.6f}",
                                            f"{T0 + 20:.6f}", "0"]], fmt)
    return folder


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_logs_are_sniffed_and_read_with_conn_logs_macs(tmp_path: Path, fmt: str) -> None:
    folder = _site(tmp_path / "zeek", fmt)
    names = ("quic", "ntp", "mqtt_connect", "mqtt_publish", "mqtt_subscribe")
    assert [sniff_zeek(folder / f"{n}.log") for n in names] == list(names)
    obs = [o for b in read_zeek(folder) for o in b.observations]
    assert sorted((o.proto, o.kind) for o in obs) == [
        ("mqtt", "connack"), ("mqtt", "connect"), ("mqtt", "publish"), ("mqtt", "subscribe"), ("ntp", "server"),
        ("quic", "client_hello"), ("quic", "server_hello")]
    hello = next(o for o in obs if o.kind == "client_hello")
    assert (hello.src_mac, hello.dst_mac, hello.fields["sni"]) == (THERMOSTAT[1], GOOGLE[1], "weather.nest.com")
    time_server = next(o for o in obs if o.proto == "ntp")
    assert (time_server.src_ip, time_server.src_mac, time_server.fields["poll"]) == (BROKER[0], BROKER[1], 6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_zeek_sensors_logs_classify_the_quic_and_mqtt_devices(tmp_path: Path, fmt: str) -> None:
    stored = analysed(_site(tmp_path / "zeek", fmt), tmp_path / "iotwarden.db")
    devices = stored.devices
    findings = {(f.check_id, f.device_key) for f in stored.findings}
    thermostat, plug, broker = (devices[f"mac:{m[1]}"] for m in (THERMOSTAT, PLUG, BROKER))
    assert (thermostat.vendor, thermostat.device_type) == ("Google Nest", "thermostat")  # quic.log's SNI
    assert thermostat.attributes["tls.sni"] == ["weather.nest.com"]
    assert (plug.vendor, plug.device_type) == ("Shelly", "smart_plug")  # its default MQTT client id
    assert plug.attributes["mqtt.client_id"] == ["shellyplus1pm-441793d69718"]
    # Zeek logs no MQTT user name or password flag: neither credential check can judge the broker from it
    assert not {c for c, _ in findings} & {"risk.mqtt.anonymous", "risk.mqtt.cleartext"}
    assert broker.key in {d.key for d in devices.values()}


def test_a_conn_log_alone_never_imports_these_mappers(tmp_path: Path) -> None:
    # OBSERVATION_MAPPERS' lazy entries: a conn.log-only run (IoT-23 scale) pays nothing for them
    folder = _site(tmp_path / "zeek", "tsv")
    code = ("import sys; from pathlib import Path; from iotwarden.sources.zeek import read_zeek; "
            "n = sum(len(b.flows) for b in read_zeek(Path(sys.argv[1]))); "
            "print(n, sorted(m for m in sys.modules if m.endswith(('zeek_iot', 'zeek_windows'))))")
    out = subprocess.run([sys.executable, "-c", code, str(folder / "conn.log")], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split(maxsplit=1)
    assert out == ["3", "[]\n"]
    mixed = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True,
                           timeout=120).stdout
    assert "iotwarden.sources.zeek_iot" in mixed and "zeek_windows" not in mixed  # loaded with its first record


# --- hostile records ---------------------------------------------------------------------------------

_COLUMNS = sorted({c for c, _ in QUIC_COLUMNS + NTP_COLUMNS + MQTT_CONNECT_COLUMNS + MQTT_PUBLISH_COLUMNS
                   + MQTT_SUBSCRIBE_COLUMNS} | {"proto"})
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                     st.text(max_size=20), st.sampled_from([
                         "10.0.0.1", "fe80::1", "udp", "T", "F", "ISisH", "quicv2", "GPS", "3.1.1", "5.0",
                         "Connection Accepted", "unknown-return-code-99999999", "unknown-qos-level-7", "at least once",
                         "MQTT::UNSUBSCRIBE", "-2208988800.0", "1e308", "0.0", "-1"]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), _SCALARS,
                                                                                 max_size=2))


@settings(max_examples=400, deadline=None)
@given(log_type=st.sampled_from(["quic", "ntp", "mqtt_connect", "mqtt_publish", "mqtt_subscribe"]),
       record=st.dictionaries(st.sampled_from(_COLUMNS), _VALUES, max_size=14))
def test_fuzz_any_record_maps_or_raises_parse_error(log_type: str, record: dict[str, object]) -> None:
    assert_maps_or_parse_error(log_type, record, T0)
