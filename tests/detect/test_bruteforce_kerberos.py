"""Kerberos password guessing and spraying in detect.bruteforce: KDC_ERR_PREAUTH_FAILED answers counted per
account and per client; the PREAUTH_REQUIRED answer every Windows logon starts with is no failure."""

from __future__ import annotations

import pytest

from iotwarden.detect.bruteforce import BruteForceDetector
from iotwarden.model import Observation
from tests.detect.krbexchange import KDC, guess, windows_logon
from tests.detect.runner import feed

ATTACKER = ("10.20.5.21", "44:47:cc:00:05:21")
GUESS, SPRAY = "detect.bruteforce.kerberos", "detect.bruteforce.kerberos_spray"


def _flat(exchanges: list[list[Observation]]) -> list[Observation]:
    return [o for e in exchanges for o in e]


def test_five_wrong_passwords_for_one_account_are_password_guessing() -> None:
    tries = [guess(100.0 + i, ATTACKER, 40000 + i, "administrator") for i in range(5)]
    assert [o.kind for o in tries[0]] == ["as_req", "error", "login_attempt"]
    (alert,) = feed([BruteForceDetector()], _flat(tries))
    assert (alert.id, alert.src_ip, alert.dst_ip, alert.key, alert.mitre) == (
        GUESS, ATTACKER[0], KDC, KDC, ["T1110", "T1110.001"])
    assert alert.subject == f"mac:{ATTACKER[1]}" and alert.evidence["tries"] == 5
    assert feed([BruteForceDetector()], _flat(tries[:4])) == []  # four: a user's mistyped passwords
    assert [a.id for a in feed([BruteForceDetector({"min_kerberos_failures": 4})], _flat(tries[:4]))] == [GUESS]


def test_one_password_over_five_accounts_is_spraying() -> None:
    users = ["alice", "bob", "carol", "dave", "erin"]
    tries = [guess(100.0 + i, ATTACKER, 40000 + i, u) for i, u in enumerate(users)]
    (alert,) = feed([BruteForceDetector()], _flat(tries))
    assert (alert.id, alert.mitre, alert.evidence["accounts"]) == (SPRAY, ["T1110", "T1110.003"], 5)
    assert feed([BruteForceDetector()], _flat(tries[:4])) == []
    spread = [guess(100.0 + 200 * i, ATTACKER, 40000 + i, u) for i, u in enumerate(users)]
    assert feed([BruteForceDetector()], _flat(spread)) == []  # over 13 minutes: not five within the window


def test_a_windows_logon_refused_for_pre_authentication_first_is_no_failure() -> None:
    obs = _flat([windows_logon(100.0 + 5 * i, ATTACKER, f"user{i}", ["cifs/FS01.corp.example"], port=40000 + 10 * i)
                 for i in range(10)])
    assert [o.fields["error_code"] for o in obs if o.kind == "error"] == [25] * 10
    assert {o.fields["result"] for o in obs if o.kind == "login_attempt"} == {"success"}  # the second AS request
    assert feed([BruteForceDetector()], obs) == []


def test_locked_out_accounts_answered_revoked_count_toward_spraying() -> None:
    wrong = [guess(100.0 + i, ATTACKER, 40000 + i, u) for i, u in enumerate(["alice", "bob", "carol"])]
    locked = [guess(110.0 + i, ATTACKER, 41000 + i, u, code=18) for i, u in enumerate(["dave", "erin"])]
    assert [o.fields["result"] for o in locked[0] if o.kind == "login_attempt"] == ["revoked"]
    (alert,) = feed([BruteForceDetector()], _flat(wrong + locked))
    assert (alert.id, alert.src_ip, alert.evidence["accounts"]) == (SPRAY, ATTACKER[0], 5)
    only_locked = [guess(100.0 + i, ATTACKER, 40000 + i, f"user{i}", code=18) for i in range(5)]
    assert [a.id for a in feed([BruteForceDetector()], _flat(only_locked))] == [SPRAY]


def _unseen(exchange: list[Observation]) -> list[Observation]:
    """An exchange whose AS request the capture missed: the KDC's answer read alone, as from a Zeek line."""
    obs = [o for o in exchange if o.kind != "as_req"]
    for o in obs:
        if o.kind == "login_attempt" and o.fields["result"] == "revoked":
            o.fields["preauth_proved"] = False  # what dissect/kerberos.login_fields says with no request
    return obs


def test_locked_accounts_whose_requests_were_not_seen_count_once_the_client_shows_pre_authentication() -> None:
    """Two 24s show the client's tool pre-authenticates; three 18s to requests not seen, before and after them, make
    five accounts. Without a 24 the 18s alone are what kerbrute userenum's bare requests get for locked accounts."""
    locked = [_unseen(guess(100.0 + i, ATTACKER, 41000 + i, u, code=18)) for i, u in enumerate(["carol", "dave"])]
    wrong = [guess(110.0 + i, ATTACKER, 40000 + i, u) for i, u in enumerate(["alice", "bob"])]
    later = [_unseen(guess(120.0, ATTACKER, 41005, "erin", code=18))]
    (alert,) = feed([BruteForceDetector()], _flat(locked + wrong + later))
    assert (alert.id, alert.src_ip, alert.evidence["accounts"]) == (SPRAY, ATTACKER[0], 5)
    enum = [_unseen(guess(100.0 + i, ATTACKER, 41000 + i, f"user{i}", code=18)) for i in range(8)]
    assert feed([BruteForceDetector()], _flat(enum)) == []
    far = [guess(1000.0 + i, ATTACKER, 40000 + i, u) for i, u in enumerate(["alice", "bob"])]
    assert feed([BruteForceDetector()], _flat(locked + later + far)) == []  # the proof past window_s of them


def test_a_locked_out_users_retries_are_no_password_guessing() -> None:
    """Four mistyped passwords lock the account (a threshold of 4), the user tries again: 24 four times, then 18."""
    tries = [guess(100.0 + 10 * i, ATTACKER, 40000 + i, "alice") for i in range(4)]
    tries += [guess(150.0 + 10 * i, ATTACKER, 41000 + i, "alice", code=18) for i in range(3)]
    assert feed([BruteForceDetector()], _flat(tries)) == []
    assert feed([BruteForceDetector()], _flat(tries[:4] + tries[4:5])) == []  # the single retry


@pytest.mark.parametrize("code", [6, 25, 37])
def test_other_errors_are_no_failed_login(code: int) -> None:
    obs = _flat([guess(100.0 + i, ATTACKER, 40000 + i, f"user{i % 2}", code=code) for i in range(10)])
    assert [o.kind for o in obs if o.kind == "login_attempt"] == []
    assert feed([BruteForceDetector()], obs) == []
