"""MMS confirmed services (ISO 9506-2 ConfirmedServiceRequest / ConfirmedServiceResponse, context tags
0..77) and unconfirmed services: their names and the arguments and results worth describing.

Request fields: ``variables``/``variable_list``/``addresses``/``variable_count`` (read, write,
getVariableAccessAttributes, named variable lists), ``values`` (write: the Data written, bounded),
``object_class``/``object_scope``/``domain``/``continue_after`` (getNameList), ``domain`` and
``capabilities``/``sharable``/``discarded`` (domain management and download/upload sequences),
``ulsm_id``, ``program_invocation``/``execution_argument``/``domains`` (program invocation
management), ``semaphore`` (takeControl, relinquishControl), ``file_name``/``new_file_name``/
``source_file``/``frsm_id`` (file services), ``object_name``/``new_name`` (rename).
Response fields: ``vendor_name``/``model_name``/``revision``/``abstract_syntaxes`` (identify),
``identifiers``/``identifier_count``/``more_follows`` (getNameList), ``result_count``/``failures``
(read, write: DataAccessError names), ``vmd_logical_status``/``vmd_physical_status`` (status),
``domain_state``/``program_invocations`` (getDomainAttributes), ``program_state``/``domains``
(getProgramInvocationAttributes), ``ulsm_id``, ``frsm_id``/``file_size`` (fileOpen), ``files``.
"""

from __future__ import annotations

from iotwarden.dissect import asn1
from iotwarden.dissect.mmsresults import RESPONSES, Decoder, Fields, results, status
from iotwarden.dissect.mmstypes import (
    MAX_NAMES,
    MAX_VALUES,
    OBJECT_CLASSES,
    boolean,
    data,
    explicit_object_name,
    file_name,
    identifier,
    identifiers,
    members,
    named,
    object_name,
    service_error,
    variable_access,
    variables,
)
from iotwarden.errors import ParseError

# ConfirmedServiceRequest / ConfirmedServiceResponse context tags (ISO 9506-2), in the field's words
SERVICES: dict[int, str] = dict(enumerate((
    "status", "get_name_list", "identify", "rename", "read", "write", "get_variable_access_attributes",
    "define_named_variable", "define_scattered_access", "get_scattered_access_attributes",
    "delete_variable_access", "define_named_variable_list", "get_named_variable_list_attributes",
    "delete_named_variable_list", "define_named_type", "get_named_type_attributes", "delete_named_type",
    "input", "output", "take_control", "relinquish_control", "define_semaphore", "delete_semaphore",
    "report_semaphore_status", "report_pool_semaphore_status", "report_semaphore_entry_status",
    "initiate_download_sequence", "download_segment", "terminate_download_sequence",
    "initiate_upload_sequence", "upload_segment", "terminate_upload_sequence", "request_domain_download",
    "request_domain_upload", "load_domain_content", "store_domain_content", "delete_domain",
    "get_domain_attributes", "create_program_invocation", "delete_program_invocation", "start", "stop",
    "resume", "reset", "kill", "get_program_invocation_attributes", "obtain_file", "define_event_condition",
    "delete_event_condition", "get_event_condition_attributes", "report_event_condition_status",
    "alter_event_condition_monitoring", "trigger_event", "define_event_action", "delete_event_action",
    "get_event_action_attributes", "report_event_action_status", "define_event_enrollment",
    "delete_event_enrollment", "alter_event_enrollment", "report_event_enrollment_status",
    "get_event_enrollment_attributes", "acknowledge_event_notification", "get_alarm_summary",
    "get_alarm_enrollment_summary", "read_journal", "write_journal", "initialize_journal",
    "report_journal_status", "create_journal", "delete_journal", "get_capability_list", "file_open",
    "file_read", "file_close", "file_rename", "file_delete", "file_directory",
)))
UNCONFIRMED = {0: "information_report", 1: "unsolicited_status", 2: "event_notification"}
CONTEXT = 0x80



def _domain(value: bytes, f: Fields) -> None:  # DeleteDomain, GetDomainAttributes, ... ::= Identifier
    f["domain"] = identifier(value)


def _program_invocation(value: bytes, f: Fields) -> None:  # DeleteProgramInvocation ::= Identifier
    f["program_invocation"] = identifier(value)


