"""Zeek's snmp.log, ftp.log, sip.log and ntlm.log read as the SNMP, FTP, SIP and SMB dissectors describe packets:
the same inventory facts, classification and risk findings from a Zeek sensor's logs, in TSV and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ParseError
from iotwarden.sources.zeek import read_zeek, sniff_zeek
from iotwarden.sources.zeek_app import FtpLogins, map_ntlm, map_sip, map_snmp
from tests.sources.zeeklog import (
    CONN_COLUMNS,
    FORMATS,
    ID_COLUMNS,
    analysed,
    assert_maps_or_parse_error,
    conn_row,
    write_log,
)

T0 = 1_700_000_000.0
NMS, PRINTER, SWITCH = ("10.0.0.5", "00:50:56:00:00:05"), ("10.0.0.40", "3c:d9:2b:00:00:40"), ("10.0.0.2", "")
CLIENT, NAS = ("10.0.0.77", "00:1b:21:00:00:77"), ("10.0.0.50", "00:11:32:00:00:50")
PHONE, PBX = ("10.0.1.31", "80:5e:c0:00:00:31"), ("10.0.1.1", "00:0c:29:00:01:01")
DESKTOP, FILER = ("10.0.2.15", "00:1b:21:00:02:15"), ("10.0.2.5", "00:1b:21:00:02:05")
JETDIRECT = "HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153,EEPROM JSI23900012,CIDATE 06/17/2019"
YEALINK = "Yealink SIP-T46S 66.86.0.15"

# SNMP::Info (base/protocols/snmp/main.zeek), in its column order
SNMP_COLUMNS = [*ID_COLUMNS, ("duration", "interval"), ("version", "string"), ("community", "string"),
                ("get_requests", "count"), ("get_bulk_requests", "count"), ("get_responses", "count"),
                ("set_requests", "count"), ("display_string", "string"), ("up_since", "time")]
# FTP::Info (base/protocols/ftp/info.zeek)
FTP_COLUMNS = [*ID_COLUMNS, ("user", "string"), ("password", "string"), ("command", "string"), ("arg", "string"),
               ("mime_type", "string"), ("file_size", "count"), ("reply_code", "count"), ("reply_msg", "string"),
               ("data_channel.passive", "bool"), ("data_channel.orig_h", "addr"), ("data_channel.resp_h", "addr"),
               ("data_channel.resp_p", "port"), ("fuid", "string")]
# SIP::Info (base/protocols/sip/main.zeek)
SIP_COLUMNS = [*ID_COLUMNS, ("trans_depth", "count"), ("method", "string"), ("uri", "string"), ("date", "string"),
               ("request_from", "string"), ("request_to", "string"), ("response_from", "string"),
               ("response_to", "string"), ("reply_to", "string"), ("call_id", "string"), ("seq", "string"),
               ("subject", "string"), ("request_path", "vector[string]"), ("response_path", "vector[string]"),
               ("user_agent", "string"), ("status_code", "count"), ("status_msg", "string"), ("warning", "string"),
               ("request_body_len", "count"), ("response_body_len", "count"), ("content_type", "string")]

# NTLM::Info (base/protocols/ntlm/main.zeek)
NTLM_COLUMNS = [*ID_COLUMNS, ("username", "string"), ("hostname", "string"), ("domainname", "string"),
                ("server_nb_computer_name", "string"), ("server_dns_computer_name", "string"),
                ("server_tree_name", "string"), ("success", "bool")]


def _rec(**kw: object) -> dict[str, object]:
    return {"ts": T0, "uid": "Csnmp1", "id.orig_h": NMS[0], "id.orig_p": 50123, "id.resp_h": PRINTER[0],
            "id.resp_p": 161, **kw}


# --- snmp.log -------------------------------------------------------------------------------------

def test_an_snmp_session_is_the_managers_requests_and_the_agents_response() -> None:
    get, response = map_snmp(_rec(version="2c", community="public", get_requests=3, get_responses=3,
                                  display_string=JETDIRECT))
    assert (get.kind, get.src_ip, get.dst_ip, get.dst_port, get.ip_proto) == ("get", NMS[0], PRINTER[0], 161, 17)
    assert get.fields == {"version": "2c", "community": "public", "pdu_type": "get"}
    assert (response.kind, response.src_ip, response.dst_ip) == ("response", PRINTER[0], NMS[0])
    assert response.fields == {"version": "2c", "community": "public", "pdu_type": "response",
                               "sys_descr": JETDIRECT}
    kinds = [o.kind for o in map_snmp(_rec(version="1", community="private", set_requests=1, get_bulk_requests=2))]
    assert kinds == ["getbulk", "set"]


def test_an_snmp_session_zeek_counted_nothing_of_is_a_trap_to_162_and_otherwise_unknown() -> None:
    (trap,) = map_snmp(_rec(**{"id.orig_h": SWITCH[0], "id.resp_h": NMS[0], "id.resp_p": 162}, version="2c",
                            community="public"))
    assert (trap.kind, trap.src_ip, trap.fields["community"]) == ("trap", SWITCH[0], "public")
    assert map_snmp(_rec(version="3")) == []  # an encrypted v3 exchange says nothing more
    assert "version" not in map_snmp(_rec(version="unknown", get_requests=1))[0].fields
    with pytest.raises(ParseError):
        map_snmp({"ts": T0, "version": "2c"})


# --- ftp.log --------------------------------------------------------------------------------------

def _ftp(**kw: object) -> dict[str, Any]:
    return {"ts": T0, "uid": "Cftp1", "id.orig_h": CLIENT[0], "id.orig_p": 40001, "id.resp_h": NAS[0],
            "id.resp_p": 21, "user": "admin", "password": "<hidden>", "command": "RETR", "reply_code": 150, **kw}


def test_an_ftp_session_is_one_login_attempt_on_the_server_with_the_password_only_when_zeek_kept_it() -> None:
    logins = FtpLogins()
    (obs,) = logins.map(_ftp())
    assert (obs.proto, obs.kind, obs.subject, obs.src_ip, obs.dst_ip, obs.dst_port) == (
        "ftp", "login_attempt", "dst", CLIENT[0], NAS[0], 21)
    assert obs.fields == {"username": "admin", "result": "success", "code": 150}  # "<hidden>" is no password
    assert logins.map(_ftp(command="STOR", reply_code=226)) == []  # the same session's next command
    (captured,) = logins.map(_ftp(uid="Cftp2", password="admin", command="PASV", reply_code=227))
    assert captured.fields["password"] == "admin"
    (refused,) = logins.map(_ftp(uid="Cftp3", command="PASV", reply_code=530))
    assert refused.fields["result"] == "failure"
    (silent,) = logins.map(_ftp(uid="Cftp4", reply_code=None))
    assert silent.fields["result"] == "unknown"
    assert logins.map(_ftp(uid="Cftp5", user="<unknown>")) == []  # no USER seen: no login to speak of


def test_ftp_sessions_remembered_are_bounded() -> None:
    logins = FtpLogins(limit=2)
    for uid in ("C1", "C2", "C3"):
        assert len(logins.map(_ftp(uid=uid))) == 1
    assert logins.map(_ftp(uid="C3")) == []
    assert len(logins.map(_ftp(uid="C1"))) == 1  # forgotten, the oldest: reported again


# --- sip.log --------------------------------------------------------------------------------------

def _sip(**kw: object) -> dict[str, Any]:
    return {"ts": T0, "uid": "Csip1", "id.orig_h": PHONE[0], "id.orig_p": 5060, "id.resp_h": PBX[0],
            "id.resp_p": 5060, "trans_depth": 0, "method": "REGISTER", "uri": "sip:10.0.1.1:5060",
            "request_from": '"Desk 31" <sip:231@10.0.1.1:5060>', "request_to": '"Desk 31" <sip:231@10.0.1.1:5060>',
            "response_from": '"Desk 31" <sip:231@10.0.1.1:5060>', "response_to": "<sip:231@10.0.1.1:5060>;tag=as1",
            "call_id": "0_2846121826@10.0.1.31", "seq": "1 REGISTER",
            "request_path": ["SIP/2.0/UDP 10.0.1.31:5060"], "response_path": ["SIP/2.0/UDP 10.0.1.31:5060"],
            "user_agent": YEALINK, "status_code": 401, "status_msg": "Unauthorized", **kw}


def test_a_sip_line_is_the_phones_request_and_the_servers_response() -> None:
    request, response = map_sip(_sip())
    assert (request.proto, request.kind, request.src_ip, request.dst_ip) == ("sip", "request", PHONE[0], PBX[0])
    assert request.fields["sender"] == {"user_agent": YEALINK, "server": None}  # dissect/sip.py's shape
    assert {k: request.fields[k] for k in ("method", "uri", "from", "to", "cseq", "cseq_method", "via_hops",
                                           "via_transport", "via_sent_by", "transport")} == {
        "method": "REGISTER", "uri": "sip:10.0.1.1:5060", "from": "231@10.0.1.1", "to": "231@10.0.1.1", "cseq": 1,
        "cseq_method": "REGISTER", "via_hops": 1, "via_transport": "UDP", "via_sent_by": "10.0.1.31:5060",
        "transport": "udp"}
    assert request.fields["call_id"] != "0_2846121826@10.0.1.31"  # a digest, as the dissector keeps it
    assert (response.kind, response.src_ip, response.fields["status"], response.fields["reason"]) == (
        "response", PBX[0], 401, "Unauthorized")
    assert "sender" not in response.fields  # Zeek logs no Server header


def test_a_sip_request_a_proxy_forwarded_speaks_for_no_sender() -> None:
    (request,) = map_sip(_sip(request_path=["SIP/2.0/UDP 10.0.1.1:5060", "SIP/2.0/UDP 10.0.1.31:5060"],
                              status_code=None))
    assert (request.fields["user_agent"], request.fields["via_hops"], "sender" in request.fields) == (
        YEALINK, 2, False)


# --- ntlm.log -------------------------------------------------------------------------------------

def _ntlm(**kw: object) -> dict[str, Any]:
    return {"ts": T0, "uid": "Csmb1", "id.orig_h": DESKTOP[0], "id.orig_p": 49720, "id.resp_h": FILER[0],
            "id.resp_p": 445, "username": "jdoe", "hostname": "DESKTOP-7F3K2", "domainname": "CORP",
            "server_nb_computer_name": "FILESRV01", "server_dns_computer_name": "filesrv01.corp.example",
            "server_tree_name": "corp.example", "success": True, **kw}


def test_an_ntlm_exchange_over_smb_is_what_each_end_says_in_session_setup() -> None:
    request, response = map_ntlm(_ntlm())
    assert (request.proto, request.kind, request.src_ip) == ("smb", "session_setup_request", DESKTOP[0])
    assert request.fields == {"auth_mech": "ntlmssp", "ntlm_message": "authenticate", "workstation": "DESKTOP-7F3K2",
                              "domain": "CORP", "user_present": True}  # the user name itself is never kept
    assert (response.kind, response.src_ip) == ("session_setup_response", FILER[0])
    assert response.fields == {"auth_mech": "ntlmssp", "ntlm_message": "challenge", "nb_computer": "FILESRV01",
                               "dns_computer": "filesrv01.corp.example", "dns_tree": "corp.example"}
    assert map_ntlm(_ntlm(**{"id.resp_p": 80})) == []  # NTLM over HTTP: no dissector of ours describes it
    (only,) = map_ntlm(_ntlm(username=None, hostname=None, domainname=None))
    assert only.kind == "session_setup_response"


# --- a Zeek sensor's logs, analysed -----------------------------------------------------------------

def _site(folder: Path, fmt: str) -> Path:
    """conn.log, snmp.log, ftp.log, sip.log and ntlm.log of a small office, as Zeek writes them."""
    conn = [conn_row(T0, "Csnmp1", (NMS[0], 50123, NMS[1]), (PRINTER[0], 161, PRINTER[1]),
                     proto="udp", service="snmp"),
            conn_row(T0 + 60, "Cftp1", (CLIENT[0], 40001, CLIENT[1]), (NAS[0], 21, NAS[1]),
                     proto="tcp", service="ftp"),
            conn_row(T0 + 90, "Cftp2", (NMS[0], 40002, NMS[1]), (NAS[0], 21, NAS[1]),
                     proto="tcp", service="ftp"),
            conn_row(T0 + 120, "Csip1", (PHONE[0], 5060, PHONE[1]), (PBX[0], 5060, PBX[1]),
                     proto="udp", service="sip"),
            conn_row(T0 + 150, "Csmb1", (DESKTOP[0], 49720, DESKTOP[1]), (FILER[0], 445, FILER[1]),
                     proto="tcp", service="smb,gssapi,ntlm")]
    write_log(folder, "conn", CONN_COLUMNS, conn, fmt)
    write_log(folder, "snmp", SNMP_COLUMNS, [[f"{T0 + 0.01:.6f}", "Csnmp1", NMS[0], "50123", PRINTER[0], "161",
                                              "0.05", "2c", "public", "3", "0", "3", "0", JETDIRECT, "-"]], fmt)
    ftp_id = [f"{T0 + 61:.6f}", "Cftp1", CLIENT[0], "40001", NAS[0], "21"]
    ftp_cap = [f"{T0 + 91:.6f}", "Cftp2", NMS[0], "40002", NAS[0], "21"]
    write_log(folder, "ftp", FTP_COLUMNS, [
        [*ftp_id, "backup", "<hidden>", "EPSV", "-", "-", "-", "229", "Entering Extended Passive Mode (|||50010|)",
         "T", CLIENT[0], NAS[0], "50010", "-"],
        [*ftp_id, "backup", "<hidden>", "RETR", "ftp://10.0.0.50/./nightly.tar", "-", "1024", "226",
         "Transfer complete.", "-", "-", "-", "-", "FkJ1"],
        [*ftp_cap, "admin", "admin", "PASV", "-", "-", "-", "227", "Entering Passive Mode (10,0,0,50,195,81).",
         "T", NMS[0], NAS[0], "50001", "-"]], fmt)
    sip = _sip()
    write_log(folder, "sip", SIP_COLUMNS, [[
        f"{T0 + 120:.6f}", "Csip1", PHONE[0], "5060", PBX[0], "5060", "0", "REGISTER", sip["uri"], "-",
        sip["request_from"], sip["request_to"], sip["response_from"], sip["response_to"], "-", sip["call_id"],
        sip["seq"], "-", "SIP/2.0/UDP 10.0.1.31:5060", "SIP/2.0/UDP 10.0.1.31:5060", YEALINK, "200", "OK", "-",
        "0", "0", "-"]], fmt)
    write_log(folder, "ntlm", NTLM_COLUMNS, [[f"{T0 + 150.2:.6f}", "Csmb1", DESKTOP[0], "49720", FILER[0], "445",
                                              "jdoe", "DESKTOP-7F3K2", "CORP", "FILESRV01", "filesrv01.corp.example",
                                              "corp.example", "T"]], fmt)
    return folder


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_logs_are_sniffed_and_read_with_conn_logs_macs(tmp_path: Path, fmt: str) -> None:
    folder = _site(tmp_path / "zeek", fmt)
    assert [sniff_zeek(folder / f"{n}.log") for n in ("snmp", "ftp", "sip", "ntlm")] == ["snmp", "ftp", "sip", "ntlm"]
    obs = [o for b in read_zeek(folder) for o in b.observations]
    assert sorted((o.proto, o.kind) for o in obs) == [
        ("ftp", "login_attempt"), ("ftp", "login_attempt"), ("sip", "request"), ("sip", "response"),
        ("smb", "session_setup_request"), ("smb", "session_setup_response"), ("snmp", "get"), ("snmp", "response")]
    response = next(o for o in obs if o.kind == "response" and o.proto == "snmp")
    assert (response.src_mac, response.dst_mac) == (PRINTER[1], NMS[1])


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_zeek_sensors_logs_classify_devices_and_raise_the_packet_paths_findings(tmp_path: Path, fmt: str) -> None:
    stored = analysed(_site(tmp_path / "zeek", fmt), tmp_path / "iotwarden.db")
    devices = stored.devices
    findings = {(f.check_id, f.device_key): f for f in stored.findings}
    printer, nas, phone, desktop, filer = (devices[f"mac:{m[1]}"] for m in (PRINTER, NAS, PHONE, DESKTOP, FILER))
    assert (printer.vendor, printer.device_type) == ("HP", "printer")  # sysDescr from display_string
    assert JETDIRECT in printer.attributes["snmp.sys_descr"]
    assert (phone.vendor, phone.device_type, phone.model) == ("Yealink", "voip_phone", "T46S")  # its User-Agent
    assert findings[("risk.snmp.default_community", printer.key)].severity == "high"  # answered with "public"
    assert ("risk.snmp.v1v2c", printer.key) in findings
    assert findings[("risk.cleartext.ftp", nas.key)].severity == "high"
    default = findings[("risk.credentials.default", nas.key)]
    assert (default.evidence["credentials"], default.severity) == (["admin:admin"], "critical")  # only where kept
    assert (filer.attributes["smb.nb_computer"], desktop.attributes["smb.workstation"]) == (
        ["FILESRV01"], ["DESKTOP-7F3K2"])  # named from ntlm.log, as from SMB's SESSION_SETUP
    assert "jdoe" not in str(desktop.attributes)


# --- hostile records ---------------------------------------------------------------------------------

_COLUMNS = sorted({c for c, _ in SNMP_COLUMNS + FTP_COLUMNS + SIP_COLUMNS + NTLM_COLUMNS} | {"proto", "is_orig"})
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                     st.text(max_size=20), st.sampled_from(["10.0.0.1", "fe80::1", "udp", "T", "<hidden>", "<unknown>",
                                                            "2c", "public", "530", "162", "1 REGISTER", "-"]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), _SCALARS,
                                                                                 max_size=2))


@settings(max_examples=300, deadline=None)
@given(log_type=st.sampled_from(["snmp", "ftp", "sip", "ntlm"]),
       record=st.dictionaries(st.sampled_from(_COLUMNS), _VALUES, max_size=14))
def test_fuzz_any_record_maps_or_raises_parse_error(log_type: str, record: dict[str, object]) -> None:
    assert_maps_or_parse_error(log_type, record, T0)
