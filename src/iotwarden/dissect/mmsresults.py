"""MMS confirmed services' results (ISO 9506-2 ConfirmedServiceResponse) worth describing, by service: status,
getNameList, identify, read and write results, variable list, domain and program invocation attributes, upload,
fileOpen and fileDirectory (dissect/mmsservices.py names the service and reads requests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iotwarden.dissect import asn1
from iotwarden.dissect.mmstypes import (
    DATA_ACCESS_ERRORS,
    DOMAIN_STATES,
    MAX_NAMES,
    PROGRAM_STATES,
    boolean,
    file_name,
    identifier,
    identifiers,
    members,
    named,
    unsigned,
    variables,
)

VMD_LOGICAL = ("state_changes_allowed", "no_state_changes_allowed", "limited_services_allowed",
               "support_services_allowed")
VMD_PHYSICAL = ("operational", "partially_operational", "inoperable", "needs_commissioning")

Fields = dict[str, Any]
Decoder = Callable[[bytes, Fields], None]


def status(value: bytes, f: Fields) -> None:
    m = members(value)
    if 0 in m:
        f["vmd_logical_status"] = named(VMD_LOGICAL, asn1.integer(m[0].value))
    if 1 in m:
        f["vmd_physical_status"] = named(VMD_PHYSICAL, asn1.integer(m[1].value))


def _name_list(value: bytes, f: Fields) -> None:
    m = members(value)
    if 0 in m:
        f["identifier_count"] = len(asn1.children(m[0].value))
        f["identifiers"] = identifiers(m[0].value)
    f["more_follows"] = boolean(m[1].value) if 1 in m else True  # DEFAULT TRUE


def _identify(value: bytes, f: Fields) -> None:
    """Identify-Response: vendorName [0], modelName [1], revision [2], listOfAbstractSyntaxes [3]."""
    m = members(value)
    for number, name in ((0, "vendor_name"), (1, "model_name"), (2, "revision")):
        if number in m:
            f[name] = identifier(m[number].value)
    if 3 in m:
        f["abstract_syntaxes"] = [asn1.oid(t.value) for t in asn1.children(m[3].value)[:MAX_NAMES]]


def results(results: list[asn1.Tlv], f: Fields) -> None:
    """AccessResult / Write-Response items: failure [0] DataAccessError, else success."""
    f["result_count"] = len(results)
    failures = [named(DATA_ACCESS_ERRORS, asn1.integer(t.value)) for t in results if t.tag == 0x80]
    if failures:
        f["failures"] = failures[:MAX_NAMES]


def _read_response(value: bytes, f: Fields) -> None:
    m = members(value)
    if 1 in m:  # listOfAccessResult [1]
        results(asn1.children(m[1].value), f)


def _write_response(value: bytes, f: Fields) -> None:
    results(asn1.children(value), f)


def _variable_list_attributes(value: bytes, f: Fields) -> None:
    m = members(value)
    if 0 in m:
        f["mms_deletable"] = boolean(m[0].value)
    if 1 in m:
        variables(m[1].value, f)


def _domain_attributes(value: bytes, f: Fields) -> None:
    m = members(value)
    if 1 in m:
        f["domain_state"] = named(DOMAIN_STATES, asn1.integer(m[1].value))
    if 4 in m:
        f["program_invocations"] = identifiers(m[4].value)


def _program_attributes(value: bytes, f: Fields) -> None:
    m = members(value)
    if 0 in m:
        f["program_state"] = named(PROGRAM_STATES, asn1.integer(m[0].value))
    if 1 in m:
        f["domains"] = identifiers(m[1].value)


def _upload_response(value: bytes, f: Fields) -> None:
    m = members(value)
    if 0 in m:
        f["ulsm_id"] = asn1.integer(m[0].value)
    if 1 in m:
        f["capabilities"] = identifiers(m[1].value)


def _file_open_response(value: bytes, f: Fields) -> None:
    m = members(value)
    if 0 in m:
        f["frsm_id"] = asn1.integer(m[0].value)
    if 1 in m:
        attrs = members(m[1].value)
        if 0 in attrs:
            f["file_size"] = unsigned(attrs[0].value)


def _file_directory_response(value: bytes, f: Fields) -> None:
    m = members(value)
    if 0 in m:
        entries = asn1.children(m[0].value)
        if len(entries) == 1 and entries[0].tag == asn1.SEQUENCE and entries[0].value[:1] == b"\x30":
            entries = asn1.children(entries[0].value)  # [0] EXPLICIT around the SEQUENCE OF
        names = []
        for entry in entries[:MAX_NAMES]:
            member = members(entry.value)
            if 0 in member:
                names.append(file_name(member[0].value))
        f["files"] = names
    f["more_follows"] = boolean(m[1].value) if 1 in m else False  # DEFAULT FALSE


RESPONSES: dict[int, Decoder] = {
    0: status, 1: _name_list, 2: _identify, 4: _read_response, 5: _write_response,
    12: _variable_list_attributes, 29: _upload_response, 37: _domain_attributes, 45: _program_attributes,
    72: _file_open_response, 77: _file_directory_response,
}
