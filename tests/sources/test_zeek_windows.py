"""Zeek's kerberos.log, smb_mapping.log and smb_files.log read as dissect/kerberos.py and dissect/smb.py describe
the same exchanges (compared with the dissector's Observations of the lab's Windows logon and of a built SMB2
session), in TSV and JSON: a Windows computer named by its own AS request, an admin share opened from a camera."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.kerberos import KerberosDissector
from iotwarden.dissect.smb import SmbDissector
from iotwarden.dissect.smb2files import MAX_NAME
from iotwarden.errors import ParseError
from iotwarden.lab import smbwire as w
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Observation
from iotwarden.sources.zeek import read_zeek, sniff_zeek
from iotwarden.sources.zeek_windows import CREATED_SKEW_S, map_kerberos, map_smb_files, map_smb_mapping
from tests.dissect import smbbuild as b
from tests.dissect import test_smb2files as sf
from tests.dissect.hostile import feed_chunks
from tests.pcaputil import run_dissector
from tests.sources.zeeklog import (
    CONN_COLUMNS,
    FORMATS,
    ID_COLUMNS,
    analysed,
    assert_maps_or_parse_error,
    assert_same_as_packet,
    conn_row,
    ids_of,
    write_log,
)

T0 = 1_700_000_000.0
SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
WORKSTATION, DC = ("10.20.0.50", "00:1b:21:00:00:50"), ("10.20.0.10", "00:1b:21:00:00:10")
CAMERA, FILER = ("10.20.5.21", "44:47:cc:00:05:21"), ("10.20.0.20", "00:1b:21:00:00:20")  # 44:47:cc: Hikvision

# KRB::Info (base/protocols/krb/main.zeek), SMB::TreeInfo and SMB::FileInfo (base/protocols/smb/main.zeek), in
# their column order
KERBEROS_COLUMNS = [*ID_COLUMNS, ("request_type", "string"), ("client", "string"), ("service", "string"),
                    ("success", "bool"), ("error_msg", "string"), ("from", "time"), ("till", "time"),
                    ("cipher", "string"), ("forwardable", "bool"), ("renewable", "bool"),
                    ("client_cert_subject", "string"), ("client_cert_fuid", "string"),
                    ("server_cert_subject", "string"), ("server_cert_fuid", "string")]
SMB_MAPPING_COLUMNS = [*ID_COLUMNS, ("path", "string"), ("service", "string"), ("native_file_system", "string"),
                       ("share_type", "string")]
SMB_FILES_COLUMNS = [*ID_COLUMNS, ("fuid", "string"), ("action", "enum"), ("path", "string"), ("name", "string"),
                     ("size", "count"), ("prev_name", "string"), ("times.modified", "time"),
                     ("times.accessed", "time"), ("times.created", "time"), ("times.changed", "time")]


@pytest.fixture(scope="module")
def logon(tmp_path_factory: pytest.TempPathFactory) -> list[Observation]:
    """The lab's Windows computer logon (AS-REQ, PREAUTH_REQUIRED, AS-REQ, AS-REP, TGS-REQ, TGS-REP), dissected."""
    path = tmp_path_factory.mktemp("krb") / "small.pcap"
    generate(load_scenario(SCENARIOS / "small.yaml"), path, duration=20)
    return [o for o in run_dissector(KerberosDissector(), path) if o.kind != "login_attempt"]


# --- kerberos.log -------------------------------------------------------------------------------

def test_an_as_line_is_the_computers_request_and_the_kdcs_reply(logon: list[Observation]) -> None:
    _, _, request, reply, _, _ = logon[:6]
    assert request.fields["computer"] == "WS-FIN-01"  # the dissector names the computer account too
    ours_request, ours_reply = map_kerberos({
        **ids_of(request), "request_type": "AS", "client": "WS-FIN-01$/CORP.EXAMPLE",
        "service": "krbtgt/CORP.EXAMPLE", "success": True, "cipher": "aes256-cts-hmac-sha1-96",
        "forwardable": True, "renewable": True})
    assert_same_as_packet(ours_request, request, unlogged={"etypes", "padata_types", "preauth"})
    assert_same_as_packet(ours_reply, reply, unlogged={"enc_etype"}, cipher="aes256-cts-hmac-sha1-96")


