"""IPP messages built by hand as RFC 8010 §3 lays them out (version, operation-id or status-code,
request-id, attribute groups of tagged attributes, additional values with an empty name, collections,
end-of-attributes), shaped as a CUPS client and an HP printer send them, for the IPP and classifier tests."""

from __future__ import annotations

import struct

# RFC 8010 §3.5.1 delimiter tags and §3.5.2 value tags
OPERATION, JOB, END, PRINTER = 0x01, 0x02, 0x03, 0x04
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
BEG_COLLECTION, END_COLLECTION, MEMBER_NAME = 0x34, 0x37, 0x4A
TEXT_LANG, TEXT, NAME, KEYWORD, URI, CHARSET, LANGUAGE, MIME = 0x35, 0x41, 0x42, 0x44, 0x45, 0x47, 0x48, 0x49
NO_VALUE = 0x13

Value = str | int | bytes


def attr(tag: int, name: str, *values: Value) -> bytes:
    """One attribute: the first value with its name, the others as additional values (name-length 0)."""
    out = b""
    for i, value in enumerate(values or (b"",)):
        raw = (value.encode() if isinstance(value, str) else struct.pack("!i", value) if isinstance(value, int)
               else value)
        n = name.encode() if i == 0 else b""
        out += struct.pack("!BH", tag, len(n)) + n + struct.pack("!H", len(raw)) + raw
    return out


def text_with_language(language: str, text: str) -> bytes:
    """A textWithLanguage value (RFC 8010 §3.9): language length, language, text length, text."""
    lang, body = language.encode(), text.encode()
    return struct.pack("!H", len(lang)) + lang + struct.pack("!H", len(body)) + body


def message(code: int, request_id: int, groups: list[tuple[int, bytes]], *, version: tuple[int, int] = (2, 0),
            data: bytes = b"") -> bytes:
    """version, operation-id/status-code, request-id, the groups, end-of-attributes, then ``data``."""
    head = struct.pack("!BBHI", version[0], version[1], code, request_id)
    return head + b"".join(bytes([tag]) + body for tag, body in groups) + bytes([END]) + data


def operation_group(extra: bytes = b"") -> tuple[int, bytes]:
    return OPERATION, attr(CHARSET, "attributes-charset", "utf-8") + attr(
        LANGUAGE, "attributes-natural-language", "en-us") + extra


# CUPS's ipptool/lpstat asking a printer for its description (RFC 8011 §4.2.5.1): who asks is in
# requesting-user-name, which the dissector must never keep
CUPS_GET_PRINTER_ATTRIBUTES = message(0x000B, 42, [operation_group(
    attr(URI, "printer-uri", "ipp://10.0.0.2:631/ipp/print")
    + attr(NAME, "requesting-user-name", "alice.smith")
    + attr(KEYWORD, "requested-attributes", "printer-make-and-model", "printer-device-id",
           "printer-firmware-string-version", "document-format-supported"))])

HP_DEVICE_ID = ("MFG:HP;MDL:HP LaserJet Pro M404-M405;CMD:PJL,PCL,POSTSCRIPT,PCLM,PDF,PWGRASTER,URF;"
                "CLS:PRINTER;DES:HP LaserJet Pro M404dn;")

# an HP LaserJet's answer (RFC 8011 §4.2.5.2): the printer group with its identity and firmware (PWG 5100.13),
# operator-set name and location (never kept), a collection (media-col-database) and an enum
HP_PRINTER_ATTRIBUTES = message(0x0000, 42, [operation_group(), (PRINTER, (
    attr(URI, "printer-uri-supported", "ipp://10.0.0.2/ipp/print", "ipps://10.0.0.2/ipp/print")
    + attr(NAME, "printer-name", "HP-2F-Finance")
    + attr(TEXT, "printer-location", "2nd floor, next to Alice's office")
    + attr(TEXT_LANG, "printer-info", text_with_language("en", "HP LaserJet Pro M404dn"))
    + attr(TEXT, "printer-make-and-model", "HP LaserJet Pro M404dn")
    + attr(TEXT, "printer-device-id", HP_DEVICE_ID)
    + attr(NAME, "printer-firmware-name", "TJ1PW_FW", "TJ1PW_EWS")
    + attr(TEXT, "printer-firmware-string-version", "002_2310A", "20230310")
    + attr(URI, "printer-uuid", "urn:uuid:564e4333-4230-3936-3348-6c63c6f8e1a2")
    + attr(URI, "printer-more-info", "http://10.0.0.2/#hId-pgDevInfo")
    + attr(URI, "printer-icons", "https://10.0.0.2/ipp/images/printer.png",
           "https://10.0.0.2/ipp/images/printer-large.png")
    + attr(BEG_COLLECTION, "media-col-database", b"")
    + attr(MEMBER_NAME, "", "media-size") + attr(BEG_COLLECTION, "", b"")
    + attr(MEMBER_NAME, "", "x-dimension") + attr(INTEGER, "", 21000)
    + attr(END_COLLECTION, "", b"") + attr(MEMBER_NAME, "", "media-source") + attr(KEYWORD, "", "tray-2")
    + attr(END_COLLECTION, "", b"")
    + attr(MIME, "document-format-supported", "application/vnd.hp-PCL", "application/postscript",
           "application/pdf", "image/pwg-raster", "image/urf")
    + attr(KEYWORD, "ipp-features-supported", "ipp-everywhere", "airprint-1.7")
    + attr(KEYWORD, "ipp-versions-supported", "1.0", "1.1", "2.0")
    + attr(ENUM, "printer-state", 3)
    + attr(NO_VALUE, "printer-alert-description", b"")))])


def ipp_post(body: bytes, *, chunk: int = 0, content_type: bytes = b"application/ipp",
             path: bytes = b"/ipp/print", user_agent: bytes = b"CUPS/2.4.2 (Linux 6.1.0; x86_64) IPP/2.0") -> bytes:
    """A client's POST of an IPP request (RFC 8010 §4: HTTP POST, Content-Type application/ipp), framed
    by Content-Length or by chunks of ``chunk`` bytes (CUPS sends a Print-Job's document chunked); CUPS's
    User-Agent names uname's sysname, release and machine (cups/usersys.c)."""
    head = (b"POST " + path + b" HTTP/1.1\r\nHost: 10.0.0.2:631\r\nUser-Agent: " + user_agent
            + b"\r\nContent-Type: " + content_type + b"\r\n")
    return head + _framed(body, chunk)


def ipp_answer(body: bytes, *, chunk: int = 0, content_type: bytes = b"application/ipp",
               status: bytes = b"200 OK", server: bytes = b"HP HTTP Server; HP LaserJet Pro M404dn - W1A52A") -> bytes:
    """The printer's HTTP answer carrying the IPP response (RFC 8010 §4)."""
    head = b"HTTP/1.1 " + status + b"\r\nServer: " + server + b"\r\n"
    return head + b"Content-Type: " + content_type + b"\r\n" + _framed(body, chunk)


def _framed(body: bytes, chunk: int) -> bytes:
    if chunk:
        parts = [body[i:i + chunk] for i in range(0, len(body), chunk)]
        return b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + (
            b"0\r\n\r\n")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body
