"""The risk facts in kb/data/risk load, validate and compare versions as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.risk.knowledge import default_communities, older, outdated_software, parse_version, weak_ciphers


def test_weak_ciphers_cover_each_class_with_iana_names() -> None:
    table = weak_ciphers()
    assert table[0x0005] == ("TLS_RSA_WITH_RC4_128_SHA", "rc4")
    assert table[0x000A] == ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3des")
    assert table[0x0001] == ("TLS_RSA_WITH_NULL_MD5", "null")
    assert {w for _, w in table.values()} == {"null", "export", "rc4", "des", "3des", "anon"}
    assert 0xC02F not in table  # TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256


def test_default_communities_include_public_and_private_as_text() -> None:
    communities = default_communities()
    assert {"public", "private", "0", "1234"} <= communities
    assert all(isinstance(c, str) for c in communities)


@pytest.mark.parametrize(("text", "parts"), [("7.4p1", (7, 4, 1)), ("2016.74", (2016, 74)), ("1.6.18", (1, 6, 18))])
def test_parse_version(text: str, parts: tuple[int, ...]) -> None:
    assert parse_version(text) == parts


def test_older_pads_missing_components() -> None:
    assert older((1, 4), (1, 4, 1))
    assert not older((1, 4, 0), (1, 4))
    assert older((7, 4, 1), (7, 8))
    assert not older((8, 9, 1), (7, 8))


def test_software_entries_each_have_a_reason_and_a_reference() -> None:
    sources, software = outdated_software()
    assert {s.proto for s in sources} >= {"ssh", "http", "ftp", "telnet", "ssdp"}
    names = {s.product for s in software}
    assert {"OpenSSH", "Dropbear", "BusyBox", "lighttpd", "Boa", "GoAhead"} <= names
    for sw in software:
        assert sw.reason and sw.references, sw.product


def test_bad_data_file_is_one_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: []\nsoftware:\n  - {product: X, pattern: 'no group', fixed_in: '1.0'}\n")
    with pytest.raises(ConfigError, match="X"):
        outdated_software(bad)
    bad.write_text("not: [a list\n")
    with pytest.raises(ConfigError, match="cannot read"):
        outdated_software(bad)