def test_a_tgs_line_names_the_client_in_the_reply_only(logon: list[Observation]) -> None:
    *_, request, reply = logon[:6]
    ours_request, ours_reply = map_kerberos({
        **ids_of(request), "request_type": "TGS", "client": "WS-FIN-01$/CORP.EXAMPLE",
        "service": "cifs/DC01.corp.example", "success": True, "cipher": "aes256-cts-hmac-sha1-96"})
    assert_same_as_packet(ours_request, request, unlogged={"realm", "padata_types", "etypes", "cname"})
    assert_same_as_packet(ours_reply, reply, unlogged={"realm", "enc_etype"}, cipher="aes256-cts-hmac-sha1-96")
    (_, rc4) = map_kerberos({**ids_of(request), "request_type": "TGS", "service": "MSSQLSvc/sql01:1433",
                             "success": True, "cipher": "rc4-hmac"})
    assert rc4.fields["ticket_etype"] == 23  # Zeek's cipher is the ticket's (KRB::cipher_name)


def test_a_refused_request_is_the_kdcs_error_and_a_user_names_no_computer() -> None:
    rec = {"ts": T0, "uid": "Ck1", "id.orig_h": WORKSTATION[0], "id.orig_p": 50001, "id.resp_h": DC[0],
           "id.resp_p": 88, "request_type": "AS", "client": "alice/CORP.EXAMPLE", "service": "krbtgt/CORP.EXAMPLE",
           "success": False, "error_msg": "KDC_ERR_PREAUTH_FAILED"}
    request, error, login = map_kerberos(rec)
    assert "computer" not in request.fields and request.fields["cname"] == "alice"
    assert (login.kind, login.src_ip, login.subject, login.fields) == (
        "login_attempt", WORKSTATION[0], "dst",
        {"username": "alice", "realm": "CORP.EXAMPLE", "result": "failure", "code": 24})  # as the dissector says
    assert (error.kind, error.src_ip) == ("error", DC[0])
    assert error.fields == {"msg_type": 30, "error_code": 24, "error_name": "KDC_ERR_PREAUTH_FAILED",
                            "realm": "CORP.EXAMPLE", "cname": "alice", "sname": "krbtgt/CORP.EXAMPLE"}
    (only,) = map_kerberos({**rec, "request_type": None, "client": None, "error_msg": "Clock skew too great"})
    assert only.fields == {"msg_type": 30, "error_name": "Clock skew too great", "sname": "krbtgt/CORP.EXAMPLE"}
    (service,) = map_kerberos({**rec, "client": "host/ws01.corp.example/CORP.EXAMPLE", "success": None})
    assert (service.fields["cname"], service.fields["realm"], "computer" in service.fields) == (
        "host/ws01.corp.example", "CORP.EXAMPLE", False)


# --- smb_mapping.log, smb_files.log -------------------------------------------------------------

@pytest.mark.parametrize("path", ["\\\\filesrv\\ADMIN$", "\\\\filesrv\\IPC$", "\\\\filesrv\\alice.smith"])
def test_a_mapping_line_is_the_clients_tree_connect(path: str) -> None:
    (packet,) = feed_chunks(SmbDissector(), [(True, b.direct(b.tree_connect(path)))])
    (ours,) = map_smb_mapping({**ids_of(packet), "path": path, "share_type": "DISK"})
    assert_same_as_packet(ours, packet, unlogged={"smb1", "status"})  # Zeek's mapping line does not say SMB1 from SMB2


def test_a_file_line_shows_the_share_it_is_on_and_unknown_paths_nothing() -> None:
    base = {"ts": T0, "uid": "Cs1", "id.orig_h": CAMERA[0], "id.orig_p": 49700, "id.resp_h": FILER[0],
            "id.resp_p": 445}
    (ours,) = map_smb_files({**base, "action": "SMB::FILE_OPEN", "path": "\\\\10.20.0.20\\ADMIN$",
                             "name": "PSEXESVC.exe", "size": 381816})  # no times: not known to be created
    assert (ours.kind, ours.src_ip, ours.fields) == ("tree_connect", CAMERA[0], {"share": "ADMIN$",
                                                                                "share_class": "admin"})
    assert map_smb_mapping({**base, "path": "<unknown>", "share_type": "PIPE"}) == []  # Zeek's pipe heuristic
    assert map_smb_files({**base, "action": "SMB::FILE_OPEN", "name": "x"}) == []
    with pytest.raises(ParseError):
        map_smb_mapping({"ts": T0, "path": "\\\\s\\C$"})


