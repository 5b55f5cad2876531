"""PPPP (CS2 Network P2P / iLnkP2P) dissector: messages built from the layouts of pmarrapese/iot pppp.fdesc, the
Xiaobai camera's real logins (nku_lifecycle), who sent what, the per-flow bound, the probe, and the contract on
hostile input."""

from __future__ import annotations

import socket
import struct
from collections import Counter
from pathlib import Path

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.pppp import (
    LAN_SEARCH_PORT,
    MAX_MESSAGES,
    SERVER_PORT,
    TYPE_NAMES,
    PpppDissector,
    looks_like,
    parse,
    read_uid,
)
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from iotwarden.model import Flow, Observation
from tests.conftest import shared
from tests.dissect.discovery import by_frame, udp
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, contract_call, feed_capture_any_port, mutate
from tests.engineutil import engine_run

XIAOBAI = "pcaps/nku_lifecycle/pcaps/xiaobai_Y2camera_lifecycle"
CAMERA = "192.168.1.165"
SERVERS = {"42.157.163.171", "110.43.68.16", "110.43.39.65"}


def message(msg_type: int, body: bytes = b"") -> bytes:
    """pppp.fdesc T_message_header: magic 0xF1, type, 16-bit big-endian body size; then the body."""
    return struct.pack(">BBH", 0xF1, msg_type, len(body)) + body


def uid(prefix: str, serial: int, check: str) -> bytes:
    """pppp.fdesc parse_uid: string(8) prefix, uint32 big-endian serial, string(8) check code."""
    return prefix.encode().ljust(8, b"\0") + struct.pack(">I", serial) + check.encode().ljust(8, b"\0")


def sockaddr(port: int, ip: str) -> bytes:
    """pppp.fdesc parse_sockaddr_in_le: family (big-endian 2), port and address little-endian, 8 reserved."""
    return struct.pack(">H", 2) + struct.pack("<H", port) + bytes(reversed([int(x) for x in ip.split(".")])) + bytes(8)


VSTC = uid("VSTC", 123456, "ABCDE")
# T_MSG_DEV_LGN: UID, nat_type, uint24 api_version, local address (40 bytes)
DEV_LGN = message(0x10, VSTC + bytes([2]) + bytes([3, 4, 5]) + sockaddr(10000, "192.168.1.20"))


def test_a_device_login_in_clear_names_the_device_and_its_uid() -> None:
    kind, fields = parse(DEV_LGN, 41000, SERVER_PORT)
    assert kind == "device_message"
    assert fields == {"type": 0x10, "type_name": "DEV_LGN", "length": 40, "direction": "to_p2p_server",
                      "did": "VSTC-123456-ABCDE", "did_prefix": "VSTC", "api_version": "3.4.5", "role": "device"}


def test_the_uid_format() -> None:
    assert read_uid(uid("ABC", 7, "XYZUV")) == "ABC-000007-XYZUV"  # PPPP.md: ABCD-012345-XYZUV style
    assert read_uid(uid("OEMAAAB", 4294967295, "ABCDEFG")) == "OEMAAAB-4294967295-ABCDEFG"
    for bad in (uid("vstc", 1, "ABCDE"), uid("AB", 1, "ABCDE"), uid("VSTC", 1, "ab1"), VSTC[:19],
                b"VSTC\0\0\0X" + VSTC[8:], bytes(20), b"\xff" * 20):
        assert read_uid(bad) is None


