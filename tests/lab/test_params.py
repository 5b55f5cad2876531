"""Parameter checking: defaults filled, unknown/missing/mistyped values refused with their path."""

from __future__ import annotations

import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.params import MAX_ACCOUNT_BYTES, MAX_PORT, Param, check_params

SPEC = {"every": Param("float", 60.0, minimum=0.5), "client": Param("device"),
        "names": Param("list", [], items="str"), "hops": Param("list", [], items="ip")}


def test_defaults_are_filled_and_ints_accepted_as_floats() -> None:
    assert check_params(SPEC, {"client": "ws-01", "every": 5}, "p", {"ws-01"}) == {
        "every": 5, "client": "ws-01", "names": [], "hops": []}


@pytest.mark.parametrize(("values", "message"), [
    ({"client": "ws-01", "evry": 5}, r"p\.evry: unknown parameter"),
    ({}, r"p\.client: required parameter missing"),
    ({"client": "nope"}, r"p\.client: no device with id 'nope'"),
    ({"client": "ws-01", "every": "5"}, r"p\.every: expected float"),
    ({"client": "ws-01", "every": True}, r"p\.every: expected float"),
    ({"client": "ws-01", "every": -1}, r"p\.every: must be a finite number >= 0.5, got -1"),
    ({"client": "ws-01", "every": float("nan")}, r"p\.every: must be a finite number"),
    # found by fuzzing: 'attempts: 2**63' generated for ever, 'start: 1.0e+308' made an infinite packet time
    ({"client": "ws-01", "every": 2**63}, r"p\.every: must be at most 604800, got 9223372036854775808"),
    ({"client": "ws-01", "every": 1e308}, r"p\.every: must be at most 604800, got 1e\+308"),
    ({"client": "ws-01", "names": ["a", 3]}, r"p\.names\[1\]: expected a non-empty string, got 3"),
    ({"client": "ws-01", "hops": ["10.0.0.300"]}, r"p\.hops\[0\]: not an IPv4 address"),
])
def test_bad_values_name_their_path(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_params(SPEC, values, "p", {"ws-01"})


def test_an_account_name_is_at_most_max_account_bytes() -> None:
    # found by fuzzing: an RDP attempt carries the name in its X.224 request's one-byte-long mstshash cookie, and a
    # 3000-character name was an internal error (ValueError: bytes must be in range(0, 256))
    spec = {"users": Param("list", [], items="account")}
    assert check_params(spec, {"users": ["a" * MAX_ACCOUNT_BYTES]}, "p", set()) == {"users": ["a" * MAX_ACCOUNT_BYTES]}
    with pytest.raises(ConfigError, match=r"p\.users\[1\]: an account name of at most 64 bytes, got 65"):
        check_params(spec, {"users": ["admin", "é" * 32 + "a"]}, "p", set())


@pytest.mark.parametrize(("param", "value", "message"), [
    # found by fuzzing 'lab generate' (each was an internal error where the text met its wire field)
    (Param("str"), "v" * 201, r"p\.x: at most 200 bytes, got 201"),  # a Modbus or BACnet one-byte-length string
    (Param("str", max_bytes=64), "Amazon" * 11, r"p\.x: at most 64 bytes, got 66"),  # X.509 ub-organization-name
    (Param("str", form="dns"), "a" * 64 + ".example.com", r"p\.x: not a DNS name"),  # a label past 63
    (Param("str", form="dns"), "bad..name", r"p\.x: not a DNS name"),
    (Param("str", form="oid"), "1.3.6.1.4.1.9.1.1861x", r"p\.x: not an object identifier"),
    (Param("int", 80, maximum=MAX_PORT), 70_000, r"p\.x: must be at most 65535, got 70000"),
    (Param("str", form="hex48"), "00c5010a0752xx", r"p\.x: not 12 hexadecimal digits"),  # a KNX serial number
])
def test_texts_and_ports_fit_the_fields_they_go_into(param: Param, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_params({"x": param}, {"x": value}, "p", set())


@pytest.mark.parametrize(("param", "value"), [(Param("str", form="dns"), "time.windows.com."),
                                              (Param("str", form="dns"), "_ipp._tcp.local"),
                                              (Param("str", form="oid"), "1.3.6.1.4.1.9.1.1861"),
                                              (Param("str", form="hex48"), "00C5010a0752"),
                                              (Param("str"), "é" * 100), (Param("str", form="dns"), "")])
def test_well_formed_texts_are_taken(param: Param, value: str) -> None:
    assert check_params({"x": param}, {"x": value}, "p", set()) == {"x": value}
