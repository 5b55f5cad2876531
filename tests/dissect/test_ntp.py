"""The NTP dissector, pinned to suricata-verify's ntp-keywords values and tcpdump's NTP decodes."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.ntp import MAX_VALUE_CHARS, MAX_VARIABLES, NtpDissector, ntp_time, parse_ntp
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, TCPDUMP_CAPTURES, by_frame, contract_call, mutate, single, udp
from tests.engine.losscheck import datagrams
from tests.pcaputil import run_dissector

D = NtpDissector()
TD = ("pcaps", "tcpdump_tests")
CLIENT = bytes([0x23]) + b"\x00" * 39 + bytes.fromhex("e8 4f 5a 00 80 00 00 00")
CONTROL_READ = bytes([0x16, 0x82]) + b"\x00\x01\x06\x18\x00\x00\x00\x00\x00\x1b" + b'version="ntpd 4.2.8", x=1'


def test_suricata_ntp_keywords() -> None:
    obs = run_dissector(D, shared("pcaps", "suricata_verify", "ntp-keywords", "input.pcap"))
    assert len(obs) == 4  # "4 NTP events"
    assert Counter(o.fields["version"] for o in obs) == {3: 2, 4: 2}
    assert Counter(o.fields["stratum"] for o in obs) == {0: 2, 2: 2}
    assert Counter(o.fields["mode"] for o in obs) == {3: 2, 4: 2}
    assert Counter(o.fields["reference_id_raw"] for o in obs) == {"00:00:00:00": 2, "4c:4f:43:4c": 2}
    requests = [o for o in obs if o.kind == "client"]
    assert all(o.fields["stratum"] == 0 and o.fields["reference_id_raw"] == "00:00:00:00" for o in requests)


def test_tcpdump_ntp_time_client_and_server() -> None:
    # ntp-time--v.out: client "Stratum 0 (unspecified), poll 8 (256s)", Transmit 3712483316.928478999
    # (2017-08-23T13:21:56Z); server stratum 2 "Reference-ID: 132.199.7.201"
    got = by_frame(D, shared(*TD, "ntp-time.pcap"))
    client, server = single(got, 1), single(got, 2)
    assert client.kind == "client" and client.fields["leap"] == 3 and client.fields["poll"] == 8
    assert client.fields["transmit_ts"] == pytest.approx(3712483316.928479 - 2_208_988_800)
    assert server.kind == "server" and server.fields["stratum"] == 2
    assert server.fields["reference_id"] == "132.199.7.201" and server.fields["precision"] == -24


def test_stratum_one_and_kiss_codes_are_text() -> None:
    # ntp.out: the server answers with "Reference-ID: STEP" at stratum 0 (a kiss code)
    server = single(by_frame(D, shared(*TD, "ntp.pcap")), 2)
    assert server.fields["stratum"] == 0 and server.fields["reference_id"] == "STEP"


def test_control_read_variables_reveal_the_ntpd_version_and_system() -> None:
    obs = run_dissector(D, shared(*TD, "ntp-control.pcap"))
    assert {o.kind for o in obs} == {"control"}
    answer = next(o for o in obs if o.fields.get("variables"))
    assert answer.fields["variables"]["version"].startswith("ntpd 4.2.8p10")
    assert answer.fields["variables"]["system"] == "Linux/4.4.79-18.26-default"
    assert answer.fields["variables"]["processor"] == "x86_64"


def test_mode_7_private_requests() -> None:
    obs = run_dissector(D, shared(*TD, "ntp-mode7.pcap"))
    assert {o.kind for o in obs} == {"private"}
    assert (obs[0].fields["implementation"], obs[0].fields["request_code"], obs[0].fields["response"]) == (3, 28, False)


def test_control_variables_stop_at_the_limit() -> None:
    data = ",".join(f"k{i}=v" for i in range(MAX_VARIABLES + 8)).encode()
    msg = bytes([0x16, 0x82]) + b"\x00\x01\x00\x00\x00\x00\x00\x00" + len(data).to_bytes(2, "big") + data
    assert len(parse_ntp(msg)[1]["variables"]) == MAX_VARIABLES


def test_timestamps_follow_rfc4330_eras() -> None:
    assert ntp_time(0) == 0.0
    assert ntp_time(0xE84F5A00 << 32) == 0xE84F5A00 - 2_208_988_800
    assert ntp_time(1 << 32) == 2**32 + 1 - 2_208_988_800  # top bit clear: era 1, after 2036


@pytest.mark.parametrize("data", [b"", CLIENT[:47], b"\x16\x02\x00", b"\x17\x00", b"\x03" + b"\x00" * 47])
def test_short_messages_and_version_0_are_parse_errors(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_ntp(data)


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "ntp" for o in run_dissector(D, shared(*TD, capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 123, 123), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([CLIENT, CONTROL_READ]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 50000, 123), {})


def test_control_variable_values_stop_at_the_limit() -> None:
    data = b"system=" + b"L" * (MAX_VALUE_CHARS + 50)
    msg = bytes([0x16, 0x82]) + b"\x00\x01\x00\x00\x00\x00\x00\x00" + len(data).to_bytes(2, "big") + data
    assert len(parse_ntp(msg)[1]["variables"]["system"]) == MAX_VALUE_CHARS


def test_a_server_answer_seen_first_makes_its_receiver_the_client() -> None:
    # both ends on 123 (ntpd's client): with the mode 3 request lost, the first datagram is the server's answer
    client, server = "192.168.1.10", "192.168.1.1"
    answer = bytes([0x24, 2, 6, 0xEC]) + bytes(44)  # LI 0, VN 4, mode 4, stratum 2
    request = bytes([0x23]) + bytes(47)  # VN 4, mode 3
    flows = datagrams([(server, client, 123, 123, answer), (client, server, 123, 123, request)])
    assert [(f.a_ip, f.b_ip, f.app, f.extra.get("flipped")) for f in flows] == [(client, server, "ntp", "answer")]
    flows = datagrams([(client, server, 123, 123, request), (server, client, 123, 123, answer)])
    assert [(f.a_ip, "flipped" in f.extra) for f in flows] == [(client, False)]