def test_a_service_binary_written_to_admin_share_is_the_dissectors_file_write() -> None:
    """PsExec's CREATE of PSEXESVC.exe on ADMIN$ from packets (tests/dissect/test_smb2files.py) and Zeek's line of
    the same open: the same ``file_write``, less the disposition and SMB1 flag Zeek does not log."""
    chunks = sf.logon() + sf.tree(4, "\\\\SRV\\ADMIN$", sf.ADMIN, w.SHARE_DISK) + sf.opened(
        5, "PSEXESVC.exe", sf.ADMIN, sf.FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED)
    (packet,) = [o for o in sf.converse(chunks) if o.kind == "file_write"]
    line = {**ids_of(packet), "action": "SMB::FILE_OPEN", "path": "\\\\SRV\\ADMIN$", "name": "PSEXESVC.exe",
            "size": 0, "times.created": packet.ts - 0.2, "times.modified": packet.ts - 0.2}
    tree, ours = map_smb_files(line)
    assert tree.kind == "tree_connect"
    assert_same_as_packet(ours, packet, unlogged={"smb1", "disposition"})


@pytest.mark.parametrize("action", ["SMB::FILE_WRITE", "SMB::FILE_RENAME"])
def test_a_write_or_rename_on_an_admin_share_is_a_file_write_whenever_the_file_was_made(action: str) -> None:
    base = {"ts": T0, "uid": "Cs1", "id.orig_h": CAMERA[0], "id.orig_p": 49700, "id.resp_h": FILER[0],
            "id.resp_p": 445, "action": action, "path": "\\\\10.20.0.20\\C$"}
    obs = map_smb_files({**base, "name": "Windows\\Temp\\x.exe", "times.created": T0 - 86400})
    assert [(o.kind, o.fields) for o in obs][1:] == [("file_write", {
        "share": "C$", "share_class": "admin", "file": "Windows\\Temp\\x.exe", "created": False})]
    assert len(map_smb_files({**base, "name": "x" * 1000})[1].fields["file"]) == MAX_NAME


def test_opening_an_old_file_or_any_file_of_a_user_share_is_no_file_write() -> None:
    base = {"ts": T0, "uid": "Cs1", "id.orig_h": CAMERA[0], "id.orig_p": 49700, "id.resp_h": FILER[0],
            "id.resp_p": 445}
    old = {**base, "action": "SMB::FILE_OPEN", "path": "\\\\s\\ADMIN$", "name": "system32\\drivers\\x.sys",
           "times.created": T0 - CREATED_SKEW_S - 1}
    assert [o.kind for o in map_smb_files(old)] == ["tree_connect"]  # read, as far as Zeek tells
    for action in ("SMB::FILE_OPEN", "SMB::FILE_WRITE", "SMB::FILE_RENAME"):
        user = {**base, "action": action, "path": "\\\\s\\Finance", "name": "Q3 report.exe",
                "times.created": T0}
        (tree,) = map_smb_files(user)
        assert tree.fields == {"share_class": "user"}  # the user's share and file names are never kept
    assert [o.kind for o in map_smb_files({**old, "action": "SMB::FILE_DELETE"})] == ["tree_connect"]


# --- a Zeek sensor's logs, analysed -------------------------------------------------------------

