"""Kerberos abuse: AS-REP roasting (AS-REPs to requests without pre-authentication), Kerberoasting (service
tickets for many SPNs, RC4 asked), user enumeration (unknown names); a workstation's day of logons and
service tickets raises nothing. Also from Zeek's kerberos.log, TSV and JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.addons import AddonManager
from iotwarden.detect.bruteforce import BruteForceDetector
from iotwarden.detect.kerberos_abuse import (
    ASREP_ID,
    ENUM_ID,
    KERBEROAST_ID,
    MAX_NAMES_PER_CLIENT,
    AsRequests,
    ComputerKeys,
    KerberosAbuseDetector,
    computer_service,
    spn_parts,
)
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.lab import proto_dir
from iotwarden.model import Conclusion, Device, Observation
from tests.detect.krbexchange import KDC, asrep, guess, roast, windows_logon
from tests.detect.runner import detect, feed
from tests.sources.zeeklog import CONN_COLUMNS, FORMATS, ID_COLUMNS, conn_row, write_log

ATTACKER = ("10.20.5.21", "44:47:cc:00:05:21")
WORKSTATION = ("10.20.0.50", "00:1b:21:00:00:50")
# a workstation's service tickets over a working day: its DCs' directory and file services, its own host, the
# file server, the intranet and a database (the last two service accounts without AES keys: RC4 tickets)
DAY_SPNS = ["ldap/DC01.corp.example", "cifs/DC01.corp.example", "host/DC01.corp.example", "ldap/DC02.corp.example",
            "cifs/FS01.corp.example", "host/WS-FIN-01.corp.example", "HTTP/intranet.corp.example",
            "MSSQLSvc/sql01.corp.example:1433", "GC/DC01.corp.example/corp.example", "RPCSS/DC01.corp.example"]
RC4_SERVICES = frozenset({"HTTP/intranet.corp.example", "MSSQLSvc/sql01.corp.example:1433"})


def _both(observations: list[Observation]) -> list[tuple[str, str | None]]:
    return [(a.id, a.src_ip) for a in feed([KerberosAbuseDetector(), BruteForceDetector()], observations)]


def test_a_workstations_day_of_logons_and_service_tickets_raises_nothing() -> None:
    obs: list[Observation] = []
    for hour in range(9):  # a logon each hour, the computer's and the user's, each with the day's services
        for account in ("WS-FIN-01$", "alice"):
            obs += windows_logon(3600.0 * hour + (30 if account == "alice" else 0), WORKSTATION, account,
                                 DAY_SPNS, port=50000 + 100 * hour + (50 if account == "alice" else 0),
                                 rc4_tickets=RC4_SERVICES)
    assert {o.kind for o in obs} == {"as_req", "error", "as_rep", "tgs_req", "tgs_rep", "login_attempt"}
    assert _both(obs) == []


def test_as_reps_without_pre_authentication_for_two_accounts_are_asrep_roasting() -> None:
    obs = asrep(100.0, ATTACKER, 40000, "svc_backup") + asrep(101.0, ATTACKER, 40001, "svc_legacy")
    (alert,) = feed([KerberosAbuseDetector()], obs)
    assert (alert.id, alert.src_ip, alert.dst_ip, alert.mitre) == (ASREP_ID, ATTACKER[0], KDC, ["T1558", "T1558.004"])
    assert alert.subject == f"mac:{ATTACKER[1]}" and alert.evidence["count"] == 2
    assert not any("cipher" in str(o) for o in alert.observations)  # etypes and names only
    assert feed([KerberosAbuseDetector()], obs[:2]) == []  # one legacy account logging on without pre-auth


def test_one_account_without_pre_authentication_from_an_iot_device_is_enough() -> None:
    ctx = Context()
    key = f"mac:{ATTACKER[1]}"
    ctx.devices[key] = Device(key, 0.0, 0.0, mac=ATTACKER[1], ips={ATTACKER[0]},
                              classification={"category": Conclusion("IoT", 0.9)})
    addons = AddonManager(ctx, [KerberosAbuseDetector(), AlertPipeline()])
    addons.observations(asrep(100.0, ATTACKER, 40000, "svc_backup"))
    addons.done()
    assert [(a.id, a.subject) for a in ctx.alerts] == [(ASREP_ID, key)]


def test_service_tickets_for_many_spns_with_rc4_are_kerberoasting() -> None:
    spns = ["MSSQLSvc/sql01.corp.example:1433", "HTTP/intranet.corp.example", "svc_backup/bkp01.corp.example",
            "exchangeAB/ex01.corp.example"]
    obs = [o for i, spn in enumerate(spns) for o in roast(200.0 + i, ATTACKER, 41000 + i, "jdoe", spn)]
    (alert,) = feed([KerberosAbuseDetector()], obs)
    assert (alert.id, alert.src_ip, alert.mitre) == (KERBEROAST_ID, ATTACKER[0], ["T1558", "T1558.003"])
    assert alert.evidence["rc4_spns"] == 4
    assert feed([KerberosAbuseDetector()], obs[:6]) == []  # three


def test_service_tickets_for_twenty_user_account_spns_in_aes_are_kerberoasting_too() -> None:
    aes = (proto_dir.AES256, proto_dir.AES128)
    spns = [f"MSSQLSvc/sql{i}.corp.example:1433" for i in range(10)] + [f"svc_app{i}/app{i}.corp.example"
                                                                       for i in range(10)]
    obs = [o for i, spn in enumerate(spns) for o in roast(200.0 + i, ATTACKER, 41000 + i, "jdoe", spn, etypes=aes)]
    assert [(a.id, a.evidence["rc4_spns"]) for a in feed([KerberosAbuseDetector()], obs)] == [(KERBEROAST_ID, 0)]
    assert feed([KerberosAbuseDetector()], obs[:38]) == []
    spread = [o for i, spn in enumerate(spns) for o in roast(200.0 + 60 * i, ATTACKER, 41000 + i, "jdoe", spn,
                                                             etypes=aes)]
    assert feed([KerberosAbuseDetector()], spread) == []  # one a minute: never 20 within ten minutes


# a monitoring or management server's tickets: the services every Windows host runs as its computer account
MONITORED = ["HOST", "HTTP", "WSMAN", "cifs", "RestrictedKrbHost", "TERMSRV", "RPCSS"]


def test_a_monitoring_servers_tickets_for_many_hosts_are_no_kerberoasting() -> None:
    """Forty hosts' computer-account services within five minutes, AES asked first and returned, as SCOM, SCCM or a
    WinRM poller with Kerberos authentication asks: no roasting target (computer accounts' random passwords). The
    same server asking RC4 first, as a roasting tool does, still is."""
    aes = (proto_dir.AES256, proto_dir.AES128, proto_dir.RC4_HMAC)
    spns = [f"{cls}/srv{i:02}.corp.example" for i in range(40) for cls in MONITORED[i % 3 : i % 3 + 2]]
    obs = [o for i, spn in enumerate(spns) for o in roast(100.0 + 3 * i, WORKSTATION, 42000 + i, "svc_scom", spn,
                                                          etypes=aes)]
    assert len({spn.lower() for spn in spns}) == 80 and _both(obs) == []
    rc4 = [o for i, spn in enumerate(spns[:4]) for o in roast(100.0 + i, WORKSTATION, 43000 + i, "svc_scom", spn)]
    assert [a[0] for a in _both(rc4)] == [KERBEROAST_ID]
    # old NAS and hosts whose computer accounts have no AES key: RC4 tickets to the poller's AES-first requests
    nas = [f"cifs/nas{i}.corp.example" for i in range(8)]
    legacy = [o for i, spn in enumerate(nas) for o in windows_logon(100.0 + i, WORKSTATION, "svc_scom", [spn],
                                                                    port=44000 + 10 * i, rc4_tickets=frozenset(nas))]
    assert sum(1 for o in legacy if o.kind == "tgs_rep" and o.fields["ticket_etype"] == proto_dir.RC4_HMAC) == 8
    assert _both(legacy) == []
    assert computer_service("HTTP/srv01.corp.example") and computer_service("ldap/DC01.corp.example/corp.example")
    assert not computer_service("MSSQLSvc/sql01.corp.example:1433") and not computer_service("kadmin/scada-hist")


def test_unknown_names_are_user_enumeration_and_a_typo_is_not() -> None:
    names = ["admin", "administrator", "backup", "jsmith", "svc_sql"]
    obs = [o for i, n in enumerate(names) for o in guess(300.0 + i, ATTACKER, 42000 + i, n, code=6)]
    (alert,) = feed([KerberosAbuseDetector()], obs)
    assert (alert.id, alert.mitre, alert.evidence["count"]) == (ENUM_ID, ["T1087", "T1087.002"], 5)
    assert feed([KerberosAbuseDetector()], obs[:4]) == []


def test_a_lease_moving_mid_series_starts_the_new_holders_own_series() -> None:
    """The attacker's address leased to another device (its own MAC) within the window, after a gap past handover_s
    (300 s): the names the first holder was refused are not the second's. Before de7d481: counted together, the
    alert named the first holder at the second's third name; now the second holder's own five names raise on it.
    Taken over within handover_s, the series goes on: the second's third name raises, named after it."""
    old, new = (ATTACKER[0], "44:47:cc:00:05:99"), ATTACKER

    def names(gap: float) -> list[Observation]:
        obs = [o for i, n in enumerate(["admin", "root"]) for o in guess(300.0 + i, old, 42000 + i, n, code=6)]
        return obs + [o for i, n in enumerate(["administrator", "backup", "jsmith", "svc_sql", "guest"])
                      for o in guess(301.0 + gap + i, new, 43000 + i, n, code=6)]

    alerts = feed([InventoryBuilder(), KerberosAbuseDetector()], names(310.0))
    assert [(a.id, a.subject, a.evidence["count"]) for a in alerts] == [(ENUM_ID, f"mac:{new[1]}", 5)]
    alerts = feed([InventoryBuilder(), KerberosAbuseDetector()], names(9.0))
    assert [(a.id, a.subject, a.evidence["count"]) for a in alerts] == [(ENUM_ID, f"mac:{new[1]}", 5)]
    assert alerts[0].first_seen == pytest.approx(301.0 + 9.0 + 2, abs=0.01)  # at its third name


def test_a_tool_changing_its_mac_every_two_names_is_still_user_enumeration() -> None:
    """kerbrute behind macchanger: a new MAC on the address every second name, each a device of its own to the
    inventory; each takes the address over within handover_s of the series, so it continues it (review R1 of
    de7d481: before, each two names were a new holder's series, under min_unknown_names, and nothing was raised)."""
    names = ["admin", "root", "administrator", "backup", "jsmith", "svc_sql", "guest", "operator"]
    obs = [o for i, n in enumerate(names)
           for o in guess(300.0 + i, (ATTACKER[0], f"44:47:cc:00:06:{i // 2:02x}"), 42000 + i, n, code=6)]
    alerts = feed([InventoryBuilder(), KerberosAbuseDetector()], obs)
    assert [(a.id, a.subject, a.evidence["count"]) for a in alerts] == [(ENUM_ID, "mac:44:47:cc:00:06:02", 5)]


def test_remembered_requests_and_names_are_bounded() -> None:
    requests = AsRequests(limit=3)
    for i in range(5):
        requests.see(asrep(1.0, ATTACKER, 40000 + i, f"u{i}")[0])
    assert len(requests) == 3
    reply = asrep(1.0, ATTACKER, 40000, "u0")[1]
    assert requests.answered(reply) is None and requests.account(reply) == "u0"  # the reply's own name
    names = [f"user{i}" for i in range(MAX_NAMES_PER_CLIENT + 50)]
    obs = [o for i, n in enumerate(names) for o in guess(1.0 + i * 0.001, ATTACKER, 1024 + i, n, code=6)]
    detector = KerberosAbuseDetector({"min_unknown_names": 10_000})
    assert feed([detector], obs) == []
    assert len(detector._clients[ATTACKER[0]].unknown) == MAX_NAMES_PER_CLIENT


def test_clients_are_bounded() -> None:
    detector = KerberosAbuseDetector({"max_clients": 2})
    obs = [o for i in range(4) for o in guess(1.0 + i, (f"10.0.0.{i}", "02:00:00:00:00:01"), 1024, "x", code=6)]
    feed([detector], obs)
    assert list(detector._clients) == ["10.0.0.2", "10.0.0.3"]


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.text(max_size=8),
                    st.lists(st.one_of(st.integers(-200, 30), st.text(max_size=3), st.none()), max_size=4))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["as_req", "as_rep", "tgs_req", "tgs_rep", "error", "other"]),
                          st.booleans(), st.integers(1024, 1030),
                          st.dictionaries(st.sampled_from(["cname", "sname", "preauth", "etypes", "ticket_etype",
                                                           "error_code"]), _VALUES, max_size=6)), max_size=30))
