"""Brute force: failed logins in Telnet, FTP, HTTP, MQTT, and bursts of short SSH connections."""

from __future__ import annotations

import dataclasses

import pytest

from iotwarden.detect.bruteforce import BruteForceDetector
from iotwarden.model import Observation
from tests.detect.runner import feed, tcp_flow
from tests.engine.losscheck import session


def _login(proto: str, ts: float, result: str = "failure", password: str = "x") -> Observation:  # noqa: S107
    return Observation(ts=ts, proto=proto, kind="login_attempt", src_ip="10.0.0.9", dst_ip="10.0.0.1", subject="dst",
                       src_mac="02:00:00:00:00:09", fields={"username": "root", "password": password, "result": result})


@pytest.mark.parametrize("proto", ["telnet", "ftp"])
def test_four_failed_logins_are_brute_force(proto: str) -> None:
    alerts = feed([BruteForceDetector()], observations=[_login(proto, 10.0 + i) for i in range(4)])
    assert [(a.id, a.src_ip, a.dst_ip, a.subject) for a in alerts] == [
        (f"detect.bruteforce.{proto}", "10.0.0.9", "10.0.0.1", "mac:02:00:00:00:00:09")]


def test_ftp_logins_whose_answer_the_capture_lacks_are_no_failures() -> None:
    # dissect/ftp.py reads a PASS whose answer the capture does not hold as 'unknown': only refused ones count
    unanswered = [(False, b"220 ready\r\n"), (True, b"USER root\r\n"), (False, b"331 go on\r\n"), (True, b"PASS x\r\n")]

    def logins(messages: list[tuple[bool, bytes]]) -> list[Observation]:
        one = [o for o in session(messages, 21, close=False) if o.kind == "login_attempt"]
        return [dataclasses.replace(o, ts=o.ts + 10.0 * i) for i in range(4) for o in one]

    assert [o.fields["result"] for o in logins(unanswered)] == ["unknown"] * 4
    assert feed([BruteForceDetector()], observations=logins(unanswered)) == []
    alerts = feed([BruteForceDetector()], observations=logins([*unanswered, (False, b"530 Login incorrect.\r\n")]))
    assert [a.id for a in alerts] == ["detect.bruteforce.ftp"]


def test_three_failures_and_a_success_are_a_typo_not_an_attack() -> None:
    obs = [_login("telnet", 10.0 + i) for i in range(3)] + [_login("telnet", 14.0, "success")]
    assert feed([BruteForceDetector()], observations=obs) == []


def test_three_failed_default_credentials_then_a_success_is_a_dictionary_attack() -> None:
    # Mirai's walk (bot/scanner.c table): one pair per connection, stopping at the first that works
    obs = [_login("telnet", 10.0 + i, password=pw) for i, pw in enumerate(("xc3511", "1234", "1111"))]
    alerts = feed([BruteForceDetector()], observations=[*obs, _login("telnet", 14.0, "success", "vizxv")])
    assert [(a.id, a.src_ip, a.dst_ip) for a in alerts] == [("detect.bruteforce.telnet", "10.0.0.9", "10.0.0.1")]
    assert alerts[0].evidence["basis"] == "failed logins with published default credentials"


def test_two_failed_default_credentials_are_not_yet_an_attack() -> None:
    obs = [_login("ftp", 10.0 + i, password=pw) for i, pw in enumerate(("xc3511", "1234"))]
    assert feed([BruteForceDetector()], observations=obs) == []


def test_the_dictionary_threshold_is_a_site_option() -> None:
    obs = [_login("telnet", 10.0 + i, password=pw) for i, pw in enumerate(("xc3511", "1234", "1111"))]
    assert feed([BruteForceDetector({"min_dictionary_failures": 4})], observations=obs) == []


def test_http_401s_to_one_client_are_brute_force() -> None:
    obs = [Observation(ts=10.0 + i, proto="http", kind="response", src_ip="10.0.0.1", dst_ip="10.0.0.9",
                       fields={"status": 401}) for i in range(4)]
    assert [a.id for a in feed([BruteForceDetector()], observations=obs)] == ["detect.bruteforce.http"]


def test_mqtt_not_authorised_connacks_are_brute_force() -> None:
    obs = [Observation(ts=10.0 + i, proto="mqtt", kind="connack", src_ip="10.0.0.1", dst_ip="10.0.0.9",
                       fields={"return_code": 5 if i % 2 else 0x87}) for i in range(4)]
    assert [a.id for a in feed([BruteForceDetector()], observations=obs)] == ["detect.bruteforce.mqtt"]


