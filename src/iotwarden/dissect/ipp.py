"""IPP messages (Internet Printing Protocol/1.1 and 2.x) read from the body of an HTTP POST with
Content-Type application/ipp and of its answer (RFC 8010 §3 encoding, RFC 8011 semantics; tcp/631).

A client (Windows, CUPS, macOS) asking a printer for its attributes sends a Get-Printer-Attributes
request; the printer answers with its printer-make-and-model, IEEE 1284 device id, firmware (PWG
5100.13), document formats and features. The message is parsed as it arrives, attribute by
attribute, and never past the end-of-attributes tag: the document data a Print-Job carries after it
is not read. Only the attributes named below are kept: the client's requesting-user-name, job and
document names, and the printer's operator-set printer-location and printer-name never are.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from iotwarden.errors import ParseError

MAX_MESSAGE = 256 * 1024  # bytes of one IPP message read (a printer's full attribute set is 10-60 KiB)
MAX_ATTRIBUTES = 4096  # attributes and additional values parsed per message
MAX_LENGTH = 32767  # a name or value over this is malformed (RFC 8010 §3.1.4-§3.1.5: SIGNED-SHORT lengths)
MAX_DEPTH = 8  # nested collections followed (RFC 8010 §3.1.6)
MAX_VALUES = 32  # values kept of one multi-valued attribute (document-format-supported lists a dozen)
MAX_TEXT = 256  # characters kept of one value

IPP_CONTENT_TYPE: Final = "application/ipp"  # RFC 8010 §3.1 (IANA media type)
IPP_POST: Final = "POST ipp"  # dissect/http.py's name for a POST whose body is an IPP request
# the kind of an answer a CUPS scheduler gives for one of its queues: the make, model and 1284 id in it are the
# queue's driver's or the printer's behind it, never the answering host's, so no identity rule reads this kind
QUEUE_KIND: Final = "ipp_queue_response"

# RFC 8010 §3.5.1 delimiter tags
OPERATION_GROUP, END_OF_ATTRIBUTES, PRINTER_GROUP = 0x01, 0x03, 0x04
# RFC 8010 §3.5.2 value tags
_OUT_OF_BAND = range(0x10, 0x20)
_INTEGER, _ENUM = 0x21, 0x23
_TEXT_WITH_LANGUAGE, _NAME_WITH_LANGUAGE = 0x35, 0x36
_BEG_COLLECTION, _END_COLLECTION = 0x34, 0x37
_STRINGS = frozenset({0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49})  # text, name, keyword, uri .. mimeMediaType

# operation-id (RFC 8011 §5.4.15; later ones from the IANA IPP registry as CUPS's ipp.h numbers them)
OPERATIONS: Final[dict[int, str]] = {
    0x0002: "Print-Job", 0x0003: "Print-URI", 0x0004: "Validate-Job", 0x0005: "Create-Job",
    0x0006: "Send-Document", 0x0007: "Send-URI", 0x0008: "Cancel-Job", 0x0009: "Get-Job-Attributes",
    0x000A: "Get-Jobs", 0x000B: "Get-Printer-Attributes", 0x000C: "Hold-Job", 0x000D: "Release-Job",
    0x000E: "Restart-Job", 0x0010: "Pause-Printer", 0x0011: "Resume-Printer", 0x0012: "Purge-Jobs",
    0x0013: "Set-Printer-Attributes", 0x0014: "Set-Job-Attributes", 0x0015: "Get-Printer-Supported-Values",
    0x0016: "Create-Printer-Subscriptions", 0x0017: "Create-Job-Subscriptions",
    0x0018: "Get-Subscription-Attributes", 0x0019: "Get-Subscriptions", 0x001A: "Renew-Subscription",
    0x001B: "Cancel-Subscription", 0x001C: "Get-Notifications", 0x0022: "Enable-Printer",
    0x0023: "Disable-Printer", 0x0038: "Cancel-Jobs", 0x0039: "Cancel-My-Jobs", 0x003B: "Close-Job",
    0x003C: "Identify-Printer", 0x003D: "Validate-Document",
    0x4001: "CUPS-Get-Default", 0x4002: "CUPS-Get-Printers", 0x4003: "CUPS-Add-Modify-Printer",
    0x4004: "CUPS-Delete-Printer", 0x400B: "CUPS-Get-Devices", 0x400C: "CUPS-Get-PPDs",
}
# status-code classes (RFC 8011 §B.1)
_STATUS_CLASSES: Final = ((0x0000, "successful"), (0x0100, "informational"), (0x0200, "redirection"),
                          (0x0400, "client-error"), (0x0500, "server-error"))

# request operation attributes kept (RFC 8011 §4.1.5, §4.2.5.1): what the client asks, never who asks
_REQUEST_FIELDS: Final[dict[str, str]] = {
    "printer-uri": "ipp_printer_uri",
    "requested-attributes": "ipp_requested_attributes",
    "document-format": "ipp_document_format",
}
# printer attributes kept (RFC 8011 §5.4 Printer Description; PWG 5100.13 firmware and ipp-features-supported)
_PRINTER_FIELDS: Final[dict[str, str]] = {
    "printer-make-and-model": "ipp_make_and_model",
    "printer-device-id": "ipp_device_id",
    "printer-info": "ipp_info",
    "printer-uuid": "ipp_uuid",
    "printer-more-info": "ipp_more_info",
    "printer-icons": "ipp_icons",
    "printer-firmware-name": "ipp_firmware_name",
    "printer-firmware-string-version": "ipp_firmware_string_version",
    "document-format-supported": "ipp_document_formats",
    "ipp-features-supported": "ipp_features",
    "ipp-versions-supported": "ipp_versions",
}
_LISTS: Final = frozenset({"ipp_requested_attributes", "ipp_icons", "ipp_firmware_name",
                           "ipp_firmware_string_version", "ipp_document_formats", "ipp_features", "ipp_versions"})
# IEEE 1284 device id keys (PWG 5107.2 Command Set Format for IEEE 1284 Device ID; long and short key forms) -> field
_DEVICE_ID_KEYS: Final[dict[str, str]] = {
    "MFG": "ipp_device_mfg", "MANUFACTURER": "ipp_device_mfg",
    "MDL": "ipp_device_mdl", "MODEL": "ipp_device_mdl",
    "CMD": "ipp_device_cmd", "COMMAND SET": "ipp_device_cmd",
    "CLS": "ipp_device_cls", "CLASS": "ipp_device_cls",
}


def is_ipp(content_type: str | None) -> bool:
    """A body labelled application/ipp (parameters after ';' ignored)."""
    return content_type is not None and content_type.partition(";")[0].strip().lower() == IPP_CONTENT_TYPE


def operation_name(op: int) -> str:
    return OPERATIONS.get(op, f"0x{op:04X}")


def status_name(status: int) -> str:
    """The status-code's class (RFC 8011 §B.1): successful-ok is 'successful' 0x0000."""
    if status == 0:
        return "successful-ok"
    name = "unknown"
    for start, label in _STATUS_CLASSES:
        if status >= start:
            name = label
    return f"{name}-0x{status:04X}"