def test_fuzz_untrusted_fields_never_break_the_detectors(items: list[tuple[str, bool, int, dict[str, object]]]) -> None:
    obs = [Observation(ts=1.0 + i, proto="kerberos", kind=kind, src_ip=ATTACKER[0] if up else KDC,
                       dst_ip=KDC if up else ATTACKER[0], src_port=port if up else 88, dst_port=88 if up else port,
                       fields=fields) for i, (kind, up, port, fields) in enumerate(items)]
    feed([KerberosAbuseDetector({"min_accounts": 1, "min_spns": 1}), BruteForceDetector({"min_spray_users": 1})], obs)


# --- from Zeek's kerberos.log -------------------------------------------------------------------

KERBEROS_COLUMNS = [*ID_COLUMNS, ("request_type", "string"), ("client", "string"), ("service", "string"),
                    ("success", "bool"), ("error_msg", "string"), ("cipher", "string")]
T0 = 1_700_000_000.0


def _zeek(folder: Path, fmt: str, lines: list[tuple[str, str, str, bool, str, str]]) -> Path:
    """conn.log and kerberos.log of the attacker's exchanges with the KDC: (request_type, client, service, success,
    error_msg, cipher) per exchange, each on its own UDP connection."""
    conn, krb = [], []
    for i, (rtype, client, service, success, error, cipher) in enumerate(lines):
        ts, uid, port = T0 + i, f"Ck{i}", 40000 + i
        conn.append(conn_row(ts, uid, (ATTACKER[0], port, ATTACKER[1]), (KDC, 88, "00:1b:21:00:00:10"), proto="udp",
                             service="krb"))
        krb.append([f"{ts + 0.001:.6f}", uid, ATTACKER[0], str(port), KDC, "88", rtype, client, service,
                    "T" if success else "F", error or "-", cipher or "-"])
    write_log(folder, "conn", CONN_COLUMNS, conn, fmt)
    write_log(folder, "kerberos", KERBEROS_COLUMNS, krb, fmt)
    return folder