def _integer_id(name: str) -> Decoder:
    def decode(value: bytes, f: Fields) -> None:
        f[name] = asn1.integer(value)
    return decode


def _get_name_list(value: bytes, f: Fields) -> None:
    m = members(value)
    if 0 in m:  # extendedObjectClass [0] CHOICE { objectClass [0] IMPLICIT ObjectClass }
        f["object_class"] = named(OBJECT_CLASSES, asn1.integer(asn1.read_tlv(m[0].value).value))
    if 1 in m:  # objectScope [1] CHOICE { vmdSpecific [0], domainSpecific [1], aaSpecific [2] }
        scope = asn1.read_tlv(m[1].value)
        number = asn1.tag_parts(scope.tag)[2]
        f["object_scope"] = {0: "vmd", 1: "domain", 2: "aa"}.get(number, number)
        if number == 1:
            f["domain"] = identifier(scope.value)
    if 2 in m:
        f["continue_after"] = identifier(m[2].value)


def _rename(value: bytes, f: Fields) -> None:
    m = members(value)
    if 1 in m:
        f["object_name"] = explicit_object_name(m[1].value)
    if 2 in m:
        f["new_name"] = identifier(m[2].value)


def _read(value: bytes, f: Fields) -> None:
    m = members(value)
    if 1 in m:  # variableAccessSpecificatn [1] VariableAccessSpecification
        variable_access(asn1.read_tlv(m[1].value), f)


def _write(value: bytes, f: Fields) -> None:
    """Write-Request: VariableAccessSpecification (untagged CHOICE [0]/[1]), listOfData [0]."""
    parts = asn1.children(value)
    if not parts:
        raise ParseError("MMS: write without a variable access specification")
    variable_access(parts[0], f)
    if len(parts) > 1:
        items = asn1.children(parts[1].value)
        f["value_count"] = len(items)
        f["values"] = [data(t) for t in items[:MAX_VALUES]]


def _get_variable_access_attributes(value: bytes, f: Fields) -> None:  # CHOICE name [0] / address [1]
    choice = asn1.read_tlv(value)
    if choice.tag == 0xA0:
        f["variables"] = [explicit_object_name(choice.value)]


def _define_named_variable_list(value: bytes, f: Fields) -> None:
    parts = asn1.children(value)
    if parts:
        f["variable_list"] = object_name(parts[0])
    if len(parts) > 1:
        variables(parts[1].value, f)


def _variable_list(value: bytes, f: Fields) -> None:  # GetNamedVariableListAttributes ::= ObjectName
    f["variable_list"] = explicit_object_name(value)


def _delete_named_variable_list(value: bytes, f: Fields) -> None:
    m = members(value)
    if 1 in m:
        f["variable_lists"] = [object_name(t) for t in asn1.children(m[1].value)[:MAX_NAMES]]
    if 2 in m:
        f["domain"] = identifier(m[2].value)


def _semaphore(value: bytes, f: Fields) -> None:  # TakeControl / RelinquishControl: semaphoreName [0]
    m = members(value)
    if 0 in m:
        f["semaphore"] = explicit_object_name(m[0].value)


def _download(value: bytes, f: Fields) -> None:
    """InitiateDownloadSequence, RequestDomainDownload, LoadDomainContent: domainName [0],
    listOfCapabilities [1], sharable [2], fileName [4]."""
    m = members(value)
    if 0 in m:
        f["domain"] = identifier(m[0].value)
    if 1 in m:
        f["capabilities"] = identifiers(m[1].value)
    if 2 in m:
        f["sharable"] = boolean(m[2].value)
    if 4 in m:
        f["file_name"] = file_name(m[4].value)


def _terminate_download(value: bytes, f: Fields) -> None:
    """TerminateDownloadSequence: domainName [0], discard [1] ServiceError (the download was abandoned)."""
    m = members(value)
    if 0 in m:
        f["domain"] = identifier(m[0].value)
    if 1 in m:
        f["discarded"] = True


def _domain_file(value: bytes, f: Fields) -> None:
    """RequestDomainUpload, StoreDomainContent: domainName [0], fileName [1]."""
    m = members(value)
    if 0 in m:
        f["domain"] = identifier(m[0].value)
    if 1 in m:
        f["file_name"] = file_name(m[1].value)


