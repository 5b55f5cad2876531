"""Zeek's kerberos.log, smb_mapping.log and smb_files.log -> the Observations dissect/kerberos.py and dissect/smb.py
(with dissect/smbshare.py) make, so Windows hosts are named and admin-share use is judged from a Zeek sensor as
from packets.

Columns are those of Zeek's own records:

* kerberos.log (``KRB::Info``, base/protocols/krb/main.zeek): one line per KDC exchange: ``request_type`` "AS" or
  "TGS", ``client`` ("name/REALM": the AS request's client name and realm, else the reply's or error's), ``service``
  (the service principal, "krbtgt/CORP.EXAMPLE"), ``success``, ``error_msg`` (``KRB::error_msg``'s name of the
  KRB-ERROR code, e.g. "KDC_ERR_PREAUTH_FAILED", or the error's e-text), ``cipher`` (the ticket's encryption type,
  by name), ``forwardable``/``renewable``, ``from``/``till``. The request is the client's ``as_req``/``tgs_req``
  (``msg_type`` 10/12, ``realm``, ``cname``, ``sname``, and ``computer`` when the client is a computer account,
  ``WS01$``: :func:`iotwarden.dissect.kerberos.computer_name`; Zeek logs a TGS request's client from the reply only,
  so a TGS request has no ``cname``); ``success`` T adds the KDC's ``as_rep``/``tgs_rep`` (``crealm``, ``cname``,
  ``sname``, an AS ticket's ``realm``, and Zeek's ``cipher``, which the dissector leaves in the encrypted part it
  does not read, and its number as ``ticket_etype``: Zeek's ``cipher`` is the ticket's, ``KRB::cipher_name``), F its
  ``error`` (``error_code`` from the dissector's names, ``error_name``), and for KDC_ERR_PREAUTH_FAILED the
  client's failed ``login_attempt``, for KDC_ERR_CLIENT_REVOKED its revoked one with ``preauth_proved`` False
  (:func:`iotwarden.dissect.kerberos.login_fields`; a success is not told: Zeek does not say whether the request
  was pre-authenticated). Zeek logs neither the
  request's encryption types nor its pre-authentication data, and leaves out PREAUTH_REQUIRED errors
  (``KRB::ignored_errors``): a Windows logon's first refused AS request is not seen.
* smb_mapping.log (``SMB::TreeInfo``, base/protocols/smb/main.zeek): a tree connect: ``path``
  ("\\\\\\\\FILESRV\\\\ADMIN$"), ``service`` (SMB1's service string), ``share_type`` (DISK, PIPE, PRINT). The client's
  ``tree_connect`` with ``share`` and ``share_class`` (dissect/smbshare.py: administrative and system shares by
  name, any other share only as the class "user") and ``service``. The path Zeek's pipe heuristic writes,
  "<unknown>", names no share: nothing. Zeek does not say SMB1 from SMB2 here: ``smb1`` is left out.
* smb_files.log (``SMB::FileInfo``): a file opened, renamed or deleted (``SMB::logged_file_actions``:
  ``SMB::FILE_OPEN``, ``FILE_RENAME``, ``FILE_DELETE`` by default; ``FILE_WRITE`` where a site adds it; the
  ``SMB::Action`` enum of base/protocols/smb/main.zeek) on the share ``path``: the client's ``tree_connect`` of
  that share, as the packets before the file's CREATE hold it (a sensor that keeps smb_files.log alone still shows
  an admin share in use). On an administrative share (dissect/smbshare.py class ``admin``) a file written there is
  also the client's ``file_write`` that dissect/smb2files.py makes from the CREATE (``share``, ``share_class``,
  ``file`` the line's ``name``, ``created``): a ``FILE_WRITE``, a ``FILE_RENAME`` (``name`` is the new name: a
  file of that name now written there), or a ``FILE_OPEN`` of a file the server created within
  :data:`CREATED_SKEW_S` of the line (``times.created``, the CREATE response's CreationTime, base/protocols/smb/
  smb2-main.zeek ``smb2_create_response``): Zeek logs no access mask or disposition, so an open of an older file
  (reading a driver from ADMIN$) is no write. ``disposition`` and ``smb1`` are not logged. A user share's file
  names are never kept, as from packets.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect import smbshare
from iotwarden.dissect.kerberos import ERROR_NAMES, ETYPE_NAMES, computer_name, login_fields
from iotwarden.dissect.smb2files import ADMIN, MAX_NAME
from iotwarden.model import Observation
from iotwarden.sources.zeek_fields import ConnId, get_bool, get_float, get_str

KRB_ERROR_CODES = {name: code for code, name in ERROR_NAMES.items()}
KRB_ETYPES = {name: code for code, name in ETYPE_NAMES.items()}
# RFC 4120 §5.10 msg-type of each exchange's request and reply, the dissector's ``msg_type``
KRB_REQUESTS = {"AS": ("as_req", 10, "as_rep", 11), "TGS": ("tgs_req", 12, "tgs_rep", 13)}
KRB_ERROR = 30
SMB_UNKNOWN_PATH = "<unknown>"  # SMB::smb_pipe_connect_heuristic's path
SMB_WRITE_ACTIONS = frozenset({"SMB::FILE_WRITE", "SMB::FILE_RENAME"})  # SMB::Action, base/protocols/smb/main.zeek
SMB_FILE_OPEN = "SMB::FILE_OPEN"
# How far the server's CreationTime of a file may lie from the line's ts for the open to be its creation: the
# 5 minutes of clock skew Kerberos allows (RFC 4120 §1.6; Windows' default), which keeps a domain's clocks so close
CREATED_SKEW_S = 300.0


# --- kerberos.log -------------------------------------------------------------------------------

def _principal(text: str | None) -> tuple[str | None, str | None]:
    """(name, realm) of Zeek's "name/REALM" (the name may hold "/" itself: "host/ws01.corp.example/CORP")."""
    if text is None:
        return None, None
    name, _, realm = text.rpartition("/")
    return name or None, realm or None


