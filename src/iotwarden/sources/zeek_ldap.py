"""Zeek's ldap.log and ldap_search.log (Zeek >= 6.1) -> the Observations dissect/ldap.py makes, so the cleartext
bind finding and LDAP password guessing come from a Zeek sensor as from packets.

Columns are ``LDAP::MessageInfo``'s and ``LDAP::SearchInfo``'s (Zeek scripts/base/protocols/ldap/main.zeek, names
from consts.zeek). One ldap.log line is one message ID of a connection, its request and answer together:
``opcode`` ("bind simple", "bind SASL", "unbind", "extended", "modify", "add", "delete", "compare"), ``version``,
``object`` (a bind's DN, an extended request's OID followed by its name in parentheses), ``argument`` (a SASL bind's
mechanism; a simple bind's password, logged as "REDACTED" unless ``LDAP::default_capture_password``: either way it
only says a password was sent, and it is never kept), ``result`` (consts.zeek's RESULT_CODES text, "invalid
credentials") and ``diagnostic_message``. A bind line gives the client's ``bind_request`` and, answered, the
server's ``bind_response`` (with Active Directory's reason, dissect/ldap.py's :func:`ad_refusal`) and the client's
``login_attempt`` (dissect/ldap.py's :func:`login_fields`). An
ldap_search.log line gives the ``search_request`` (``base_object``, ``scope`` "base"/"single"/"tree", ``filter``,
``attributes`` when logged) and the ``search_result_done`` with ``result_count``. Zeek logs a simple password's
presence, not its length (``password_length`` left out), and no CLDAP Netlogon answer: a DC is not named from Zeek.
Early Zeek LDAP packages logged ``opcode``/``result`` as sets: their first value is read.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.ldap import ad_refusal, login_fields
from iotwarden.dissect.ldapmsg import EXTENDED_NAMES, RESULT_NAMES, START_TLS
from iotwarden.model import Observation
from iotwarden.sources.zeek_fields import ConnId, get_int, get_list, get_str

# consts.zeek RESULT_CODES text ("invalid credentials") -> RFC 4511 A.1 code, by the dissector's names folded
RESULT_CODES = {name.lower(): code for code, name in RESULT_NAMES.items()}
SCOPES = {"base": "base", "single": "one", "tree": "sub"}  # consts.zeek SEARCH_SCOPES -> RFC 4516 §2 names
# consts.zeek PROTOCOL_OPCODES text (a ModifyDN request is logged as "modify" too) -> the dissector's kind; the
# text is ldapmsg.ENTRY_REQUESTS's operation name already
OPERATIONS = {"modify": "modify_request", "add": "add_request", "delete": "del_request", "compare": "compare_request"}


def _first(rec: dict[str, Any], key: str) -> str | None:
    """A string column, or the first value of a set column (the spicy-ldap package's ldap.log)."""
    values = get_list(rec, key) if isinstance(rec.get(key), list) else [get_str(rec, key)]
    value = values[0] if values else None
    return None if value in (None, "") else str(value)


def _result(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The LDAPResult fields of a line's ``result`` and ``diagnostic_message``; None when not answered."""
    text = _first(rec, "result")
    if text is None:
        return None
    code = RESULT_CODES.get(text.replace(" ", "").lower())
    return {"result_code": code, "result": RESULT_NAMES.get(code, text) if code is not None else text,
            "diagnostic": _first(rec, "diagnostic_message")}


def _bind(cid: ConnId, opcode: str, rec: dict[str, Any], message_id: int | None) -> list[Observation]:
    name, argument = _first(rec, "object") or "", _first(rec, "argument")
    auth = opcode.removeprefix("bind").strip().lower().replace(" ", "_")
    fields: dict[str, Any] = {"message_id": message_id, "version": get_int(rec, "version"), "name": name}
    if auth == "simple":
        present = argument is not None
        kind = "simple" if present else ("unauthenticated" if name else "anonymous")
        fields.update(auth="simple", bind_kind=kind, password_present=present)
    elif auth == "sasl":
        fields.update(auth="sasl", bind_kind="sasl", mechanism=argument)
    else:
        fields.update(auth="sicily" if auth.startswith("sicily") else auth, bind_kind=auth or None)
    out = [cid.forward("ldap", "bind_request", fields)]
    result = _result(rec)
    if result is not None:
        response = {"message_id": message_id, **result, **{k: fields.get(k) for k in ("name", "bind_kind",
                                                                                      "mechanism")}}
        response.update(ad_refusal(response))
        out.append(cid.reverse("ldap", "bind_response", response))
        login = login_fields(response)
        if login is not None:
            obs = cid.forward("ldap", "login_attempt", login)
            obs.subject = "dst"  # the server logged into, as dissect/ldap.py says
            out.append(obs)
    return out


def map_ldap(rec: dict[str, Any]) -> list[Observation]:
    """ldap.log -> the client's request and the server's answer of one message ID (module docstring)."""
    cid = ConnId.addressed(rec, 6)
    opcode = (_first(rec, "opcode") or "").strip()
    message_id = get_int(rec, "message_id")
    if opcode.lower().startswith("bind"):
        return _bind(cid, opcode, rec, message_id)
    result = _result(rec)
    if opcode == "extended":
        oid = (_first(rec, "object") or "").split(" ", 1)[0] or None
        start_tls = oid == START_TLS
        out = [cid.forward("ldap", "extended_request", {"message_id": message_id, "oid": oid, "start_tls": start_tls,
                                                         "operation": EXTENDED_NAMES.get(oid or "")})]
        if result is not None:
            out.append(cid.reverse("ldap", "extended_response", {"message_id": message_id, **result,
                                                                  "start_tls": start_tls}))
        return out
    if opcode == "unbind":
        return [cid.forward("ldap", "unbind_request", {"message_id": message_id})]
    kind = OPERATIONS.get(opcode)
    if kind is None:
        return []
    out = [cid.forward("ldap", kind, {"message_id": message_id, "operation": opcode, "object": _first(rec, "object")})]
    if result is not None:
        out.append(cid.reverse("ldap", kind.replace("_request", "_response"), {"message_id": message_id, **result}))
    return out


def map_ldap_search(rec: dict[str, Any]) -> list[Observation]:
    """ldap_search.log -> the client's ``search_request`` and the server's ``search_result_done``."""
    cid = ConnId.addressed(rec, 6)
    message_id = get_int(rec, "message_id")
    scope = _first(rec, "scope")
    out = [cid.forward("ldap", "search_request", {
        "message_id": message_id, "base": _first(rec, "base_object") or "",
        "scope": SCOPES.get(scope, scope) if scope else None, "filter": get_str(rec, "filter"),
        "attributes": [str(a) for a in get_list(rec, "attributes")]})]
    result = _result(rec)
    if result is not None:
        out.append(cid.reverse("ldap", "search_result_done", {"message_id": message_id, **result,
                                                              "entries": get_int(rec, "result_count")}))
    return out
