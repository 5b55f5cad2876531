"""A scenario text checked against a form (a DNS name, an OID, a KNX serial, a MAC address) is that form whole: a
trailing newline, what a YAML block scalar (``host: |``) leaves, is refused naming the key, not taken because the
pattern's ``$`` matches before a final newline (review of 69ea9ca and aad82cb). Taken, it reached the wire (a DNS
query name, a TLS server name and certificate, a MAC address the truth file names otherwise than the frames)."""

from __future__ import annotations

import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.params import Param, check_params
from tests.lab.test_scenario import _mutate, _parse


@pytest.mark.parametrize(("form", "value", "message"), [
    ("dns", "cam.example\n", "not a DNS name"), ("dns", "cam\n.example", "not a DNS name"),
    ("oid", "1.3.6.1.4.1.9\n", "not an object identifier"), ("hex48", "00c5010a0752\n", "not 12 hexadecimal"),
])
def test_a_text_ending_in_a_newline_is_not_its_form(form: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_params({"x": Param("str", form=form)}, {"x": value}, "p", set())
    assert check_params({"x": Param("str", form=form)}, {"x": value.replace("\n", "")}, "p", set())


@pytest.mark.parametrize("path", [["devices", 1, "mac"], ["network", "router_mac"]])
def test_a_mac_address_ending_in_a_newline_is_refused(path: list[object]) -> None:
    with pytest.raises(ConfigError, match=r"not a MAC address"):
        _parse(_mutate(path, "98:e7:43:10:00:01\n"))
    _parse(_mutate(path, "98:e7:43:10:00:01"))
