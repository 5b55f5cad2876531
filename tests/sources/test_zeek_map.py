"""Each Zeek log type maps to the Observations and Flows the packet path produces, in TSV and JSON.

The fixtures in data/zeek_tsv and data/zeek_json hold the same records (the JSON ones as Zeek writes
them with LogAscii::use_json, some with ISO 8601 times, some with json-logs.zeek's _path).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ParseError
from iotwarden.model import Flow, Observation
from iotwarden.sources.zeek import read_zeek
from iotwarden.sources.zeek_join import Joiner

DATA = Path(__file__).parent / "data"
CAM, GW, WS, PRN = "c0:56:e3:12:34:56", "00:0d:b9:4a:10:01", "3c:52:82:0e:77:19", "00:1b:a9:5c:7d:2e"


@pytest.fixture(params=["zeek_tsv", "zeek_json"])
def logs(request: pytest.FixtureRequest) -> Path:
    return DATA / str(request.param)


def observations(path: Path) -> list[Observation]:
    return [o for b in read_zeek(path) for o in b.observations]


def flows(path: Path) -> list[Flow]:
    return [f for b in read_zeek(path) for f in b.flows]


def summary(obs: list[Observation]) -> list[tuple[str, str, str | None, int | None]]:
    return [(o.proto, o.kind, o.src_ip, o.src_port) for o in obs]


def test_conn_log_gives_one_closed_flow_per_connection(logs: Path) -> None:
    got = flows(logs / "conn.log")
    assert len(got) == 8
    dns = got[0]
    assert (dns.ip_proto, dns.a_ip, dns.a_port, dns.b_ip, dns.b_port) == (
        17, "192.168.10.21", 51234, "192.168.10.1", 53)
    assert dns.first_seen == pytest.approx(1700000000.1)
    assert dns.last_seen == pytest.approx(1700000000.1 + 0.012345)  # ts + duration
    assert (dns.pkts_ab, dns.pkts_ba, dns.bytes_ab, dns.bytes_ba) == (1, 1, 62, 78)  # orig/resp_ip_bytes
    assert (dns.payload_ab, dns.payload_ba) == (34, 50)  # orig/resp_bytes
    assert (dns.a_mac, dns.b_mac, dns.vlan) == (CAM, GW, 10)
    assert (dns.app, dns.end_reason) == ("dns", "zeek")
    assert dns.extra["conn_state"] == "SF"
    assert dns.extra["history"] == "Dd"
    assert dns.extra["uid"] == "CHhAvVGS1DHFjwGM9"


def test_conn_service_ssl_is_our_tls_and_history_gives_tcp_flags(logs: Path) -> None:
    tls = flows(logs / "conn.log")[2]
    assert tls.app == "tls"
    # history ShADadFf: originator SYN, ACK, FIN; responder SYN+ACK, ACK, FIN (RFC 9293 §3.1)
    assert (tls.tcp_flags_ab, tls.tcp_flags_ba) == (0x13, 0x13)
    rejected = flows(logs / "conn.log")[5]
    assert rejected.extra["conn_state"] == "REJ"
    assert (rejected.tcp_flags_ab, rejected.tcp_flags_ba) == (0x02, 0x04)  # "Sr": SYN answered by RST
    assert rejected.app is None


def test_conn_inner_vlan_wins_and_icmp_over_ipv6_is_icmpv6(logs: Path) -> None:
    got = flows(logs / "conn.log")
    assert got[3].vlan == 100  # vlan 10, inner_vlan 100: the innermost tag, as the packet path keys it
    icmp6 = got[4]
    assert icmp6.ip_proto == 58
    assert (icmp6.a_port, icmp6.b_port) == (0, 0)
    assert (icmp6.extra["icmp_type"], icmp6.extra["icmp_resp_p"]) == (135, 136)
    assert (icmp6.a_mac, icmp6.b_mac, icmp6.vlan) == (None, None, 0)


def test_conn_unset_duration_and_bytes_are_zero(logs: Path) -> None:
    mdns = flows(logs / "conn.log")[6]
    assert mdns.last_seen == mdns.first_seen
    assert (mdns.payload_ab, mdns.payload_ba) == (0, 0)


def test_dns_query_and_response_with_answers(logs: Path) -> None:
    got = observations(logs / "dns.log")
    query, response = got[0], got[1]
    assert (query.proto, query.kind, query.subject) == ("dns", "query", "src")
    assert (query.src_ip, query.src_port, query.dst_ip, query.dst_port, query.ip_proto) == (
        "192.168.10.21", 51234, "192.168.10.1", 53, 17)
    assert query.fields == {"id": 4660, "qr": False, "rd": True, "qname": "time.example-cam.com", "qtype": "A",
                            "questions": [{"name": "time.example-cam.com", "type": "A"}]}
    assert (response.kind, response.src_ip, response.src_port, response.dst_ip) == (
        "response", "192.168.10.1", 53, "192.168.10.21")
    assert response.ts == pytest.approx(1700000000.1 + 0.012345)  # query time + rtt
    assert (response.fields["qr"], response.fields["rcode"]) == (True, "NOERROR")
    assert (response.fields["aa"], response.fields["tc"], response.fields["rd"], response.fields["ra"]) == (
        False, False, True, True)
    assert response.fields["answers"] == [
        {"name": "time.example-cam.com", "type": "?", "ttl": 300, "data": "ntp.example-cam.com"},
        {"name": "time.example-cam.com", "type": "A", "ttl": 60, "data": "198.51.100.7"},
    ]


def test_dns_kinds_follow_what_zeek_saw(logs: Path) -> None:
    got = observations(logs / "dns.log")
    assert summary(got) == [
        ("dns", "query", "192.168.10.21", 51234), ("dns", "response", "192.168.10.1", 53),
        ("mdns", "response", "192.168.10.30", 5353),  # announcement: the printer answers, unasked
        ("dns", "query", "192.168.10.21", 51300),  # no reply: query only (written before the mDNS line, ts after)
        ("llmnr", "query", "192.168.10.50", 55000),
        ("dns", "query", "192.168.10.50", 55001), ("dns", "response", "192.168.10.1", 53),
        ("dns", "query", "192.168.10.50", 55002), ("dns", "response", "192.168.10.1", 53),
    ]
    mdns = got[2]
    assert mdns.dst_ip == "224.0.0.251"
    assert mdns.fields["answers"] == [{"name": "_ipp._tcp.local", "type": "?", "ttl": 4500,
                                       "data": "Office-Printer._ipp._tcp.local"}]


def test_dns_escapes_are_undone(logs: Path) -> None:
    got = observations(logs / "dns.log")
    nxdomain, txt = got[6], got[8]
    assert nxdomain.fields["qname"] == "no\tsuch.corp.example"  # \x09 in the TSV
    assert nxdomain.fields["rcode"] == "NXDOMAIN"
    assert "answers" not in nxdomain.fields
    # "\x2c" is the escaped set separator inside one vector element; TXT data is its strings
    assert txt.fields["answers"] == [{"name": "corp.example", "type": "TXT", "ttl": 3600,
                                      "data": ["v=spf1 a,b"]}]


def test_dhcp_transaction_gives_the_last_client_message_and_the_last_server_reply(logs: Path) -> None:
    got = observations(logs / "dhcp.log")
    assert [(o.kind, o.src_ip, o.src_port) for o in got] == [
        ("request", "192.168.10.21", 68), ("ack", "192.168.10.1", 67),  # DISCOVER,OFFER,REQUEST,ACK
        ("request", None, 68), ("nak", "192.168.10.1", 67),  # REQUEST,NAK
        ("inform", "192.168.10.50", 68), ("ack", "192.168.10.1", 67),  # INFORM,ACK
    ]
    request, ack = got[0], got[1]
    assert (request.src_mac, request.dst_ip, request.dst_port) == (CAM, "192.168.10.1", 67)
    assert request.fields == {
        "msg_type": 3, "msg_types": ["discover", "offer", "request", "ack"], "client_mac": CAM,
        "hostname": "IPCAM-FRONT", "requested_ip": "192.168.10.21", "vendor_class": "dhcpcd-6.8.2:Linux-3.10.0:armv7l",
    }
    # the server's reply describes the server and carries the client's facts, as a real ACK does
    assert (ack.src_mac, ack.dst_ip, ack.dst_port) == (None, "192.168.10.21", 68)
    assert ack.ts == pytest.approx(1700000010.02)  # ts + duration: the transaction's last message
    assert ack.fields == {
        "client_mac": CAM, "lease_time": 86400, "msg_type": 5, "msg_types": ["discover", "offer", "request", "ack"],
        "yiaddr": "192.168.10.21", "server_id": "192.168.10.1", "domain": "corp.example",
    }
    inform = got[4]
    assert inform.fields["fqdn"] == "WS-ENG-017.corp.example"
    assert inform.fields["vendor_class"] == "MSFT 5.0"
    assert got[3].fields["client_mac"] == "00:21:70:e9:bb:47"


def test_dhcp_before_zeek_3_is_the_servers_ack() -> None:
    (ack,) = observations(DATA / "zeek_legacy" / "dhcp.log")
    assert (ack.kind, ack.src_ip, ack.src_port, ack.dst_ip, ack.dst_port, ack.src_mac) == (
        "ack", "192.168.30.1", 67, "192.168.30.11", 68, None)
    assert ack.fields == {"client_mac": "00:21:70:e9:bb:47", "yiaddr": "192.168.30.11", "xid": 3315460455,
                          "lease_time": 86400, "msg_type": 5}


def test_http_request_and_response(logs: Path) -> None:
    got = observations(logs / "http.log")
    assert summary(got) == [
        ("http", "request", "192.168.10.21", 40512), ("http", "response", "93.184.216.34", 80),
        ("http", "request", "192.168.10.50", 50100), ("http", "response", "192.168.10.30", 80),
        ("http", "request", "192.168.10.50", 50100), ("http", "response", "192.168.10.30", 80),
        ("http", "request", "192.168.10.21", 40530),  # no status line seen: no response
    ]
    assert got[0].fields == {
        "method": "GET", "host": "update.example-cam.com", "uri": "/fw/check?model=DS-2CD2032",
        "user_agent": "Hikvision-Webs/1.0", "version": "HTTP/1.1",
        "headers": {"host": "update.example-cam.com", "user-agent": "Hikvision-Webs/1.0"},
    }
    assert got[1].fields == {"status": 200, "reason": "OK", "version": "HTTP/1.1"}
    assert got[1].dst_ip == "192.168.10.21"


def test_http_basic_auth_user_and_password_presence(logs: Path) -> None:
    got = observations(logs / "http.log")
    first, second = got[2], got[4]
    assert (first.fields["basic_auth"], first.fields["authorization_scheme"]) == (True, "Basic")
    assert (first.fields["basic_user"], first.fields["password_present"]) == ("admin", False)  # not captured
    assert (second.fields["basic_user"], second.fields["password_present"]) == ("admin", True)
    assert "1234" not in json.dumps(second.to_dict())  # the password itself never leaves the reader
    assert got[3].fields["status"] == 401


def test_http_server_header_when_a_policy_logs_it(tmp_path: Path) -> None:
    line = {"ts": 1700000100.0, "uid": "C1", "id.orig_h": "10.0.0.2", "id.orig_p": 50000, "id.resp_h": "10.0.0.9",
            "id.resp_p": 80, "method": "GET", "uri": "/", "status_code": 200, "status_msg": "OK",
            "server": "GoAhead-Webs"}
    (tmp_path / "http.log").write_text(json.dumps(line) + "\n")
    _, response = observations(tmp_path / "http.log")
    assert response.fields["server"] == "GoAhead-Webs"
    assert response.fields["headers"] == {"server": "GoAhead-Webs"}


def test_ssh_banners_and_hassh(logs: Path) -> None:
    got = observations(logs / "ssh.log")
    assert [(o.kind, o.src_ip) for o in got] == [
        ("banner", "192.168.10.50"), ("banner", "192.168.10.21"),
        ("kexinit", "192.168.10.50"), ("kexinit", "192.168.10.21"),
        ("banner", "192.168.10.50"),
    ]
    assert got[0].fields == {"role": "client", "banner": "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.4",
                             "proto_version": "2.0", "software": "OpenSSH_8.9p1", "comments": "Ubuntu-3ubuntu0.4"}
    assert got[1].fields == {"role": "server", "banner": "SSH-2.0-dropbear_2019.78", "proto_version": "2.0",
                             "software": "dropbear_2019.78"}
    assert got[2].fields == {"role": "client", "hassh": "ec7378c1a92f5a8dde7e8b7a1ddf33d1",
                             "hassh_string": "curve25519-sha256,ecdh-sha2-nistp256;aes128-ctr,aes256-ctr;"
                                             "hmac-sha2-256;none"}
    assert got[3].fields["hassh_server"] == "b12d2871a1189eff20364cf5333619ee"
    assert got[3].fields["role"] == "server"
    assert got[3].fields["kex_alg"] == "curve25519-sha256"
    assert got[4].fields["software"] == "libssh_0.9.6"


def test_software_kind_is_the_type_and_version_is_joined(logs: Path) -> None:
    got = observations(logs / "software.log")
    assert [(o.kind, o.src_ip, o.src_port, o.fields["name"], o.fields["version"]) for o in got] == [
        ("http::browser", "192.168.10.21", None, "Hikvision-Webs", "1.0"),
        ("ssh::server", "192.168.10.21", 22, "dropbear", "2019.78"),
        ("ssh::client", "192.168.10.50", None, "OpenSSH", "8.9-p1"),
    ]
    assert got[2].fields["unparsed_version"] == "OpenSSH_8.9p1 Ubuntu-3ubuntu0.4"


def test_known_hosts_services_and_devices(logs: Path) -> None:
    hosts = observations(logs / "known_hosts.log")
    assert [(o.proto, o.kind, o.src_ip) for o in hosts] == [("zeek", "known_host", "192.168.10.21"),
                                                            ("zeek", "known_host", "192.168.10.50")]
    services = observations(logs / "known_services.log")
    assert [(o.src_ip, o.ip_proto, o.fields) for o in services] == [  # in ts order (the log has DNS's third)
        ("192.168.10.1", 17, {"port_num": 53, "port_proto": "udp", "service": ["DNS"]}),
        ("192.168.10.30", 6, {"port_num": 443, "port_proto": "tcp", "service": ["SSL"]}),
        ("192.168.10.21", 6, {"port_num": 22, "port_proto": "tcp", "service": ["SSH"]}),
        ("192.168.10.30", 6, {"port_num": 9100, "port_proto": "tcp"}),  # service "(empty)"
    ]
    devices = observations(logs / "known_devices.log")
    assert [(o.kind, o.src_mac, o.fields) for o in devices] == [
        ("known_device", CAM, {"mac": CAM, "hostname": "IPCAM-FRONT"}),
        ("known_device", WS, {"mac": WS, "hostname": "WS-ENG-017"}),
    ]


def _columns(log_type: str) -> list[str]:
    header = (DATA / "zeek_tsv" / f"{log_type}.log").read_text().split("#fields\t", 1)[1]
    return header.split("\n", 1)[0].split("\t")


_LOG_TYPES = ["conn", "dns", "dhcp", "http", "ssl", "x509", "ssh", "software", "known_hosts", "known_services",
              "known_devices"]
_COLUMNS = sorted({c for t in _LOG_TYPES for c in _columns(t)} | {"assigned_ip", "ip_proto", "server", "fingerprint",
                                                                  "param_req_list", "id", "cert_chain_fuids"})
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                     st.text(max_size=20), st.sampled_from(["10.0.0.1", "fe80::1", "tcp", "udp", "icmp", "T",
                                                            "2023-11-14T22:13:20Z", "1700000000.5", "-"]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), _SCALARS,
                                                                                 max_size=2))


@settings(max_examples=200, deadline=None)
@given(log_type=st.sampled_from(_LOG_TYPES), record=st.dictionaries(st.sampled_from(_COLUMNS), _VALUES, max_size=12),
       ts=st.one_of(st.floats(0, 4e9), st.just("2023-11-14T22:13:20Z")))
def test_fuzz_any_record_maps_or_raises_parse_error(log_type: str, record: dict[str, object], ts: object) -> None:
    try:
        observations, flows = Joiner().map(log_type, {**record, "ts": ts})
    except ParseError:
        return
    assert all(isinstance(o, Observation) for o in observations)
    assert all(isinstance(f, Flow) for f in flows)
    json.dumps([o.to_dict() for o in observations])  # fields stay JSON-compatible
