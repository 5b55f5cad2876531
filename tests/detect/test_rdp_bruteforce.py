"""RDP password guessing and spraying: short RDP connections that end before a session, by client and server,
by user name and by server count; an admin's session and a few mistyped passwords raise nothing."""

from __future__ import annotations

from dataclasses import replace

from iotwarden.detect.rdp_bruteforce import RdpBruteForceDetector
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.model import Flow, Observation
from tests.detect.runner import feed, tcp_flow

ATTACKER, SERVER = "10.0.0.66", "10.0.0.5"
NLA_TRY = (2_100, 3_600)  # client, server payload of one refused CredSSP logon (TLS + NTLM, then close)


def _try(ts: float, sport: int, server: str = SERVER, payload: tuple[int, int] = NLA_TRY) -> Flow:
    flow = tcp_flow(ATTACKER, server, 3389, ts, sport=sport, payload=payload, pkts=(12, 10), flags=(0x1B, 0x1F),
                    a_mac="02:00:00:00:00:66", app="rdp")
    flow.last_seen = ts + 1.2
    return flow


def _request(ts: float, sport: int, user: str, server: str = SERVER) -> Observation:
    return Observation(ts=ts, proto="rdp", kind="connection_request", src_ip=ATTACKER, dst_ip=server,
                       src_port=sport, dst_port=3389, fields={"username": user, "requested_protocols": ["HYBRID"]})


def test_ten_refused_logons_to_one_server_are_password_guessing() -> None:
    alerts = feed([RdpBruteForceDetector()], flows=[_try(100.0 + 3 * i, 50000 + i) for i in range(10)])
    assert [(a.id, a.src_ip, a.dst_ip, a.subject, a.mitre) for a in alerts] == [
        ("detect.bruteforce.rdp", ATTACKER, SERVER, "mac:02:00:00:00:00:66", ["T1110", "T1110.001"])]
    assert alerts[0].evidence["tries"] == 10


def test_nine_are_under_the_threshold_and_the_threshold_is_an_option() -> None:
    flows = [_try(100.0 + 3 * i, 50000 + i) for i in range(9)]
    assert feed([RdpBruteForceDetector()], flows=flows) == []
    assert [a.id for a in feed([RdpBruteForceDetector({"min_attempts": 9})], flows=flows)] == [
        "detect.bruteforce.rdp"]


def test_attempts_spread_past_the_window_are_not_counted_together() -> None:
    flows = [_try(100.0 + 120 * i, 50000 + i) for i in range(10)]  # one every two minutes: 18 minutes
    assert feed([RdpBruteForceDetector()], flows=flows) == []


def test_negotiation_failures_count_as_attempts_even_when_the_log_comes_late() -> None:
    # a client without CredSSP against a server requiring it: each try refused at the X.224 exchange
    flows = [_try(100.0 + i, 50000 + i, payload=(43, 19)) for i in range(10)]
    refusals = [Observation(ts=100.0 + i, proto="rdp", kind="negotiation_failure", src_ip=SERVER, dst_ip=ATTACKER,
                            src_port=3389, dst_port=50000 + i, fields={"failure_code": 5}) for i in range(10)]
    assert [a.id for a in feed([RdpBruteForceDetector()], observations=refusals, flows=flows)] == [
        "detect.bruteforce.rdp"]
    assert feed([RdpBruteForceDetector()], flows=flows) == []  # X.224 requests alone are no password tries


def test_many_user_names_are_spraying() -> None:
    users = ["administrator", "admin", "operator", "scada", "engineer"]
    obs = [_request(100.0 + i, 50000 + i, u) for i, u in enumerate(users)]
    flows = [_try(100.0 + i, 50000 + i) for i in range(len(users))]
    (alert,) = feed([RdpBruteForceDetector()], observations=obs, flows=flows)
    assert (alert.id, alert.mitre) == ("detect.bruteforce.rdp_spray", ["T1110", "T1110.003"])
    assert alert.evidence["users"] == sorted(users) and alert.evidence["servers"] == [SERVER]


def test_one_user_against_many_servers_is_spraying() -> None:
    servers = [f"10.0.1.{n}" for n in range(1, 6)]
    obs = [_request(100.0 + i, 50000 + i, "administrator", s) for i, s in enumerate(servers)]
    flows = [_try(100.0 + i, 50000 + i, s) for i, s in enumerate(servers)]
    (alert,) = feed([RdpBruteForceDetector()], observations=obs, flows=flows)
    assert alert.id == "detect.bruteforce.rdp_spray" and alert.evidence["server_count"] == 5


LEASE_GAP = 310.0  # a lease moving between two devices: the address free past handover_s (300), within window_s


def test_a_lease_moving_mid_series_starts_the_new_holders_own_series() -> None:
    """The attacker's address leased to another device within the window, after a gap (a DHCP server reassigns a
    freed address only after handover_s): the user names the first holder tried are not the second's. Before
    de7d481: counted together, the spraying named the first holder; now the second's five."""
    old, new = "02:00:00:00:00:99", "02:00:00:00:00:66"
    users = [("admin", old), ("root", old), ("administrator", new), ("operator", new), ("scada", new),
             ("engineer", new), ("backup", new)]
    times = [100.0 + i + (LEASE_GAP if mac == new else 0.0) for i, (_, mac) in enumerate(users)]
    obs = [_request(t, 50000 + i, u) for i, ((u, _), t) in enumerate(zip(users, times, strict=True))]
    flows = [replace(_try(t, 50000 + i), a_mac=mac) for i, ((_, mac), t) in enumerate(zip(users, times, strict=True))]
    alerts = feed([InventoryBuilder(), RdpBruteForceDetector()], observations=obs, flows=flows)
    assert [(a.id, a.subject, a.evidence["user_count"]) for a in alerts] == [
        ("detect.bruteforce.rdp_spray", f"mac:{new}", 5)]


