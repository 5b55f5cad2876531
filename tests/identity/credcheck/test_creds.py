"""The shipped default-credential base: Mirai's pairs, the MIT-licensed vendor rows, its licence file."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from iotwarden.errors import ConfigError
from iotwarden.identity.credcheck import creds
from tests.conftest import shared


def test_every_mirai_pair_decoded_from_the_published_source_is_shipped() -> None:
    path = shared("creds", "mirai_scanner_credentials.csv")
    expected = {(r["username"], r["password"]) for r in csv.DictReader(path.open())
                if r["comment_matches_decoded"] == "True"}
    shipped = {(c.username, c.password) for c in creds.load_default() if c.source == "mirai"}
    assert expected <= shipped


def test_the_base_has_vendor_rows_per_service_and_its_licence_beside_it() -> None:
    base = creds.load_default()
    assert {c.source for c in base} == {"mirai", "defaultcreds-cheat-sheet"}
    assert any(c.vendor.lower().startswith("hikvision") and "ssh" in c.services for c in base)
    telnet = creds.for_service(base, "telnet")
    assert telnet[0].source == "mirai"  # what botnets try first is tried first
    assert len({(c.username, c.password) for c in telnet}) == len(telnet)
    data = resources.files("iotwarden.identity.credcheck").joinpath("data")
    assert "MIT License" in data.joinpath("DefaultCreds.LICENSE").read_text()


def test_parse_refuses_missing_columns_and_skips_bad_rows() -> None:
    with pytest.raises(ConfigError, match="columns"):
        creds.parse("user,pass\na,b\n")
    rows = creds.parse("source,vendor,username,password,services\nt,,,x,*\nt,,u," + "p" * 200 + ",*\nt,,ok,ok,\n")
    assert [(c.username, c.password, c.services) for c in rows] == [("ok", "ok", frozenset({"*"}))]