def map_kerberos(rec: dict[str, Any]) -> list[Observation]:
    """kerberos.log -> the client's request and the KDC's reply or error (module docstring)."""
    cid = ConnId.addressed(rec, None)
    cname, realm = _principal(get_str(rec, "client"))
    sname = get_str(rec, "service")
    request = KRB_REQUESTS.get(get_str(rec, "request_type") or "")
    out = []
    if request is not None:
        kind, msg_type = request[0], request[1]
        if kind == "as_req":
            out.append(cid.forward("kerberos", kind, {"msg_type": msg_type, "realm": realm, "cname": cname,
                                                      "sname": sname, "computer": computer_name(cname)}))
        else:  # the TGS request's client name is the reply's (Zeek reads it there)
            out.append(cid.forward("kerberos", kind, {"msg_type": msg_type, "sname": sname}))
    success = get_bool(rec, "success")
    if success is True and request is not None:
        # an AS exchange's ticket is for the realm the client asked in (Zeek's "client" holds it); a TGS
        # ticket's realm is not logged
        cipher = get_str(rec, "cipher")
        out.append(cid.reverse("kerberos", request[2], {
            "msg_type": request[3], "realm": realm if request[0] == "as_req" else None, "crealm": realm,
            "cname": cname, "sname": sname, "cipher": cipher, "ticket_etype": KRB_ETYPES.get(cipher or "")}))
    elif success is False:
        error = get_str(rec, "error_msg")
        answer = cid.reverse("kerberos", "error", {
            "msg_type": KRB_ERROR, "error_code": KRB_ERROR_CODES.get(error or ""), "error_name": error,
            "realm": realm, "cname": cname, "sname": sname})
        out.append(answer)
        login = login_fields("error", answer.fields, None)
        if login is not None:
            attempt = cid.forward("kerberos", "login_attempt", login)
            attempt.subject = "dst"  # the KDC logged into, as dissect/kerberos.py says
            out.append(attempt)
    return out


# --- smb_mapping.log, smb_files.log -------------------------------------------------------------

def _tree_connect(cid: ConnId, path: str | None, service: str | None = None) -> list[Observation]:
    if path is None or path == SMB_UNKNOWN_PATH:
        return []
    share = smbshare.describe(path)
    if not share:
        return []
    return [cid.forward("smb", "tree_connect", {**share, "service": service})]


def map_smb_mapping(rec: dict[str, Any]) -> list[Observation]:
    """smb_mapping.log -> the client's ``tree_connect`` (module docstring)."""
    return _tree_connect(ConnId.addressed(rec, 6), get_str(rec, "path"), get_str(rec, "service"))


def map_smb_files(rec: dict[str, Any]) -> list[Observation]:
    """smb_files.log -> the ``tree_connect`` of the share the file is on, and on an administrative share the
    ``file_write`` of a file written there (module docstring)."""
    cid = ConnId.addressed(rec, 6)
    out = _tree_connect(cid, get_str(rec, "path"))
    share = out[0].fields if out else {}
    name = get_str(rec, "name")
    if share.get("share_class") != ADMIN or not name:
        return out
    created_at = get_float(rec, "times.created")
    created = None if created_at is None else abs(cid.ts - created_at) <= CREATED_SKEW_S
    action = get_str(rec, "action")
    if action in SMB_WRITE_ACTIONS or (action == SMB_FILE_OPEN and created):
        out.append(cid.forward("smb", "file_write", {"share": share["share"], "share_class": ADMIN,
                                                     "file": name[:MAX_NAME], "created": created}))
    return out
