"""FoxIO ja4plus-mapping.csv (FoxIO License: read in place, never shipped) -> tls.ja4 rules."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.errors import ParseError
from iotwarden.kb.importers import ja4
from tests.conftest import shared


def test_mapping_csv(validate: Any) -> None:
    text = shared("fingerprints", "ja4", "ja4plus-mapping.csv").read_text(encoding="utf-8")
    result = ja4.convert(text)
    rules = validate(result)
    data_rows = len(text.strip().splitlines()) - 1
    assert len(rules) + sum(result.skipped.values()) == data_rows
    assert result.skipped["application/library only"] > 0  # a browser name says nothing of the device
    assert all(r.attribute == "tls.ja4" for r in rules)


def test_rows() -> None:
    text = ("Application,Library,Device,OS,ja4,ja4s,ja4h,ja4x,ja4t,ja4tscan,Notes\n"
            ",,IP Camera,,t13d1516h2_8daaf6152771_02713d6af862,,,,,,\n"
            ",,,Windows,t13d1516h2_8daaf6152771_e5627efa2ab1,,,,,,\n"
            "Chrome,,,,t13d1516h2_8daaf6152771_b1ff8ab2d16f,,,,,,\n"
            ",,,Linux,not-a-ja4,,,,,,\n")
    result = ja4.convert(text)
    assert [r["conclusions"] for r in result.rules] == [{"device_type": "camera"}, {"os": "Windows"}]
    assert result.skipped == {"application/library only": 1, "malformed JA4": 1}


def test_not_a_mapping() -> None:
    with pytest.raises(ParseError, match="no 'ja4' column"):
        ja4.convert("a,b\n1,2\n")