def _site(folder: Path, fmt: str) -> Path:
    """conn.log, kerberos.log, smb_mapping.log and smb_files.log of a Windows domain where a Hikvision camera
    opens a file server's ADMIN$ and writes PsExec's service binary there, and a workstation saves a document on
    the Finance share."""
    conn = [conn_row(T0, "Ck1", (WORKSTATION[0], 50001, WORKSTATION[1]), (DC[0], 88, DC[1]), proto="tcp",
                     service="krb_tcp"),
            conn_row(T0 + 30, "Cs1", (CAMERA[0], 49700, CAMERA[1]), (FILER[0], 445, FILER[1]), proto="tcp",
                     service="smb,gssapi,ntlm"),
            conn_row(T0 + 40, "Cs2", (WORKSTATION[0], 50002, WORKSTATION[1]), (FILER[0], 445, FILER[1]),
                     proto="tcp", service="smb,gssapi,ntlm")]
    write_log(folder, "conn", CONN_COLUMNS, conn, fmt)
    write_log(folder, "kerberos", KERBEROS_COLUMNS, [[
        f"{T0 + 0.01:.6f}", "Ck1", WORKSTATION[0], "50001", DC[0], "88", "AS", "WS-FIN-01$/CORP.EXAMPLE",
        "krbtgt/CORP.EXAMPLE", "T", "-", f"{T0:.6f}", f"{T0 + 36000:.6f}", "aes256-cts-hmac-sha1-96", "T", "T",
        "-", "-", "-", "-"]], fmt)
    ids = [f"{T0 + 30.1:.6f}", "Cs1", CAMERA[0], "49700", FILER[0], "445"]
    write_log(folder, "smb_mapping", SMB_MAPPING_COLUMNS, [[*ids, "\\\\\\\\10.20.0.20\\\\ADMIN$", "-", "NTFS", "DISK"]],
              fmt)
    user = [f"{T0 + 40.1:.6f}", "Cs2", WORKSTATION[0], "50002", FILER[0], "445"]
    write_log(folder, "smb_files", SMB_FILES_COLUMNS, [
        [*ids, "FqZ1", "SMB::FILE_OPEN", "\\\\\\\\10.20.0.20\\\\ADMIN$", "PSEXESVC.exe", "0", "-",
         f"{T0 + 30:.6f}", f"{T0 + 30:.6f}", f"{T0 + 30:.6f}", f"{T0 + 30:.6f}"],
        [*user, "FqZ2", "SMB::FILE_OPEN", "\\\\\\\\10.20.0.20\\\\Finance", "Q3 report.docx", "0", "-",
         f"{T0 + 40:.6f}", f"{T0 + 40:.6f}", f"{T0 + 40:.6f}", f"{T0 + 40:.6f}"]], fmt)
    return folder


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_logs_are_sniffed_and_read_with_conn_logs_macs(tmp_path: Path, fmt: str) -> None:
    folder = _site(tmp_path / "zeek", fmt)
    names = ("kerberos", "smb_mapping", "smb_files")
    assert [sniff_zeek(folder / f"{n}.log") for n in names] == list(names)
    obs = [o for batch in read_zeek(folder) for o in batch.observations]
    assert sorted((o.proto, o.kind) for o in obs) == [("kerberos", "as_rep"), ("kerberos", "as_req"),
                                                      ("smb", "file_write"), ("smb", "tree_connect"),
                                                      ("smb", "tree_connect"), ("smb", "tree_connect")]
    shares = [o for o in obs if o.proto == "smb" and o.src_ip == CAMERA[0]]
    assert {(o.src_mac, o.dst_mac, o.fields["share"]) for o in shares} == {(CAMERA[1], FILER[1], "ADMIN$")}
    assert [o.fields.get("share") for o in obs if o.src_ip == WORKSTATION[0] and o.proto == "smb"] == [None]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_windows_host_is_named_and_a_cameras_admin_share_raises_lateral_movement(tmp_path: Path, fmt: str) -> None:
    stored = analysed(_site(tmp_path / "zeek", fmt), tmp_path / "iotwarden.db")
    devices = stored.devices
    alerts = {(a.detector_id, a.device_key) for a in stored.alerts}
    workstation, camera = devices[f"mac:{WORKSTATION[1]}"], devices[f"mac:{CAMERA[1]}"]
    assert "WS-FIN-01" in workstation.hostnames  # its computer account's own AS request
    assert workstation.attributes["kerberos.computer"] == ["WS-FIN-01"]
    assert (camera.vendor, camera.category) == ("Hikvision", "iot")
    assert ("detect.lateral.admin_share", camera.key) in alerts  # ADMIN$ from smb_mapping.log / smb_files.log
    assert ("detect.lateral.admin_share_exec", camera.key) in alerts  # PSEXESVC.exe created there
    # a document on a user share: no share or staging alert (SMB itself is the admin protocols' detector's)
    assert {a for a in alerts if a[1] == workstation.key and a[0].startswith("detect.lateral.admin_share")} == set()


# --- hostile records ---------------------------------------------------------------------------------

_COLUMNS = sorted({c for c, _ in KERBEROS_COLUMNS + SMB_MAPPING_COLUMNS + SMB_FILES_COLUMNS} | {"proto"})
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                     st.text(max_size=20), st.sampled_from([
                         "10.0.0.1", "fe80::1", "tcp", "T", "F", "AS", "TGS", "WS01$/CORP", "/", "$", "$/",
                         "KDC_ERR_PREAUTH_FAILED", "\\\\s\\ADMIN$", "\\\\", "<unknown>", "SMB::FILE_OPEN",
                         "SMB::FILE_WRITE", "SMB::FILE_RENAME", "\\\\s\\C$", T0, "PSEXESVC.exe"]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), _SCALARS,
                                                                                 max_size=2))


@settings(max_examples=300, deadline=None)
@given(log_type=st.sampled_from(["kerberos", "smb_mapping", "smb_files"]),
       record=st.dictionaries(st.sampled_from(_COLUMNS), _VALUES, max_size=14))
def test_fuzz_any_record_maps_or_raises_parse_error(log_type: str, record: dict[str, object]) -> None:
    assert_maps_or_parse_error(log_type, record, T0)