def _rtsp_answer(ts: float, status: int, credentials_sent: bool) -> Observation:
    return Observation(ts=ts, proto="rtsp", kind="response", src_ip="10.0.0.1", dst_ip="10.0.0.9",
                       dst_mac="02:00:00:00:00:09", fields={"status": status, "credentials_sent": credentials_sent})


def test_refused_rtsp_credentials_are_brute_force_whatever_the_scheme() -> None:
    # Digest or Basic retries refused with 401/403: guessing a camera's password (THC-Hydra's rtsp module)
    obs = [_rtsp_answer(10.0 + i, 401 if i % 2 else 403, True) for i in range(4)]
    alerts = feed([BruteForceDetector()], observations=obs)
    assert [(a.id, a.src_ip, a.dst_ip, a.subject) for a in alerts] == [
        ("detect.bruteforce.rtsp", "10.0.0.9", "10.0.0.1", "mac:02:00:00:00:00:09")]


def test_rtsp_challenges_of_credential_less_requests_are_no_failures() -> None:
    # an NVR reconnecting all day: each session's first DESCRIBE is challenged, its Digest retry accepted
    obs = [_rtsp_answer(10.0 + i, 401, False) for i in range(20)] + [_rtsp_answer(11.0 + i, 200, True)
                                                                      for i in range(20)]
    assert feed([BruteForceDetector()], observations=obs) == []


def test_refused_default_rtsp_pairs_are_a_dictionary_attack() -> None:
    # Basic pairs are visible (the dissector's login_attempt): three published defaults refused
    refusals = [_rtsp_answer(10.0 + i, 401, True) for i in range(3)]
    logins = [_login("rtsp", 10.0 + i, password=pw) for i, pw in enumerate(("12345", "admin", "888888"))]
    alerts = feed([BruteForceDetector()], observations=[x for pair in zip(refusals, logins, strict=True) for x in pair])
    assert [a.id for a in alerts] == ["detect.bruteforce.rtsp"]
    assert alerts[0].evidence["basis"] == "failed logins with published default credentials"


def test_a_burst_of_short_ssh_connections_is_brute_force_without_payload_view() -> None:
    flows = [tcp_flow("10.0.0.9", "10.0.0.1", 22, 10.0 + i * 3, sport=40000 + i, payload=(1500, 2000),
                      flags=(0x1B, 0x1B), pkts=(12, 10)) for i in range(12)]
    alerts = feed([BruteForceDetector()], flows=flows)
    assert [a.id for a in alerts] == ["detect.bruteforce.ssh"]
    assert alerts[0].evidence["basis"] == "short connections to the login port"


def test_failures_spread_over_more_than_the_window_are_not_counted() -> None:
    obs = [_login("ftp", 10.0 + i * 700) for i in range(6)]
    assert feed([BruteForceDetector()], observations=obs) == []


def _sip_answer(ts: float, status: int, credentials_sent: bool | None, stale: bool | None = None,
                account: str = "1001") -> Observation:
    fields: dict[str, object] = {"status": status, "credentials_sent": credentials_sent, "cseq_method": "REGISTER",
                                 "to": f"{account}@pbx.example"}
    if stale is not None:
        fields["auth_stale"] = stale
    return Observation(ts=ts, proto="sip", kind="response", src_ip="10.0.0.1", dst_ip="10.0.0.9",
                       dst_mac="02:00:00:00:00:09", fields=fields)


def test_refused_sip_credentials_at_a_tools_rate_are_brute_force() -> None:
    # svcrack: one authenticated REGISTER per guess, each refused (401 again, or 403), many a second
    obs = [_sip_answer(10.0 + i * 0.2, 403 if i % 3 == 0 else 401, True) for i in range(6)]
    alerts = feed([BruteForceDetector()], observations=obs)
    assert [(a.id, a.src_ip, a.dst_ip, a.subject) for a in alerts] == [
        ("detect.bruteforce.sip", "10.0.0.9", "10.0.0.1", "mac:02:00:00:00:00:09")]
    assert alerts[0].evidence["basis"] == "refused SIP credentials"


def test_a_phone_with_a_wrong_password_retrying_is_no_brute_force() -> None:
    # its registration retry interval (30 s): two refusals a minute, all day
    obs = [_sip_answer(10.0 + i * 30, 401, True) for i in range(100)]
    assert feed([BruteForceDetector()], observations=obs) == []