@pytest.mark.parametrize(("data", "sport", "dport", "kind", "name"), [
    (message(0x00), 41000, SERVER_PORT, "message", "HELLO"),  # devices and apps both say HELLO
    (message(0x01, sockaddr(41000, "203.0.113.9")), SERVER_PORT, 41000, "server_message", "HELLO_ACK"),
    (message(0x13, bytes(8)), SERVER_PORT, 41000, "server_message", "DEV_LGN_ACK_CRC"),
    (message(0x12, bytes(44)), 41000, SERVER_PORT, "device_message", "DEV_LGN_CRC"),
    (message(0x14, VSTC + bytes(4) + bytes(16) + bytes(64)), 41000, SERVER_PORT, "device_message", "DEV_LGN_KEY"),
    (message(0x20, VSTC + sockaddr(5000, "10.0.0.2")), 50000, SERVER_PORT, "client_message", "P2P_REQ"),
    (message(0x30), 50000, LAN_SEARCH_PORT, "client_message", "LAN_SEARCH"),
    (message(0x40, sockaddr(5000, "198.51.100.7")), SERVER_PORT, 41000, "server_message", "PUNCH_TO"),
    (message(0x41, VSTC), 41000, 50000, "message", "PUNCH_PKT"),  # both ends punch
    (message(0x42, VSTC + bytes([1, 2, 3, 0])), 41000, 50000, "message", "P2P_RDY"),
    (message(0xD0, bytes([0xD1, 0, 0, 1]) + b"{}"), 50000, 41000, "message", "DRW"),
    (message(0xE0), 41000, 50000, "message", "ALIVE"),
    (message(0xF0), 41000, 50000, "message", "CLOSE"),
    (message(0xF9, bytes(84)), 41000, SERVER_PORT, "message", "REPORT_SESSION_READY"),
])
def test_types_and_who_sent_them(data: bytes, sport: int, dport: int, kind: str, name: str) -> None:
    got_kind, fields = parse(data, sport, dport)
    assert (got_kind, fields["type_name"]) == (kind, name)
    assert fields.get("role") == (None if kind == "message" else kind.split("_", maxsplit=1)[0])


def test_a_role_needs_the_ports_the_references_give_it() -> None:
    # a login sent from the server port, or to another port, proves no device; an ACK not from 32100 no server
    assert parse(DEV_LGN, SERVER_PORT, 41000)[0] == "message"
    assert parse(DEV_LGN, 41000, 50000)[0] == "message"
    assert parse(message(0x13, bytes(8)), 50000, 41000)[0] == "message"
    assert parse(message(0x30), 50000, 50001)[0] == "message"


def test_uids_of_messages_about_a_device_and_the_ex_forms() -> None:
    assert parse(message(0x20, VSTC + bytes(16)), 50000, SERVER_PORT)[1]["did"] == "VSTC-123456-ABCDE"
    fields = parse(message(0x42, VSTC + bytes([1, 2, 3, 0])), 41000, 50000)[1]
    assert (fields["did"], fields["api_version"]) == ("VSTC-123456-ABCDE", "1.2.3")  # T_MSG_P2P_RDY_EX
    assert "api_version" not in parse(message(0x41, VSTC), 41000, 50000)[1]
    # an obfuscated body (the *_CRC logins, or a vendor's XOR): no uid, the header alone
    assert "did" not in parse(message(0x10, bytes(b ^ 0x5A for b in DEV_LGN[4:])), 41000, SERVER_PORT)[1]


def test_sized_names_and_unknown_types_by_number() -> None:
    assert parse(message(0x87, VSTC), 41000, SERVER_PORT)[1]["type_name"] == "RLY_SERVER_REQ"
    assert parse(message(0x87, bytes(4)), SERVER_PORT, 41000)[1]["type_name"] == "RLY_SERVER_REQ_ACK"
    kind, fields = parse(message(0x55, b"xyz"), 41000, SERVER_PORT)
    assert kind == "message" and fields == {"type": 0x55, "length": 3, "direction": "to_p2p_server"}


@pytest.mark.parametrize("data", [b"", b"\xf1\x00\x00", b"\xf0\x00\x00\x00", b"\xf1\x00\x00\x01",
                                  b"\xf1\x00\x00\x00\x00", bytes.fromhex("2cba5f5d")],
                         ids=["empty", "short", "magic", "body missing", "trailing byte", "A9 obfuscated"])