def _raised(folder: Path) -> set[tuple[str, str | None]]:
    return {(a.id, a.src_ip) for a in detect([folder]).alerts}


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_guessing_spraying_and_enumeration(tmp_path: Path, fmt: str) -> None:
    users = ["alice", "bob", "carol", "dave", "erin"]
    lines = [("AS", f"{u}/CORP.EXAMPLE", "krbtgt/CORP.EXAMPLE", False, "KDC_ERR_PREAUTH_FAILED", "") for u in users]
    lines += [("AS", f"{u}x/CORP.EXAMPLE", "krbtgt/CORP.EXAMPLE", False, "KDC_ERR_C_PRINCIPAL_UNKNOWN", "")
              for u in users]
    raised = _raised(_zeek(tmp_path / "z", fmt, lines))
    assert {("detect.bruteforce.kerberos_spray", ATTACKER[0]), (ENUM_ID, ATTACKER[0])} == raised
    guessing = [("AS", "administrator/CORP.EXAMPLE", "krbtgt/CORP.EXAMPLE", False, "KDC_ERR_PREAUTH_FAILED", "")] * 5
    assert _raised(_zeek(tmp_path / "g", fmt, guessing)) == {("detect.bruteforce.kerberos", ATTACKER[0])}


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_locked_accounts_count_toward_spraying_once_pre_authentication_is_shown(tmp_path: Path, fmt: str) -> None:
    """kerberos.log logs no padata: its KDC_ERR_CLIENT_REVOKED lines count for a client the KDC also answered
    KDC_ERR_PREAUTH_FAILED (a spray that meets locked accounts), never alone (kerbrute userenum's locked names)."""
    def line(user: str, error: str) -> tuple[str, str, str, bool, str, str]:
        return ("AS", f"{user}/CORP.EXAMPLE", "krbtgt/CORP.EXAMPLE", False, error, "")

    locked = [line(u, "KDC_ERR_CLIENT_REVOKED") for u in ("carol", "dave", "erin")]
    wrong = [line(u, "KDC_ERR_PREAUTH_FAILED") for u in ("alice", "bob")]
    assert _raised(_zeek(tmp_path / "s", fmt, locked + wrong)) == {("detect.bruteforce.kerberos_spray", ATTACKER[0])}
    enum = [line(f"user{i}", "KDC_ERR_CLIENT_REVOKED") for i in range(8)]
    assert _raised(_zeek(tmp_path / "e", fmt, enum)) == set()
    retries = [line("alice", "KDC_ERR_PREAUTH_FAILED")] * 4 + [line("alice", "KDC_ERR_CLIENT_REVOKED")] * 3
    assert _raised(_zeek(tmp_path / "r", fmt, retries)) == set()  # a locked-out user retrying


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_kerberoasting_and_asrep_roasting(tmp_path: Path, fmt: str) -> None:
    lines = [("TGS", "jdoe/CORP.EXAMPLE", f"MSSQLSvc/sql0{i}.corp.example:1433", True, "", "rc4-hmac")
             for i in range(4)]
    lines += [("AS", f"svc{i}/CORP.EXAMPLE", "krbtgt/CORP.EXAMPLE", True, "", "aes256-cts-hmac-sha1-96")
              for i in range(5)]
    assert {(KERBEROAST_ID, ATTACKER[0]), (ASREP_ID, ATTACKER[0])} <= _raised(_zeek(tmp_path / "z", fmt, lines))


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_a_monitoring_servers_tickets_are_no_kerberoasting(tmp_path: Path, fmt: str) -> None:
    """kerberos.log logs the ticket's cipher only: AES tickets for thirty hosts' HOST/ and WSMAN/ services raise
    nothing; thirty service accounts' SPNs in AES are roasting."""
    hosts = [("TGS", "svc_scom/CORP.EXAMPLE", f"{cls}/srv{i:02}.corp.example", True, "", "aes256-cts-hmac-sha1-96")
             for i in range(30) for cls in ("HOST", "WSMAN")]
    assert _raised(_zeek(tmp_path / "m", fmt, hosts)) == set()
    users = [("TGS", "jdoe/CORP.EXAMPLE", f"MSSQLSvc/sql{i:02}.corp.example:1433", True, "", "aes256-cts-hmac-sha1-96")
             for i in range(30)]
    assert _raised(_zeek(tmp_path / "u", fmt, users)) == {(KERBEROAST_ID, ATTACKER[0])}


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_a_workstations_logons_raise_nothing(tmp_path: Path, fmt: str) -> None:
    lines: list[tuple[str, str, str, bool, str, str]] = []
    for _ in range(3):
        for account in ("WS-FIN-01$", "alice"):
            lines.append(("AS", f"{account}/CORP.EXAMPLE", "krbtgt/CORP.EXAMPLE", True, "", "aes256-cts-hmac-sha1-96"))
            lines += [("TGS", f"{account}/CORP.EXAMPLE", spn, True, "",
                       "rc4-hmac" if spn in RC4_SERVICES else "aes256-cts-hmac-sha1-96") for spn in DAY_SPNS]
    lines.append(("AS", "alice/CORP.EXAMPLE", "krbtgt/CORP.EXAMPLE", False, "KDC_ERR_PREAUTH_FAILED", ""))  # a typo
    assert _raised(_zeek(tmp_path / "z", fmt, lines)) == set()


