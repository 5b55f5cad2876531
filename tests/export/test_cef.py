"""CEF lines: header and extension escaping (CEF rev. 25) and the fields a SIEM maps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.export.cef import CEF_SEVERITY, parse_cef, to_cef
from iotwarden.model.alert import Alert
from tests.export.alerts import sample_alerts


def test_cef_header_names_the_detector_and_its_severity() -> None:
    scan = sample_alerts()[0]
    header, ext = parse_cef(to_cef(scan))
    assert header[:3] == ["CEF:0", "iotwarden", "iotwarden"]
    assert header[4:] == ["detect.scan.telnet_mirai", scan.title, "8"]
    assert ext["src"] == "10.10.20.102" and ext["cnt"] == "3"
    assert ext["cs1"] == "T1046,T1110" and ext["cs1Label"] == "mitreTechniques"
    assert ext["rt"] == str(int(scan.last_seen * 1000)) and ext["externalId"] == scan.uid


def test_pipes_equals_backslashes_and_newlines_are_escaped() -> None:
    odd = sample_alerts()[1]
    line = to_cef(odd)
    assert "\n" not in line
    assert "odd \\| title = with\\\\specials and a newline" in line  # header: pipe and backslash escaped
    assert "msg=odd | title \\= with\\\\specials\\nand a newline" in line  # extension: = \ and newline
    header, ext = parse_cef(line)
    assert header[5] == "odd | title = with\\specials and a newline"
    assert ext["msg"] == odd.title and ext["dst"] == "2001:db8::53"


def test_every_severity_maps_into_ceFs_0_to_10_scale() -> None:
    assert all(0 <= v <= 10 for v in CEF_SEVERITY.values())
    assert CEF_SEVERITY["critical"] == 10


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=80), st.text(alphabet=st.characters(blacklist_characters="\r"), max_size=40))
def test_any_title_and_key_round_trip(title: str, key: str) -> None:
    alert = Alert(id="detect.c2.beaconing", title=title, severity="low", subject="ip:10.0.0.1", key=key,
                  first_seen=1.0, last_seen=2.0)
    header, ext = parse_cef(to_cef(alert))
    assert len(header) == 7
    assert "\n" not in to_cef(alert) and "\r" not in to_cef(alert)
    assert ext["cs3"] == key
    assert header[5] == title.replace("\r", " ").replace("\n", " ")