def test_a_phones_sixteen_lines_refused_at_once_are_no_brute_force() -> None:
    # the PBX's passwords changed: every account of the phone fails once per retry, none many times
    obs = [_sip_answer(10.0 + i * 0.05 + r * 30, 401, True, account=str(2001 + i)) for r in range(3) for i in range(16)]
    assert feed([BruteForceDetector()], observations=sorted(obs, key=lambda o: o.ts)) == []


def test_sip_challenges_and_stale_nonces_are_no_failures() -> None:
    # every REGISTER's first challenge (no credentials yet), and a stale nonce re-challenge (RFC 7616 §3.3)
    # for each of a phone's twelve lines re-registering at once
    obs = [_sip_answer(10.0 + i * 0.1, 401, False) for i in range(12)]
    obs += [_sip_answer(12.0 + i * 0.1, 401, True, stale=True) for i in range(12)]
    obs += [_sip_answer(14.0 + i * 0.1, 401, None) for i in range(12)]  # the request was not seen
    assert feed([BruteForceDetector()], observations=obs) == []


def _tagged(obs: list[Observation], vlans: tuple[int, int]) -> list[Observation]:
    for i, o in enumerate(obs):
        o.vlan = vlans[i % 2]
    return obs


def test_one_address_failing_on_two_vlans_is_two_clients_not_a_brute_force() -> None:
    """A trunk mirror: VLAN 10's and VLAN 20's 10.0.0.9 each fail twice against their own 10.0.0.1 (4 together,
    min_failures): nothing. Four on one VLAN, or untagged, are brute force as before; so are 4 + 4 on two, twice."""
    assert feed([BruteForceDetector()], observations=_tagged([_login("telnet", 10.0 + i) for i in range(4)],
                                                             (10, 20))) == []
    alerts = feed([BruteForceDetector()], observations=_tagged([_login("telnet", 10.0 + i) for i in range(4)],
                                                               (20, 20)))
    assert [(a.id, a.src_ip, a.dst_ip) for a in alerts] == [("detect.bruteforce.telnet", "10.0.0.9", "10.0.0.1")]
    both = _tagged([_login("telnet", 10.0 + i) for i in range(8)], (10, 20))
    for o in both[1::2]:
        o.src_mac = "02:00:00:00:00:0b"  # VLAN 20's own host
    assert sorted((a.subject, a.count) for a in feed([BruteForceDetector()], observations=both)) == [
        ("mac:02:00:00:00:00:09", 1), ("mac:02:00:00:00:00:0b", 1)]


def test_short_connections_from_two_vpcs_count_apart_and_an_outside_client_counts_once() -> None:
    """Six short SSH connections in each of two VPCs (VNIs 4001, 4002) to their own 10.0.0.1: 12 together
    (min_connections) raise nothing; twelve from one outside address reaching both VPCs' 10.0.0.1 are still
    two servers, 6 each; twelve in one VPC are brute force."""
    def conns(a: str, vnis: tuple[int, int]) -> list:
        flows = [tcp_flow(a, "10.0.0.1", 22, 10.0 + i * 3, sport=40000 + i, payload=(1500, 2000),
                          flags=(0x1B, 0x1B), pkts=(12, 10)) for i in range(12)]
        for i, flow in enumerate(flows):
            flow.extra["vni"] = [vnis[i % 2]]
        return flows
    assert feed([BruteForceDetector()], flows=conns("10.0.0.9", (4001, 4002))) == []
    assert feed([BruteForceDetector()], flows=conns("203.0.113.7", (4001, 4002))) == []
    assert [a.id for a in feed([BruteForceDetector()], flows=conns("10.0.0.9", (4001, 4001)))] == [
        "detect.bruteforce.ssh"]


def test_kerberos_spraying_from_two_vlans_counts_each_client_apart() -> None:
    """Three accounts refused for VLAN 10's 10.0.0.9 and two for VLAN 20's (min_spray_users 5): no spray; the
    same five on one VLAN are."""
    def refusals(vlans: tuple[int, int]) -> list[Observation]:
        return _tagged([Observation(ts=10.0 + i, proto="kerberos", kind="login_attempt", src_ip="10.0.0.9",
                                    dst_ip="10.0.0.1", fields={"username": f"user{i}", "result": "failure"})
                        for i in range(5)], vlans)
    assert [a.id for a in feed([BruteForceDetector()], observations=refusals((10, 20)))] == []
    assert [a.id for a in feed([BruteForceDetector()], observations=refusals((10, 10)))] == [
        "detect.bruteforce.kerberos_spray"]