def test_refusals(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse(data, 41000, SERVER_PORT)
    assert not looks_like(data)


def test_the_probe_claims_whole_messages_of_the_sizes_the_layouts_give() -> None:
    assert looks_like(message(0x41, VSTC)) and looks_like(message(0x42, VSTC + bytes(4)))
    assert looks_like(message(0xE0)) and looks_like(message(0xD0, bytes([0xD1, 1, 0, 0]) + b"frame"))
    assert not looks_like(message(0x41, VSTC + b"x"))  # a PUNCH_PKT is 20 or 24 bytes of body
    assert not looks_like(message(0xD0, bytes([0xD2, 1, 0, 0])))  # DRW without its magic
    assert not looks_like(message(0xF9, bytes(84)))  # named, but no size is given for it: its port only
    assert not looks_like(message(0x55))


def test_tcp_is_refused_and_a_flow_is_read_up_to_its_bound() -> None:
    d = PpppDissector()
    state: dict[str, object] = {}
    with pytest.raises(ParseError):
        d.dissect(udp(message(0x00), 41000, SERVER_PORT, ip_proto=6), state)
    assert state.get("done")
    state = {}
    made = 0
    for _ in range(MAX_MESSAGES + 5):
        if state.get("done"):
            break
        made += len(d.dissect(udp(message(0x00), 41000, SERVER_PORT), state))
    assert made == MAX_MESSAGES and state["done"]
    assert PpppDissector.max_packets_per_flow == MAX_MESSAGES


def test_the_xiaobai_camera_logs_in_to_its_p2p_servers() -> None:
    """idle_local: 924 datagrams on udp/32100, every one a PPPP message. The camera sends HELLO, DEV_LGN_CRC
    (body obfuscated: no UID) and 0xF9 (REPORT_SESSION_READY in pppp_dissect.lua) to three servers, which
    answer HELLO_ACK and DEV_LGN_ACK_CRC."""
    results = by_frame(PpppDissector(), shared(f"{XIAOBAI}/xiaobai_Y2camera_idle_local.pcap"))
    seen: Counter[tuple[str, str, str]] = Counter()
    for got in results.values():
        assert isinstance(got, list), got
        for obs in got:
            assert "did" not in obs.fields
            side = "camera" if obs.src_ip == CAMERA else "server" if obs.src_ip in SERVERS else obs.src_ip or ""
            seen[(side, obs.kind, obs.fields["type_name"])] += 1
    assert sum(seen.values()) == len(results) == 924
    assert set(seen) == {
        ("camera", "message", "HELLO"), ("camera", "device_message", "DEV_LGN_CRC"),
        ("camera", "message", "REPORT_SESSION_READY"), ("server", "server_message", "HELLO_ACK"),
        ("server", "server_message", "DEV_LGN_ACK_CRC"),
    }
    assert seen[("camera", "device_message", "DEV_LGN_CRC")] == 336


@pytest.mark.parametrize("name", ["setup", "update", "idle_remote"])
def test_no_server_or_unknown_host_is_a_device_in_the_other_captures(name: str) -> None:
    results = by_frame(PpppDissector(), shared(f"{XIAOBAI}/xiaobai_Y2camera_{name}.pcap"))
    kinds = {(obs.src_ip, obs.kind) for got in results.values() if isinstance(got, list) for obs in got}
    assert {ip for ip, kind in kinds if kind == "device_message"} == {CAMERA}
    assert {ip for ip, kind in kinds if kind == "server_message"} <= SERVERS
    assert not [got for got in results.values() if not isinstance(got, list)]


def test_every_type_name_is_one_word_of_the_references() -> None:
    assert all(name.isupper() and " " not in name for name in TYPE_NAMES.values())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([SERVER_PORT, LAN_SEARCH_PORT, 41000]))
def test_random_datagrams_keep_the_contract(data: bytes, port: int) -> None:
    d = PpppDissector()
    contract_call(d, udp(data, port, 50000), {})
    contract_call(d, udp(b"\xf1" + data, 50000, port), {})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([DEV_LGN, message(0x42, VSTC + bytes(4)), message(0x12, bytes(44)), message(0x01, bytes(16))]),
       st.lists(st.tuples(st.integers(0, 63), st.integers(0, 255)), max_size=6), st.integers(0, 64))
