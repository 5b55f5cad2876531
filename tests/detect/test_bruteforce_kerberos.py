"""Kerberos password guessing and spraying in detect.bruteforce: KDC_ERR_PREAUTH_FAILED answers counted per
account and per client; the PREAUTH_REQUIRED answer every Windows logon starts with is no failure."""

from __future__ import annotations

from iotwarden.detect.bruteforce import BruteForceDetector
from tests.detect.krbexchange import KDC, guess, windows_logon
from tests.detect.runner import feed

ATTACKER = ("10.20.5.21", "44:47:cc:00:05:21")
GUESS, SPRAY = "detect.bruteforce.kerberos", "detect.bruteforce.kerberos_spray"


def test_five_wrong_passwords_for_one_account_are_password_guessing() -> None:
    obs = [o for i in range(5) for o in guess(100.0 + i, ATTACKER, 40000 + i, "administrator")]
    (alert,) = feed([BruteForceDetector()], obs)
    assert (alert.id, alert.src_ip, alert.dst_ip, alert.key, alert.mitre) == (
        GUESS, ATTACKER[0], KDC, KDC, ["T1110", "T1110.001"])
    assert alert.subject == f"mac:{ATTACKER[1]}" and alert.evidence["tries"] == 5
    assert feed([BruteForceDetector()], obs[:8]) == []  # four: a user's mistyped passwords
    assert [a.id for a in feed([BruteForceDetector({"min_kerberos_failures": 4})], obs[:8])] == [GUESS]


def test_one_password_over_five_accounts_is_spraying() -> None:
    users = ["alice", "bob", "carol", "dave", "erin"]
    obs = [o for i, u in enumerate(users) for o in guess(100.0 + i, ATTACKER, 40000 + i, u)]
    (alert,) = feed([BruteForceDetector()], obs)
    assert (alert.id, alert.mitre, alert.evidence["accounts"]) == (SPRAY, ["T1110", "T1110.003"], 5)
    assert feed([BruteForceDetector()], obs[:8]) == []
    spread = [o for i, u in enumerate(users) for o in guess(100.0 + 200 * i, ATTACKER, 40000 + i, u)]
    assert feed([BruteForceDetector()], spread) == []  # over 13 minutes: not five within the window


def test_a_windows_logon_refused_for_pre_authentication_first_is_no_failure() -> None:
    obs = [o for i in range(10) for o in windows_logon(100.0 + 5 * i, ATTACKER, f"user{i}", ["cifs/FS01.corp.example"],
                                                     port=40000 + 10 * i)]
    assert [o.fields["error_code"] for o in obs if o.kind == "error"] == [25] * 10
    assert feed([BruteForceDetector()], obs) == []


def test_other_errors_and_unjoined_answers_without_a_name_are_not_counted() -> None:
    unknown = [o for i in range(6) for o in guess(100.0 + i, ATTACKER, 40000 + i, f"nobody{i}", code=6)]
    assert feed([BruteForceDetector()], unknown) == []  # enumeration: detect.kerberos.user_enum's
    errors = [o for i in range(6) for o in guess(100.0 + i, ATTACKER, 40000 + i, "administrator")][1::2]
    for e in errors:
        e.fields["cname"] = None  # a KDC error naming no client, its request not seen
    assert feed([BruteForceDetector()], errors) == []
    for e in errors:
        e.fields["cname"] = "administrator"
    assert [a.id for a in feed([BruteForceDetector()], errors)] == [GUESS]  # the error's own name suffices