def device_id_fields(text: str) -> dict[str, Any]:
    """The maker, model, command sets and class of an IEEE 1284 device id ('MFG:HP;MDL:LaserJet Pro
    M404;CMD:PJL,PCL,PWG;CLS:PRINTER;'): key:value pairs separated by ';' (PWG 5107.2)."""
    out: dict[str, Any] = {}
    for pair in text.split(";")[:64]:
        key, sep, value = pair.partition(":")
        field = _DEVICE_ID_KEYS.get(key.strip().upper())
        value = value.strip()
        if not sep or field is None or not value or field in out:
            continue
        if field == "ipp_device_cmd":
            if commands := [v.strip()[:MAX_TEXT] for v in value.split(",") if v.strip()][:MAX_VALUES]:
                out[field] = commands
        else:
            out[field] = value[:MAX_TEXT]
    return out


def _value(tag: int, raw: bytes) -> str | int | None:
    """One value as text (strings) or int (integer, enum); None for other syntaxes (RFC 8010 §3.9)."""
    if tag in _STRINGS:
        return raw[: MAX_TEXT * 4].decode("utf-8", "replace")[:MAX_TEXT]
    if tag in (_TEXT_WITH_LANGUAGE, _NAME_WITH_LANGUAGE):  # language length, language, text length, text
        if len(raw) < 4:
            return None
        n = int.from_bytes(raw[:2], "big")
        if len(raw) < n + 4:
            return None
        m = int.from_bytes(raw[2 + n: 4 + n], "big")
        return raw[4 + n: 4 + n + m][: MAX_TEXT * 4].decode("utf-8", "replace")[:MAX_TEXT]
    if tag in (_INTEGER, _ENUM) and len(raw) == 4:
        return int.from_bytes(raw, "big", signed=True)
    return None


