"""Credential primitives: argon2id hashes, secrets stored as digests, password rules, the login throttle."""

from __future__ import annotations

from iotwarden.api import security as sec


def test_passwords_are_argon2id_salted_and_verified() -> None:
    first, second = sec.hash_password("correct horse battery"), sec.hash_password("correct horse battery")
    assert first.startswith("$argon2id$") and first != second  # RFC 9106: a fresh salt each time
    assert sec.verify_password(first, "correct horse battery")
    assert not sec.verify_password(first, "correct horse batterY")
    assert not sec.verify_password("not a hash", "anything")  # a damaged hash is a refusal, not a crash
    assert not sec.verify_password(first, "x" * (sec.MAX_PASSWORD_LEN + 1))


def test_password_rules() -> None:
    assert sec.password_problem("short") is not None
    assert sec.password_problem(" padded-password ") is not None
    assert sec.password_problem("a long enough passphrase") is None


def test_tokens_are_random_and_stored_only_as_sha256() -> None:
    token = sec.new_token()
    assert token.startswith(sec.TOKEN_PREFIX) and len(token) > 40 and token != sec.new_token()
    assert len(sec.digest(token)) == 64 and sec.digest(token) != token
    assert sec.same(sec.digest(token), sec.digest(token))


def test_the_throttle_locks_a_pair_after_repeated_failures_then_forgives() -> None:
    throttle = sec.LoginThrottle(max_failures=3, window_s=60, lockout_s=300)
    for t in (0.0, 1.0):
        throttle.failed("Admin", "10.0.0.1", now=t)
    assert throttle.retry_after("admin", "10.0.0.1", now=2.0) == 0  # names are case-insensitive
    throttle.failed("admin", "10.0.0.1", now=2.0)
    assert throttle.retry_after("admin", "10.0.0.1", now=3.0) == 299.0
    assert throttle.retry_after("admin", "10.0.0.2", now=3.0) == 0  # another address is not locked
    assert throttle.retry_after("admin", "10.0.0.1", now=303.0) == 0


def test_failures_outside_the_window_do_not_add_up() -> None:
    throttle = sec.LoginThrottle(max_failures=3, window_s=60, lockout_s=300)
    for t in (0.0, 100.0, 200.0, 300.0):
        throttle.failed("bob", "10.0.0.1", now=t)
    assert throttle.retry_after("bob", "10.0.0.1", now=301.0) == 0


def test_the_throttle_table_is_bounded() -> None:
    throttle = sec.LoginThrottle(max_tracked=100)
    for i in range(1000):
        throttle.failed(f"user{i}", "10.0.0.1", now=0.0)
    assert len(throttle) == 100
    assert throttle.evicted == 900