def test_mutated_messages_keep_the_contract(base: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(PpppDissector(), udp(mutate(base, edits, cut), 41000, SERVER_PORT), {})


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_keep_the_contract(name: str) -> None:
    feed_capture_any_port(PpppDissector(), TCPDUMP_DIR / name)


def _engine(path: Path) -> tuple[list[Observation], list[Flow], Engine]:
    engine = Engine(default_dissectors())
    observations, flows = engine_run(path, engine)
    return observations, flows, engine


def test_the_engine_names_the_camera_s_p2p_flows_and_reads_each_up_to_its_bound() -> None:
    observations, flows, engine = _engine(shared(f"{XIAOBAI}/xiaobai_Y2camera_idle_local.pcap"))
    assert engine.stats.parse_errors["pppp"] == 0 and not engine.stats.analyzer_errors
    p2p = [f for f in flows if SERVER_PORT in (f.a_port, f.b_port)]
    assert p2p and all(f.app == "pppp" for f in p2p)
    pppp = [o for o in observations if o.proto == "pppp"]
    per_flow = Counter((o.src_ip, o.src_port, o.dst_ip, o.dst_port) for o in pppp)
    assert pppp and len(pppp) <= MAX_MESSAGES * len(p2p)
    assert {o.src_ip for o in pppp if o.kind == "device_message"} == {CAMERA}
    assert max(per_flow.values()) <= MAX_MESSAGES


def test_the_engine_finds_a_lan_session_on_other_ports_by_probe(tmp_path: Path) -> None:
    """PPPP.md "Device discovery": the app broadcasts LAN_SEARCH to udp/32108, the device answers PUNCH_PKT from
    another port, the session (PUNCH_PKT, P2P_RDY, DRW, ALIVE) runs between the two ephemeral ports."""
    app, cam = ("192.168.1.10", 50000), ("192.168.1.20", 41000)
    packets = [(app, ("192.168.1.255", LAN_SEARCH_PORT), message(0x30)),
               (cam, app, message(0x41, VSTC)), (app, cam, message(0x41, VSTC)),
               (cam, app, message(0x42, VSTC)), (app, cam, message(0xD0, bytes([0xD1, 0, 0, 0]) + b"{}")),
               (cam, app, message(0xE0))]
    path = tmp_path / "lan.pcap"
    write_udp_pcap(path, packets)
    observations, flows, engine = _engine(path)
    assert engine.stats.parse_errors["pppp"] == 0
    pppp = [o for o in observations if o.proto == "pppp"]
    assert [(o.kind, o.fields["type_name"]) for o in pppp] == [
        ("client_message", "LAN_SEARCH"), ("message", "PUNCH_PKT"), ("message", "PUNCH_PKT"), ("message", "P2P_RDY"),
        ("message", "DRW"), ("message", "ALIVE")]
    assert not [o for o in pppp if o.kind == "device_message"]  # nothing on the LAN proves which end is a device
    assert {f.app for f in flows} == {"pppp"}


def write_udp_pcap(path: Path, packets: list[tuple[tuple[str, int], tuple[str, int], bytes]]) -> None:
    """An Ethernet pcap of UDP datagrams ((src ip, port), (dst ip, port), payload), one a millisecond."""
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh)
        for i, ((sip, sport), (dip, dport), payload) in enumerate(packets):
            datagram = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
            datagram.ulen = len(datagram)
            ip = dpkt.ip.IP(src=socket.inet_aton(sip), dst=socket.inet_aton(dip), p=dpkt.ip.IP_PROTO_UDP, ttl=64,
                            data=datagram)
            ip.len = len(ip)
            eth = dpkt.ethernet.Ethernet(src=bytes([2, 0, 0, 0, 0, int(sip.rsplit(".", 1)[1])]),
                                         dst=b"\xff" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
            writer.writepkt(bytes(eth), ts=1_700_000_000 + i / 1000)


def test_the_probe_finds_the_xiaobai_s_punches_and_logins_on_other_ports() -> None:
    """setup: the camera also sends its DEV_LGN_CRC to the servers' udp/32101 and 32102 and punches a remote
    peer on udp/11104-11110 with PUNCH_PKT, its UID in clear, and the peer punches back; none of it proves a
    role (the references put the servers on 32100, and both ends punch). Offered every UDP flow of the 555
    shared captures, the probe claimed only Xiaobai flows."""
    observations, _, engine = _engine(shared(f"{XIAOBAI}/xiaobai_Y2camera_setup.pcap"))
    assert engine.stats.parse_errors["pppp"] == 0
    pppp = [o for o in observations if o.proto == "pppp"]
    punches = [o for o in pppp if o.fields.get("type_name") == "PUNCH_PKT"]
    # the peer 60.29.153.35 punches back with the camera's UID: a UID in PUNCH_PKT is no sender's own
    assert {(o.src_ip, o.kind, o.fields["did"]) for o in punches} == {
        (CAMERA, "message", "XMSYCNT-031847-NDZUL"), ("60.29.153.35", "message", "XMSYCNT-031847-NDZUL")}
    assert {o.dst_port for o in punches if o.src_ip == CAMERA} >= set(range(11104, 11111))
    other_logins = [o for o in pppp if o.fields.get("type_name") == "DEV_LGN_CRC" and o.dst_port != SERVER_PORT]
    assert {o.dst_port for o in other_logins} == {32101, 32102}
    assert {o.kind for o in other_logins} == {"message"}
    assert {o.src_ip for o in pppp if o.kind == "device_message"} == {CAMERA}
