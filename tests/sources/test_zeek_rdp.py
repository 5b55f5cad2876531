"""Zeek's rdp.log read as dissect/rdp.py describes packets: the same risk finding (risk.rdp.no_nla) and, with
conn.log's short connections, the same guessing and spraying alerts, in TSV and JSON; an RDP server's certificate
from ssl.log and x509.log names the computer as from packets, a web server's does not."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.services.analyze import analyze
from iotwarden.sources import zeek_join
from iotwarden.sources.zeek import read_zeek
from iotwarden.sources.zeek_rdp import map_rdp, server_certificate
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow
from iotwarden.store.schema import DeviceRow
from tests.dissect import rdpbuild as rdpb
from tests.dissect.test_rdp import _run as rdp_run
from tests.risk.harness import certificate, client_hello, server_flight
from tests.sources.zeeklog import CONN_COLUMNS, FORMATS, ID_COLUMNS, write_log

T0 = 1_700_000_000.0
ATTACKER, HMI, HISTORIAN = ("10.0.3.66", "00:1b:21:00:03:66"), ("10.0.3.10", "00:1b:21:00:03:10"), (
    "10.0.3.11", "00:1b:21:00:03:11")
# RDP::Info (base/protocols/rdp/main.zeek), in its column order
RDP_COLUMNS = [*ID_COLUMNS, ("cookie", "string"), ("result", "string"), ("security_protocol", "string"),
               ("client_channels", "vector[string]"), ("keyboard_layout", "string"), ("client_build", "string"),
               ("client_name", "string"), ("client_dig_product_id", "string"), ("desktop_width", "count"),
               ("desktop_height", "count"), ("requested_color_depth", "string"), ("cert_type", "string"),
               ("cert_count", "count"), ("cert_permanent", "bool"), ("encryption_level", "string"),
               ("encryption_method", "string")]


def _rec(**kw: object) -> dict[str, object]:
    return {"ts": T0, "uid": "Crdp1", "id.orig_h": ATTACKER[0], "id.orig_p": 50001, "id.resp_h": HMI[0],
            "id.resp_p": 3389, **kw}


def test_an_ssl_selection_is_the_clients_request_and_the_servers_confirm() -> None:
    request, confirm = map_rdp(_rec(cookie="operator", result="encrypted", security_protocol="SSL"))
    assert (request.kind, request.src_ip, request.fields) == ("connection_request", ATTACKER[0],
                                                              {"username": "operator"})
    assert (confirm.kind, confirm.src_ip, confirm.src_port) == ("connection_confirm", HMI[0], 3389)
    assert confirm.fields == {"negotiated": True, "selected_protocol": "SSL", "nla": False, "nla_required": False}
    (_, hybrid) = map_rdp(_rec(result="encrypted", security_protocol="HYBRID"))
    assert hybrid.fields == {"negotiated": True, "selected_protocol": "HYBRID", "nla": True,
                             "client_offered_nla": True}


def test_a_negotiation_failure() -> None:
    (_, failure) = map_rdp(_rec(cookie="a", result="HYBRID_REQUIRED_BY_SERVER"))
    assert (failure.kind, failure.src_ip) == ("negotiation_failure", HMI[0])
    assert failure.fields == {"failure_code": 5, "failure": "HYBRID_REQUIRED_BY_SERVER", "nla_required": True,
                              "client_offered_nla": False}


def test_standard_security_without_negotiation_core_and_security_data() -> None:
    obs = map_rdp(_rec(cookie="eng", result="Success", keyboard_layout="English - United States",
                       client_build="RDP 5.1", client_name="ENG-XP", desktop_width=1024, desktop_height=768,
                       cert_type="RSA", cert_permanent=True, encryption_level="Client compatible",
                       encryption_method="128bit"))
    by_kind = {o.kind: o for o in obs}
    assert by_kind["connection_confirm"].fields["selected_protocol"] == "RDP"
    assert by_kind["connection_confirm"].fields["negotiated"] is False
    assert by_kind["client_core"].fields == {"client_name": "ENG-XP", "client_version": "RDP 5.1",
                                             "keyboard_layout_name": "English - United States",
                                             "desktop_width": 1024, "desktop_height": 768}
    assert by_kind["server_security"].fields == {"encryption_method": "128bit",
                                                 "encryption_level": "client_compatible",
                                                 "cert_type": "proprietary", "cert_permanent": True}


def test_a_record_without_addresses_is_refused() -> None:
    with pytest.raises(ParseError):
        map_rdp({"ts": T0, "cookie": "x"})


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from([c for c, _ in RDP_COLUMNS]),
                       st.one_of(st.none(), st.text(max_size=20), st.integers(-5, 70000), st.booleans())))
def test_fuzz_any_record_maps_or_raises_parse_error(rec: dict[str, object]) -> None:
    with contextlib.suppress(ParseError):
        map_rdp({**_rec(), **rec})


def _conn(ts: float, uid: str, sport: int, server: tuple[str, str], *, duration: float, sent: int,
          received: int) -> list[str]:
    return [f"{ts:.6f}", uid, ATTACKER[0], str(sport), server[0], "3389", "tcp", "rdp,ssl", f"{duration}", str(sent),
            str(received), "SF", "ShADadFf", "12", str(sent + 600), "10", str(received + 500), ATTACKER[1], server[1]]


def _rdp(ts: float, uid: str, sport: int, server: tuple[str, str], *, cookie: str, protocol: str) -> list[str]:
    row = {"ts": f"{ts:.6f}", "uid": uid, "id.orig_h": ATTACKER[0], "id.orig_p": str(sport), "id.resp_h": server[0],
           "id.resp_p": "3389", "cookie": cookie, "result": "encrypted", "security_protocol": protocol}
    return [row.get(name, "-") for name, _ in RDP_COLUMNS]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_zeek_sensors_logs_raise_the_packet_paths_finding_and_alerts(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "zeek"
    conns, rdps = [], []
    users = ["administrator", "admin", "operator", "scada", "engineer", "user"]
    for i in range(12):  # twelve refused logons on the historian, six user names among them
        ts, uid = T0 + 5 * i, f"Cb{i}"
        conns.append(_conn(ts, uid, 51000 + i, HISTORIAN, duration=1.4, sent=2100, received=3600))
        rdps.append(_rdp(ts, uid, 51000 + i, HISTORIAN, cookie=users[i % len(users)], protocol="HYBRID"))
    # the HMI takes a TLS-only session that lasts: no NLA, and no guessing
    conns.append(_conn(T0 + 100, "Chmi", 52000, HMI, duration=1800.0, sent=300_000, received=8_000_000))
    rdps.append(_rdp(T0 + 100, "Chmi", 52000, HMI, cookie="operator", protocol="SSL"))
    write_log(folder, "conn", CONN_COLUMNS, sorted(conns), fmt)
    write_log(folder, "rdp", RDP_COLUMNS, sorted(rdps), fmt)
    with Store(f"sqlite:///{tmp_path / 'iotwarden.db'}") as store:
        report = analyze([folder], store)
        assert [f.status for f in report.files] == ["complete"]
        with store.session() as s:
            findings = {(f.check_id, f.device_key) for f in s.scalars(select(FindingRow))}
            alerts = {(a.detector_id, a.device_key) for a in s.scalars(select(AlertRow))}
    assert {k for k in findings if k[0] == "risk.rdp.no_nla"} == {("risk.rdp.no_nla", f"mac:{HMI[1]}")}
    rdp_alerts = {a for a in alerts if a[0].startswith("detect.bruteforce.rdp")}
    # one of each on the attacker: the HMI's lasting session counted for nothing
    assert rdp_alerts == {("detect.bruteforce.rdp", f"mac:{ATTACKER[1]}"),
                          ("detect.bruteforce.rdp_spray", f"mac:{ATTACKER[1]}")}


# --- ssl.log and x509.log of an RDP server: its certificate names it ------------------------------------------

# SSL::Info and X509::Info (base/protocols/ssl/main.zeek, base/files/x509/main.zeek): the columns read here
SSL_COLUMNS = [*ID_COLUMNS, ("version", "string"), ("cipher", "string"), ("server_name", "string"),
               ("established", "bool"), ("cert_chain_fps", "vector[string]")]
X509_COLUMNS = [("ts", "time"), ("fingerprint", "string"), ("certificate.version", "count"),
                ("certificate.serial", "string"), ("certificate.subject", "string"), ("certificate.issuer", "string")]
WEB = ("10.0.3.80", "00:1b:21:00:03:80")


def _packet_name(cn: str) -> tuple[Observation, bytes]:
    """dissect/rdp.py's ``server_certificate`` of a server presenting ``cn``'s self-signed certificate, and its DER."""
    der = certificate(cn, not_before=T0, days=180, self_signed=True)
    chunks = [(True, rdpb.connection_request()), (False, rdpb.connection_confirm(rdpb.PROTOCOL_HYBRID)),
              (True, client_hello([0xC02F])), (False, server_flight(0x0303, 0xC02F, [der]))]
    obs, _ = rdp_run(chunks)
    (named,) = [o for o in obs if o.kind == "server_certificate"]
    return named, der


def _tls_site(folder: Path, fmt: str, *, port: int, service: str, rdp_line: bool) -> dict[str, bytes]:
    """conn.log, ssl.log and x509.log (and rdp.log when ``rdp_line``) of an HMI's RDP server on ``port`` and an
    HTTPS server whose certificate names its web site; the DER of each certificate by server."""
    ders = {"hmi": certificate("HMI-LINE2", not_before=T0, days=180, self_signed=True),
            "web": certificate("www.example.com", not_before=T0, days=90, self_signed=False)}
    fps = {k: hashlib.sha256(v).hexdigest().upper() for k, v in ders.items()}
    ends = {"hmi": (HMI, port, "Crdp", service), "web": (WEB, 443, "Cweb", "ssl")}
    conns, ssls = [], []
    for i, (key, (server, sport, uid, svc)) in enumerate(ends.items()):
        conns.append([f"{T0 + i:.6f}", uid, ATTACKER[0], str(50000 + i), server[0], str(sport), "tcp", svc, "30.0",
                      "3000", "90000", "SF", "ShADadFf", "40", "5000", "80", "95000", ATTACKER[1], server[1]])
        ssls.append([f"{T0 + i + 0.05:.6f}", uid, ATTACKER[0], str(50000 + i), server[0], str(sport), "TLSv12",
                     "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "-", "T", fps[key]])
    write_log(folder, "conn", CONN_COLUMNS, conns, fmt)
    write_log(folder, "ssl", SSL_COLUMNS, ssls, fmt)
    write_log(folder, "x509", X509_COLUMNS, [
        [f"{T0 + 0.06:.6f}", fps["hmi"], "3", "01", "CN=HMI-LINE2", "CN=HMI-LINE2"],
        [f"{T0 + 1.06:.6f}", fps["web"], "3", "02", "CN=www.example.com", "CN=Example CA"]], fmt)
    if rdp_line:
        row = _rdp(T0 + 0.01, "Crdp", 50000, HMI, cookie="operator", protocol="HYBRID")
        row[5] = str(port)  # id.resp_p
        write_log(folder, "rdp", RDP_COLUMNS, [row], fmt)
    return ders


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("port", "service", "rdp_line"), [
    (3389, "ssl", False),  # RDP's port
    (13389, "rdp,ssl", False),  # conn.log names it
    (13389, "ssl", True),  # an rdp.log line of the same uid
])
def test_an_rdp_servers_certificate_names_it_as_from_packets(tmp_path: Path, fmt: str, port: int, service: str,
                                                             rdp_line: bool) -> None:
    packet, der = _packet_name("HMI-LINE2")
    folder = tmp_path / "zeek"
    ders = _tls_site(folder, fmt, port=port, service=service, rdp_line=rdp_line)
    assert ders["hmi"] != der  # two certificates for one name: compare all but the fingerprint
    obs = [o for batch in read_zeek(folder) for o in batch.observations]
    (named,) = [o for o in obs if o.kind == "server_certificate"]
    assert (named.proto, named.src_ip, named.src_mac, named.dst_ip) == ("rdp", HMI[0], HMI[1], ATTACKER[0])
    assert named.fields == {**packet.fields, "sha256": hashlib.sha256(ders["hmi"]).hexdigest()}
    with Store(f"sqlite:///{tmp_path / 'iotwarden.db'}") as store:
        analyze([folder], store)
        with store.session() as s:
            devices = {d.key: d for d in s.scalars(select(DeviceRow))}
    assert "HMI-LINE2" in devices[f"mac:{HMI[1]}"].hostnames  # as the packet path names it
    assert devices[f"mac:{HMI[1]}"].attributes["rdp.computer_name"] == ["HMI-LINE2"]
    web = devices[f"mac:{WEB[1]}"]
    assert "www.example.com" not in web.hostnames and "rdp.computer_name" not in web.attributes


def test_a_web_servers_certificate_on_another_port_is_no_rdp_name() -> None:
    cert = Observation(ts=T0, proto="tls", kind="certificate", src_ip=WEB[0], dst_ip=ATTACKER[0], src_port=443,
                       dst_port=50000, ip_proto=6, fields={"certs": [{"subject": "CN=www.example.com"}]})
    assert server_certificate(cert, rdp=False) is None
    assert server_certificate(cert, rdp=True) is not None  # conn.log or rdp.log said RDP
    assert server_certificate(Observation(ts=T0, proto="tls", kind="certificate", fields={}), rdp=True) is None


def test_rdp_connections_remembered_are_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    """rdp.log uids are remembered up to MAX_TRACKED_UIDS: past it the oldest connection's chain names nobody."""
    monkeypatch.setattr(zeek_join, "MAX_TRACKED_UIDS", 2)
    joiner = zeek_join.Joiner()
    for i in range(3):
        joiner.map("rdp", _rec(uid=f"Cr{i}", **{"id.resp_p": 13389}))
    x509 = {"ts": T0, "fingerprint": "AB" * 32, "certificate.subject": "CN=HMI-LINE2"}
    joiner.map("x509", x509)  # logged before (Zeek logs a certificate once a day): each chain completes at once
    named = []
    for i in range(3):
        ssl = {**_rec(uid=f"Cr{i}", **{"id.resp_p": 13389}), "version": "TLSv12", "cert_chain_fps": ["AB" * 32]}
        named.append([o.fields["computer_name"] for o in joiner.map("ssl", ssl)[0] if o.kind == "server_certificate"])
    assert named == [[], ["HMI-LINE2"], ["HMI-LINE2"]]