AES = "aes256-cts-hmac-sha1-96"
# the SPNs a roasting tool asks in the packet test above, one of them a user account's HTTP/ SPN (an application
# pool's, setspn -S HTTP/intranet.corp.example svc_web)
ROASTED = ["MSSQLSvc/sql01.corp.example:1433", "HTTP/intranet.corp.example", "svc_backup/bkp01.corp.example",
           "exchangeAB/ex01.corp.example"]


def _tgs(client: str, spn: str, cipher: str) -> tuple[str, str, str, bool, str, str]:
    return ("TGS", f"{client}/CORP.EXAMPLE", spn, True, "", cipher)


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_an_rc4_ticket_for_a_user_accounts_http_spn_counts_where_computers_get_aes(tmp_path: Path,
                                                                                        fmt: str) -> None:
    """kerberos.log has the ticket's cipher, not the request's etypes: an RC4 ticket for HTTP/intranet (a class
    computer accounts hold too) counts as a user account's where the KDC issues computer accounts AES tickets and the
    client's other RC4 tickets are user accounts' (MSSQLSvc/, custom classes); in a domain issuing RC4 only, or
    without a user-class RC4 ticket, it does not."""
    logon = [_tgs("jdoe", spn, AES) for spn in ("HOST/ws-fin-07.corp.example", "cifs/DC01.corp.example")]
    roasting = [_tgs("jdoe", spn, "rc4-hmac") for spn in ROASTED]
    raised = detect([_zeek(tmp_path / "z", fmt, logon + roasting)]).alerts
    assert [(a.id, a.src_ip, a.evidence["rc4_spns"]) for a in raised] == [(KERBEROAST_ID, ATTACKER[0], 4)]
    rc4_domain = [_tgs("jdoe", "HOST/ws-fin-07.corp.example", "rc4-hmac")]
    assert _raised(_zeek(tmp_path / "r", fmt, rc4_domain + roasting)) == set()
    http_only = [_tgs("jdoe", f"HTTP/app{i}.corp.example", "rc4-hmac") for i in range(6)]
    assert _raised(_zeek(tmp_path / "h", fmt, logon + http_only)) == set()


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_an_rc4_ticket_for_a_host_whose_computer_account_has_aes_is_a_user_accounts(tmp_path: Path,
                                                                                         fmt: str) -> None:
    """HTTP/web01 in RC4 where HOST/web01 came in AES sits on another account than web01's computer account: four
    such web servers' sites are four user-account SPNs."""
    hosts = [_tgs("jdoe", f"HOST/web{i:02}.corp.example", AES) for i in range(4)]
    sites = [_tgs("jdoe", f"HTTP/web{i:02}.corp.example", "rc4-hmac") for i in range(4)]
    assert _raised(_zeek(tmp_path / "w", fmt, hosts + sites)) == {(KERBEROAST_ID, ATTACKER[0])}
    assert _raised(_zeek(tmp_path / "s", fmt, sites + hosts)) == {(KERBEROAST_ID, ATTACKER[0])}  # either order


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_a_pollers_rc4_tickets_of_old_hosts_stay_silent(tmp_path: Path, fmt: str) -> None:
    """A poller in a domain issuing AES: thirty hosts' HOST/, WSMAN/ and HTTP/ in AES, eight old hosts whose HOST/
    and HTTP/ tickets are RC4 (computer accounts without AES keys), eight old NAS' cifs/ in RC4, and its own
    database's MSSQLSvc/ in RC4 (a service account without AES): no user account's HTTP/ SPN among them."""
    lines = [_tgs("svc_scom", f"{cls}/srv{i:02}.corp.example", AES) for i in range(30) for cls in ("HOST", "WSMAN",
                                                                                                    "HTTP")]
    lines.append(_tgs("svc_scom", "MSSQLSvc/scomdb.corp.example:1433", "rc4-hmac"))
    lines += [_tgs("svc_scom", f"{cls}/old{i}.corp.example", "rc4-hmac") for i in range(8) for cls in ("HOST", "HTTP")]
    lines += [_tgs("svc_scom", f"cifs/nas{i}.corp.example", "rc4-hmac") for i in range(8)]
    assert _raised(_zeek(tmp_path / "m", fmt, lines)) == set()


