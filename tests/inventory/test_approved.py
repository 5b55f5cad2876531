"""The approved-inventory CSV (docs/approved-inventory.md), matching devices against it, and the
``inventory.shadow_device`` finding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ConfigError
from iotwarden.inventory import approved as ap
from iotwarden.model import Device
from iotwarden.model.device import Conclusion

HEADER = "mac,ip,hostname,vendor,model,device_type,owner,location,notes\n"


def device(key: str = "mac:ac:cc:8e:4a:10:01", *, ips: set[str] | None = None, names: set[str] | None = None,
           category: str | None = None, interfaces: set[str] | None = None) -> Device:
    dev = Device(key=key, first_seen=10.0, last_seen=20.0, mac=key[4:] if key.startswith("mac:") else None,
                 ips=ips or set(), hostnames=names or set())
    if category:
        dev.classification["category"] = Conclusion(category, 0.9)
    if interfaces:
        dev.attributes["link.mac"] = interfaces
    return dev


def test_the_documented_example_parses_and_normalises() -> None:
    text = HEADER + (
        "AC-CC-8E-4A-10-01,,Axis-Cam.,Axis,M3045-V,ip camera,Facilities,Lobby,\n"
        ",10.20.0.7/24,,,,,OT team,Line 1,every PLC of line 1\n"
        "\n"
        "040e.3c5b.7701,10.10.0.31,NPI5B7701,HP,LaserJet Pro M404dn,printer,IT,2nd floor,\n"
    )
    cam, line1, printer = ap.parse_csv(text)
    assert (cam.mac, cam.hostname, cam.device_type, cam.owner) == ("ac:cc:8e:4a:10:01", "axis-cam", "camera",
                                                                   "Facilities")
    assert (line1.mac, line1.ip, line1.notes) == (None, "10.20.0.0/24", "every PLC of line 1")
    assert (printer.mac, printer.ip) == ("04:0e:3c:5b:77:01", "10.10.0.31")


def test_columns_may_come_in_any_order_and_be_left_out() -> None:
    (entry,) = ap.parse_csv("\ufeffhostname,owner\nnas01,IT\n")
    assert (entry.hostname, entry.owner, entry.mac) == ("nas01", "IT", None)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty file"),
    ("mac_address,owner\n00:11:22:33:44:55,IT\n", "line 1: unknown column(s) mac_address"),
    ("owner,location\nIT,HQ\n", "line 1: needs at least one of the columns mac, ip, hostname"),
    (HEADER + "00:11:22:33:44:55,,,,,,,,\n,,,Axis,,,IT,,\n", "line 3: needs at least one of mac, ip, hostname"),
    (HEADER + "00:11:22:33:44,,,,,,,,\n", "line 2: mac '00:11:22:33:44' is not a MAC address"),
    (HEADER + ",10.0.0.300,,,,,,,\n", "line 2: ip '10.0.0.300' is not an IP address or network"),
    (HEADER + ",,cam,,,toaster,,,\n", "line 2: device_type 'toaster' is not in the taxonomy"),
    ("mac,ip\n00:11:22:33:44:55,10.0.0.1,extra\n", "line 2: 3 fields, the header has 2"),
    ("hostname,notes\ncam," + "x" * 2001 + "\n", "line 2: notes longer than 2000 characters"),
])
def test_a_bad_row_is_named_by_its_line_and_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ap.parse_csv(text)


def test_rows_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ap, "MAX_ROWS", 2)
    with pytest.raises(ConfigError, match="line 4: more than 2 rows"):
        ap.parse_csv("hostname\na\nb\nc\n")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("mac,iphostnd:0123456789abcdef.\n\"/- \ufeff")), max_size=200))
def test_any_text_is_rows_or_one_config_error(text: str) -> None:
    try:
        rows = ap.parse_csv(text)
    except ConfigError as exc:
        assert "approved inventory" in str(exc)
    else:
        assert all(any((r.mac, r.ip, r.hostname)) for r in rows)


def test_a_device_is_approved_by_any_of_its_macs_addresses_or_names() -> None:
    approved = ap.parse_csv(HEADER + "da:a1:19:00:00:02,,,,,,,,\n,10.20.0.0/24,,,,,,,\n,,axis-cam,,,,,,\n")
    phone = device("mac:da:a1:19:00:00:01", interfaces={"da:a1:19:00:00:01", "da:a1:19:00:00:02"})
    plc = device("mac:00:11:00:4d:21:01", ips={"10.20.0.9"})
    cam = device("mac:ac:cc:8e:4a:10:09", names={"AXIS-CAM.local"})
    stranger = device("mac:24:6f:28:90:55:01", ips={"10.30.0.4"}, names={"espressif"})
    assert ap.approved_entry(phone, approved) == approved[0]
    assert ap.approved_entry(plc, approved) == approved[1]
    assert ap.approved_entry(cam, approved) == approved[2]
    assert ap.approved_entry(stranger, approved) is None


def test_unapproved_devices_get_a_shadow_finding_higher_for_ot_and_medical() -> None:
    approved = ap.parse_csv("mac\nac:cc:8e:4a:10:01\n")
    known = device()
    plug = device("mac:24:6f:28:90:55:01", ips={"10.30.0.4"}, category="iot")
    pump = device("mac:58:46:e1:50:00:03", category="medical")
    plc = device("mac:00:11:00:4d:21:01", category="ot")
    findings = {f.subject: f for f in ap.shadow_findings([known, plug, pump, plc], approved)}
    assert set(findings) == {plug.key, pump.key, plc.key}
    assert [findings[k].severity for k in (plug.key, pump.key, plc.key)] == ["medium", "high", "high"]
    f = findings[plug.key]
    assert f.id == "inventory.shadow_device"
    assert f.evidence == {"mac": "24:6f:28:90:55:01", "ips": ["10.30.0.4"], "category": "iot"}
    assert (f.first_seen, f.last_seen) == (10.0, 20.0)
    assert any("NISTIR 8259A" in r for r in f.references)
    assert f.remediation