def test_a_lease_moving_mid_series_starts_the_new_holders_own_guessing_count() -> None:
    """The attacker's address leased to another device within the window: the first holder's four refused logons
    and the second's six are two devices' series, under the ten of password guessing. Before: counted together
    per address pair, guessing raised on the second holder at its sixth; now the second's own ten are needed."""
    old, new = "02:00:00:00:00:99", "02:00:00:00:00:66"

    def tries(macs: list[str], gap: float = LEASE_GAP) -> list[Flow]:
        return [replace(_try(100.0 + 3 * i + (gap if mac == new else 0.0), 50000 + i), a_mac=mac)
                for i, mac in enumerate(macs)]

    assert feed([InventoryBuilder(), RdpBruteForceDetector()], flows=tries([old] * 4 + [new] * 6)) == []
    alerts = feed([InventoryBuilder(), RdpBruteForceDetector()], flows=tries([old] * 4 + [new] * 10))
    assert [(a.id, a.subject, a.evidence["tries"], a.first_seen) for a in alerts] == [
        ("detect.bruteforce.rdp", f"mac:{new}", 10, 100.0 + 3 * 13 + LEASE_GAP)]
    # the address taken over within handover_s: the series goes on, named after its latest holder
    alerts = feed([InventoryBuilder(), RdpBruteForceDetector()], flows=tries([old] * 4 + [new] * 6, gap=200.0))
    assert [(a.id, a.subject, a.evidence["tries"]) for a in alerts] == [("detect.bruteforce.rdp", f"mac:{new}", 10)]
    options: dict[str, object] = {"handover_s": 150.0}
    assert feed([InventoryBuilder(), RdpBruteForceDetector(options)], flows=tries([old] * 4 + [new] * 6, 200.0)) == []


def test_an_admin_session_and_two_typos_raise_nothing() -> None:
    typos = [_try(100.0 + 10 * i, 50000 + i) for i in range(2)]
    session = tcp_flow(ATTACKER, SERVER, 3389, 130.0, sport=50003, payload=(250_000, 9_800_000), pkts=(4000, 9000),
                       flags=(0x1B, 0x1F), app="rdp")
    session.last_seen = 130.0 + 3600
    obs = [_request(100.0 + 10 * i, 50000 + i, "jsmith") for i in range(3)]
    assert feed([RdpBruteForceDetector()], observations=obs, flows=[*typos, session]) == []


def test_users_of_connections_that_became_sessions_are_not_counted() -> None:
    # a jump host many admins use: each logs on and works; their names are no spraying
    obs = [_request(100.0 + i, 50000 + i, f"admin{i}") for i in range(8)]
    sessions = []
    for i in range(8):
        flow = _try(100.0 + i, 50000 + i, payload=(90_000, 4_000_000))
        flow.last_seen = 100.0 + i + 1800
        sessions.append(flow)
    assert feed([RdpBruteForceDetector()], observations=obs, flows=sessions) == []


def test_the_connection_table_is_bounded() -> None:
    detector = RdpBruteForceDetector({"max_connections": 4})
    feed([detector], observations=[_request(100.0 + i, 50000 + i, f"u{i}") for i in range(10)])
    assert len(detector._conns) == 4  # the limit is the behaviour under test


def test_client_and_pair_tables_are_bounded() -> None:
    detector = RdpBruteForceDetector({"max_clients": 3})
    flows = []
    for n in range(6):  # six clients, one try each at its own server
        flow = _try(100.0 + n, 50000 + n, server=f"10.0.2.{n}")
        flow.a_ip = f"10.0.9.{n}"
        flows.append(flow)
    feed([detector], flows=flows)
    assert len(detector._clients) == 3 and len(detector._pairs) == 3  # the limit is the behaviour under test
    assert set(detector._clients) == {"10.0.9.3", "10.0.9.4", "10.0.9.5"}  # the least recent went first


def test_a_guesser_changing_its_mac_every_few_tries_is_still_raised() -> None:
    """One host guessing RDP passwords, its MAC changed (macchanger, a gratuitous ARP) before every 5th connection:
    each MAC is a device of its own to the inventory, but each takes the address over within handover_s of the
    series, so it continues it (chained): 40 tries in 2 minutes raise password guessing at every tenth, named after
    the MAC of the moment (review R1: before, each 5 tries were a new holder's series and nothing was raised)."""
    macs = [f"02:00:00:00:01:{i // 5:02x}" for i in range(40)]
    flows = [replace(_try(100.0 + 3 * i, 50000 + i), a_mac=mac) for i, mac in enumerate(macs)]
    alerts = feed([InventoryBuilder(), RdpBruteForceDetector()], flows=flows)
    assert [(a.id, a.subject, a.evidence["tries"]) for a in alerts] == [
        ("detect.bruteforce.rdp", f"mac:02:00:00:00:01:{n:02x}", 10) for n in (1, 3, 5, 7)]