def _create_program_invocation(value: bytes, f: Fields) -> None:
    m = members(value)
    if 0 in m:
        f["program_invocation"] = identifier(m[0].value)
    if 1 in m:
        f["domains"] = identifiers(m[1].value)


def _program_control(value: bytes, f: Fields) -> None:
    """Start/Stop/Resume/Reset/Kill: programInvocationName [0], executionArgument simpleString [1]."""
    m = members(value)
    if 0 in m:
        f["program_invocation"] = identifier(m[0].value)
    if 1 in m and m[1].tag == 0x81:
        f["execution_argument"] = identifier(m[1].value)


def _obtain_file(value: bytes, f: Fields) -> None:
    m = members(value)
    if 1 in m:
        f["source_file"] = file_name(m[1].value)
    if 2 in m:
        f["file_name"] = file_name(m[2].value)


def _file_spec(value: bytes, f: Fields) -> None:
    """FileOpen: fileName [0]; FileDirectory: fileSpecification [0]."""
    m = members(value)
    if 0 in m:
        f["file_name"] = file_name(m[0].value)


def _file_rename(value: bytes, f: Fields) -> None:
    """FileRename: currentFileName [0], newFileName [1]."""
    m = members(value)
    if 0 in m:
        f["file_name"] = file_name(m[0].value)
    if 1 in m:
        f["new_file_name"] = file_name(m[1].value)


def _file_delete(value: bytes, f: Fields) -> None:  # FileDelete-Request ::= FileName
    f["file_name"] = file_name(value)


REQUESTS: dict[int, Decoder] = {
    1: _get_name_list, 3: _rename, 4: _read, 5: _write, 6: _get_variable_access_attributes,
    11: _define_named_variable_list, 12: _variable_list, 13: _delete_named_variable_list,
    19: _semaphore, 20: _semaphore, 26: _download, 27: _domain, 28: _terminate_download, 29: _domain,
    30: _integer_id("ulsm_id"), 31: _integer_id("ulsm_id"), 32: _download, 33: _domain_file, 34: _download,
    35: _domain_file, 36: _domain, 37: _domain, 38: _create_program_invocation,
    39: _program_invocation, 40: _program_control, 41: _program_control, 42: _program_control,
    43: _program_control, 44: _program_control, 45: _program_invocation, 46: _obtain_file,
    72: _file_spec, 73: _integer_id("frsm_id"), 74: _integer_id("frsm_id"), 75: _file_rename,
    76: _file_delete, 77: _file_spec,
}


def service_fields(tlv: asn1.Tlv, response: bool) -> Fields:
    """``service_code``, ``service`` and the decoded arguments (or results) of one confirmed service."""
    cls, _constructed, number = asn1.tag_parts(tlv.tag)
    if cls != CONTEXT:
        raise ParseError(f"MMS: confirmed service tag 0x{tlv.tag:x}")
    f: Fields = {"service_code": number, "service": SERVICES.get(number, "unknown")}
    decode = (RESPONSES if response else REQUESTS).get(number)
    if decode is not None:
        decode(tlv.value, f)
    return f


def unconfirmed_fields(tlv: asn1.Tlv) -> Fields:
    """UnconfirmedService: informationReport [0] { VariableAccessSpecification, listOfAccessResult [0] },
    unsolicitedStatus [1] (a Status-Response), eventNotification [2] { eventEnrollmentName [0], ... }."""
    number = asn1.tag_parts(tlv.tag)[2]
    f: Fields = {"service_code": number, "service": UNCONFIRMED.get(number, "unknown")}
    if number == 0:
        parts = asn1.children(tlv.value)
        if parts:
            variable_access(parts[0], f)
        if len(parts) > 1:
            results(asn1.children(parts[1].value), f)
    elif number == 1:
        status(tlv.value, f)
    elif number == 2:
        m = members(tlv.value)
        if 0 in m:
            f["event_enrollment"] = explicit_object_name(m[0].value)
    return f


def error_fields(value: bytes) -> Fields:
    """Confirmed-ErrorPDU: invokeID [0], modifierPosition [1], serviceError [2]."""
    f: Fields = {}
    m = members(value)
    if 0 in m:
        f["invoke_id"] = asn1.integer(m[0].value)
    if 2 in m:
        service_error(m[2].value, f)
    return f