def test_computer_keys_are_bounded() -> None:
    keys = ComputerKeys(max_hosts=3, max_kdcs=2)
    for i in range(5):
        keys.see(f"10.0.0.{i}", f"HOST/h{i}.corp.example", proto_dir.AES256)
    keys.see("10.0.0.4", "HTTP/h9.corp.example", proto_dir.AES256)  # not a computer-only class: nothing
    assert len(keys) == 3 and keys.computer_aes("10.0.0.0", "h0") is None and keys.computer_aes("10.0.0.4", "h4")
    assert not keys.issues_aes("10.0.0.2") and keys.issues_aes("10.0.0.3") and keys.issues_aes("10.0.0.4")
    keys.see("10.0.0.4", "RestrictedKrbHost/h4", proto_dir.RC4_HMAC)
    assert keys.computer_aes("10.0.0.4", "h4") is False
    assert spn_parts("HTTP/Web01.corp.example:8080/x") == ("http", "web01")
    detector = KerberosAbuseDetector()
    sites = [o for i in range(MAX_NAMES_PER_CLIENT + 10) for o in
             windows_logon(1.0 + i, WORKSTATION, "svc_scom", [f"cifs/nas{i}.corp.example"], port=1024 + 10 * i,
                           rc4_tickets=frozenset({f"cifs/nas{i}.corp.example"}))]
    assert feed([detector], sites) == []
    assert len(detector._clients[WORKSTATION[0]].rc4_returned) == MAX_NAMES_PER_CLIENT
