"""LDAP password guessing in detect.bruteforce, from packets: binds answered invalidCredentials (49) are the
dissector's failed ``login_attempt``s; ten of them from one client raise detect.bruteforce.ldap (T1110), whether
each guess has its own connection (Hydra's ldap3 module) or share one, a DN's or a sprayed password's. A service
account's normal session (bind, search, unbind) and a device's single wrong password raise nothing at all."""

from __future__ import annotations

from pathlib import Path

from iotwarden.lab import proto_ldap as L
from tests.detect.runner import detect
from tests.risk.harness import T0, host, tcp, write_pcap

ID = "detect.bruteforce.ldap"
ADMIN = "CN=Administrator,CN=Users,DC=corp,DC=example"
ATTACKER, DC, MFP = host(40), host(5), host(30)


def _guess(i: int, dn: str = ADMIN, code: int = L.INVALID_CREDENTIALS) -> list[tuple[bool, bytes]]:
    return [(True, L.bind_simple(1, dn, f"Winter202{i}!")), (False, L.bind_response(1, code, "80090308: LdapErr")),
            (True, L.unbind(2))]


def test_ten_failed_binds_one_connection_each_are_brute_force(tmp_path: Path) -> None:
    frames = [f for i in range(10) for f in tcp(ATTACKER, DC, 389, _guess(i), t=T0 + 2 * i, cport=41000 + i)]
    (alert,) = [a for a in detect([write_pcap(tmp_path / "guess.pcap", frames)]).alerts if a.id == ID]
    assert (alert.src_ip, alert.dst_ip, alert.severity) == (ATTACKER.ip, DC.ip, "high")
    assert alert.mitre == ["T1110", "T1110.001"] and alert.subject == f"mac:{ATTACKER.mac}"
    assert alert.evidence["service"] == "ldap" and alert.evidence["basis"] == "failed logins"
    assert "Winter202" not in str(alert.to_dict())  # the guessed passwords are nowhere


def test_a_spray_over_many_dns_in_one_connection_is_brute_force(tmp_path: Path) -> None:
    exchanges = []
    for i in range(10):
        dn = f"CN=user{i},CN=Users,DC=corp,DC=example"
        exchanges += [(True, L.bind_simple(i + 1, dn, "Spring2024!")), (False, L.bind_response(i + 1, 49))]
    ctx = detect([write_pcap(tmp_path / "spray.pcap", tcp(ATTACKER, DC, 389, exchanges))])
    assert [a.id for a in ctx.alerts if a.id.startswith("detect.bruteforce")] == [ID]


def test_a_service_accounts_session_and_one_wrong_password_raise_nothing(tmp_path: Path) -> None:
    session = [(True, L.bind_simple(1, "CN=svc-scan,DC=corp,DC=example", "Scan2Folder!")),
               (False, L.bind_response(1, 0)),
               (True, L.search(2, "DC=corp,DC=example", L.equality("sAMAccountName", "bob"), ("mail",))),
               (False, L.entry(2, "CN=bob,DC=corp,DC=example", {"mail": [b"bob@corp.example"]}) + L.search_done(2)),
               (True, L.unbind(3))]
    frames = tcp(MFP, DC, 389, session) + tcp(MFP, DC, 389, _guess(0, "CN=svc-scan,DC=corp,DC=example"),
                                              t=T0 + 30, cport=41500)
    assert detect([write_pcap(tmp_path / "normal.pcap", frames)]).alerts == []


def _ad(data: str) -> str:
    return f"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {data}, v4563"


def test_binds_active_directory_refused_after_a_right_password_are_no_guesses(tmp_path: Path) -> None:
    """A service account whose password expired (data 532) retrying ten times: the password was right every time,
    no brute force; the same ten binds refused data 52e (wrong password) are."""
    def binds(data: str) -> list[tuple[bool, bytes]]:
        return [e for i in range(10) for e in ((True, L.bind_simple(i + 1, ADMIN, "Winter2024!")),
                                               (False, L.bind_response(i + 1, 49, _ad(data))))]
    expired = detect([write_pcap(tmp_path / "expired.pcap", tcp(MFP, DC, 389, binds("532")))])
    assert [a.id for a in expired.alerts if a.id.startswith("detect.bruteforce")] == []
    wrong = detect([write_pcap(tmp_path / "wrong.pcap", tcp(MFP, DC, 389, binds("52e")))])
    assert [a.id for a in wrong.alerts if a.id.startswith("detect.bruteforce")] == [ID]