class IppReader:
    """Reads one IPP message fed in pieces (the body of one HTTP request or response).

    :meth:`feed` takes the body's bytes as they arrive and says when reading is over: the
    end-of-attributes tag was read (what follows is document data, never read), MAX_MESSAGE bytes or
    MAX_ATTRIBUTES were read, or the message is no IPP. A malformed message raises ParseError;
    :meth:`result` still gives what was complete before it.
    """

    def __init__(self, request: bool) -> None:
        self.request = request
        self.kind = "ipp_request" if request else "ipp_response"  # the observation kind dissect/http.py emits
        self._buf = bytearray()
        self._read = 0  # bytes taken so far
        self._header: tuple[str, int, int] | None = None  # version, operation-id or status-code, request-id
        self._group: int | None = None
        self._name = ""  # the attribute additional values (name-length 0) belong to
        self._depth = 0  # collection nesting
        self._count = 0
        self._over = False
        self.complete = False  # the end-of-attributes tag was read
        self.fields: dict[str, Any] = {}
        self.cups_queue = False  # the answer is a CUPS server's for one of its queues, not a printer's own

    def feed(self, data: bytes) -> bool:
        """Take the body's next bytes; True once reading is over (ParseError if malformed)."""
        if self._over:
            return True
        room = MAX_MESSAGE - self._read
        self._buf += data[:room]
        self._read += min(len(data), room)
        try:
            self._parse()
        except ParseError:
            self._over = True
            raise
        if self._read >= MAX_MESSAGE:
            self._over = True
        return self._over

    def _parse(self) -> None:
        buf = self._buf
        pos = 0
        if self._header is None:
            if len(buf) < 8:
                return
            major, minor, code, rid = struct.unpack_from("!BBHI", buf)
            if major not in (1, 2):  # RFC 8010 §3.1.8 / §4: versions 1.0, 1.1, 2.0, 2.1, 2.2
                raise ParseError(f"not an IPP message (version {major}.{minor})")
            self._header = (f"{major}.{minor}", code, rid)
            pos = 8
        while not self._over:
            if pos >= len(buf):
                break
            tag = buf[pos]
            if tag < 0x10:  # delimiter tag (RFC 8010 §3.5.1)
                if self._depth:
                    raise ParseError("delimiter tag inside a collection")
                pos += 1
                if tag == END_OF_ATTRIBUTES:
                    self.complete = self._over = True
                elif tag in (0x00, 0x0F):  # reserved (RFC 8010 §3.5.1)
                    raise ParseError(f"reserved delimiter tag 0x{tag:02x}")
                else:
                    self._group, self._name = tag, ""
                continue
            if self._group is None:
                raise ParseError("value before the first attribute group")
            if len(buf) - pos < 3:
                break
            name_len = int.from_bytes(buf[pos + 1: pos + 3], "big")
            if name_len > MAX_LENGTH or len(buf) - pos < 5 + name_len:
                if name_len > MAX_LENGTH:
                    raise ParseError(f"IPP name length {name_len}")
                break
            value_at = pos + 3 + name_len
            value_len = int.from_bytes(buf[value_at: value_at + 2], "big")
            if value_len > MAX_LENGTH:
                raise ParseError(f"IPP value length {value_len}")
            end = value_at + 2 + value_len
            if end > len(buf):
                break
            name = bytes(buf[pos + 3: value_at]).decode("utf-8", "replace") if name_len else None
            self._attribute(tag, name, bytes(buf[value_at + 2: end]))
            pos = end
            self._count += 1
            if self._count >= MAX_ATTRIBUTES:
                self._over = True
        del buf[:pos]

    def _attribute(self, tag: int, name: str | None, raw: bytes) -> None:
        """One attribute-with-one-value or additional-value (RFC 8010 §3.1.3-§3.1.4)."""
        if tag == _BEG_COLLECTION:
            if self._depth >= MAX_DEPTH:
                raise ParseError(f"collections nested over {MAX_DEPTH} deep")
            if name is not None and self._depth == 0:
                self._name = name
            self._depth += 1
            return
        if tag == _END_COLLECTION:
            if self._depth == 0:
                raise ParseError("endCollection outside a collection")
            self._depth -= 1
            return
        if self._depth:  # member attributes of a collection: not kept
            return
        if name is not None:
            self._name = name
        elif not self._name:
            raise ParseError("additional value before any attribute")
        if tag in _OUT_OF_BAND:
            return
        if not self.request and self._group == PRINTER_GROUP and _is_queue(self._name, tag, raw):
            self.cups_queue = True
            self.kind = QUEUE_KIND
        table = _REQUEST_FIELDS if self.request else _PRINTER_FIELDS
        wanted = OPERATION_GROUP if self.request else PRINTER_GROUP
        field = table.get(self._name)
        if field is None or self._group != wanted:
            return
        value = _value(tag, raw)
        if not isinstance(value, str):
            return
        if field in _LISTS:
            values = self.fields.setdefault(field, [])
            if len(values) < MAX_VALUES and value not in values:
                values.append(value)
        elif name is not None and field not in self.fields:  # one value: the first one stated
            self.fields[field] = value

    def result(self) -> dict[str, Any] | None:
        """The message's fields (see dissect/http.py), or None when it was no IPP message."""
        if self._header is None:
            return None
        version, code, rid = self._header
        out: dict[str, Any] = {"ipp_version": version, "ipp_request_id": rid}
        if self.request:
            out.update({"ipp_operation_id": code, "ipp_operation": operation_name(code)})
            names = _REQUEST_FIELDS.values()
        else:
            out.update({"ipp_status": code, "ipp_status_name": status_name(code)})
            names = _PRINTER_FIELDS.values()
        for field in names:
            out[field] = self.fields.get(field, [] if field in _LISTS else None)
        if not self.request:
            found = device_id_fields(out["ipp_device_id"]) if out["ipp_device_id"] else {}
            for field in ("ipp_device_mfg", "ipp_device_mdl", "ipp_device_cls"):
                out[field] = found.get(field)
            out["ipp_device_cmd"] = found.get("ipp_device_cmd", [])
        if not self.request:
            out["ipp_cups_queue"] = self.cups_queue
        out["ipp_complete"] = self.complete
        return out


def _is_queue(name: str, tag: int, raw: bytes) -> bool:
    """An attribute only a CUPS scheduler answers with for one of its queues: its ``printer-type``
    extension (CUPS Implementation of IPP, "printer-type (type2 enum)") or a printer-uri-supported under
    /printers/ or /classes/ (CUPS's queue and class URIs, same document; a printer's own IPP service is
    /ipp/print, PWG 5100.14 §4.1)."""
    if name == "printer-type":
        return True
    if name != "printer-uri-supported":
        return False
    value = _value(tag, raw)
    if not isinstance(value, str):
        return False
    path = value.partition("://")[2].partition("/")[2]
    return path.startswith(("printers/", "classes/"))


def parse_message(data: bytes, request: bool) -> dict[str, Any] | None:
    """The fields of a whole IPP message (None: not IPP); ParseError if malformed."""
    reader = IppReader(request)
    reader.feed(data)
    return reader.result()
