"""HTTP/1.x message heads (RFC 9112): the start lines and field lines dissect/http.py reads, with their limits,
Basic credentials (RFC 7617; RTSP and SIP borrow them), and what a head found past a gap must be to be taken.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, NamedTuple

from iotwarden.dissect import streambuf

MAX_HEAD = 16 * 1024  # bytes of a start line + header section before the message is malformed
MAX_HEADERS = 64  # header fields kept per message
MAX_VALUE = 1024  # characters kept of a header value

# RFC 9112 §3; a method or target of any length (the head is bounded by MAX_HEAD): one over a server's limit is
# answered (501, 414) on a connection that may go on, so a reader that stopped there would miss the rest
REQUEST_LINE = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP/\d\.\d)$")
# RFC 9112 §4; no CR, LF or NUL in the reason (RFC 9112 §2.2: a bare CR ends a line to some readers)
STATUS_LINE = re.compile(rb"^(HTTP/\d\.\d) (\d{3})(?: ([^\r\n\x00]*))?$")
# field-name ":" field-value (RFC 9112 §5.1, no whitespace before the colon); a value without CR, LF or NUL (RFC 9110
# §5.5: invalid and dangerous, a bare LF a line end to some readers, RFC 9112 §2.2), other controls kept (§5.5 allows)
_FIELD_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n\x00]*")
# the empty line that ends a head (RFC 9112 §2.1), each line end a CRLF or an LF alone: §2.2 lets a recipient take a
# bare LF for a line end, as most servers do (nginx, Go's net/http, lighttpd, embedded ones such as Boa or GoAhead)
HEAD_END = re.compile(rb"\n\r?\n")
# the fields that frame a body (RFC 9112 §6.3), kept whole whatever MAX_HEADERS and MAX_VALUE cut of the others
FRAMING = ("content-length", "transfer-encoding")
_FRAMING_NAME = re.compile(rb"content-length|transfer-encoding", re.IGNORECASE)
CHUNKED, UNTIL_CLOSE = -1, -2  # message_length's framings besides a length

# a message head looked for past a gap, where a message may begin: where a segment begins (senders start a message in
# a new segment), or at a line start where the message ends right where another begins (framed_length; a body's text
# may hold a whole message at a line start, dissect/http.py): a request line with a method of any name where the byte
# before it is known to end a line (RFC 9110 §9.1: a token, as a flow's first request may have, dissect/httpstart.py:
# WebDAV's REPORT, a custom one), else, where that byte was lost, a method of RFC 9110 §9, RFC 5789, RFC 4918 or UPnP
# (GENA, SSDP's M-SEARCH): any token's tail is a token, so a hole that ends inside a method ('PROPFIND' -> 'PFIND')
# would make up another; and an origin-, absolute-, authority- or asterisk-form target (RFC 9112 §3.2); or a status
# line of a 1xx-5xx code (RFC 9110 §15); then field lines each a token, a colon and a value (RFC 9112 §5.1), up to the
# empty line, each line ended by CRLF or a bare LF (§2.2)
_TARGET = rb"(?:/|\*|https?://|[A-Za-z0-9.-]{1,253}:\d{1,5}(?= ))"
_RESYNC_METHODS = (rb"(?:GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|PROPFIND|PROPPATCH|MKCOL|COPY|MOVE|LOCK|"
                   rb"UNLOCK|SUBSCRIBE|UNSUBSCRIBE|NOTIFY|M-SEARCH) " + _TARGET)
_ANY_METHOD = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+ " + _TARGET
_STATUS_START = rb"HTTP/1\.[01] [1-5]\d\d "
RESYNC_HEAD = re.compile(rb"(?:" + _RESYNC_METHODS + rb"|" + _STATUS_START + rb")")
RESYNC_STARTS = {True: re.compile(_RESYNC_METHODS), False: re.compile(_STATUS_START)}  # by to_server
RESYNC_LINE_STARTS = {True: re.compile(_ANY_METHOD), False: RESYNC_STARTS[False]}  # after a known line end
_RESYNC_REQUEST = re.compile(_ANY_METHOD + rb"[\x21-\x7e]{0,8191} HTTP/1\.[01]")
_RESYNC_STATUS = re.compile(rb"HTTP/1\.[01] [1-5]\d\d(?: [\t\x20-\x7e\x80-\xff]*)?")


def head_end(buf: bytes | bytearray) -> tuple[int, int]:
    """Where the head at the start of ``buf`` ends, before its last line end, and where what follows it begins, after
    the empty line (:data:`HEAD_END`); (-1, -1) while no empty line has come."""
    m = HEAD_END.search(buf)
    if m is None:
        return -1, -1
    end = m.start()
    return (end - 1 if end and buf[end - 1] == 0x0D else end), m.end()


def head_lines(head: bytes) -> list[bytes]:
    """The lines of a head (its start line, then its field lines): split at each CRLF or bare LF (RFC 9112 §2.2),
    but at CRLF alone where a line a bare LF would begin names a framing field in a head that also ends lines with
    CRLF: a reader that takes the LF for a line end frames the message by it, one that takes it into the value (or
    turns it into SP, RFC 9110 §5.5) does not (request smuggling, RFC 9112 §11.2), so the framing stays unsure
    (header_fields) as before: its direction ends."""
    crlf = head.split(b"\r\n")
    if head.count(b"\n") == len(crlf) - 1:  # every line ends with CRLF
        return crlf
    if len(crlf) > 1 and header_fields(crlf[1:]).framing_unsure:
        return crlf
    return [line.removesuffix(b"\r") for line in head.split(b"\n")]


def valid_head(head: bytes, to_server: bool) -> bool:
    """Whether ``head`` (a start line and field lines, without the empty line) is one a direction out of sync
    may take for a message: its start line of the direction's kind, every field line well formed, and an
    HTTP/1.1 request's Host (RFC 9112 §3.2: a client MUST send it); lines end with CRLF or a bare LF (head_lines)."""
    lines = head_lines(head)
    if (_RESYNC_REQUEST if to_server else _RESYNC_STATUS).fullmatch(lines[0]) is None:
        return False
    if not all(streambuf.FIELD_LINE.fullmatch(f) is not None for f in lines[1:]):
        return False
    return not to_server or not lines[0].endswith(b"HTTP/1.1") or any(f[:5].lower() == b"host:" for f in lines[1:])


def framed_length(head: bytes, data: bytes | bytearray, start: int, to_server: bool) -> int | None:
    """How many of the bytes of ``data`` from ``start`` (those that follow ``head``, found out of sync and valid:
    :func:`valid_head`) its message's body takes (RFC 9112 §6.3: Content-Length, or chunked coding walked to its last
    chunk and trailer, §7.1); None where that is not told within ``data``: chunks or a trailer not whole there, a
    response without Content-Length (until close) or with a bad one. A HEAD's answer (no body whatever its
    Content-Length) is not told from a GET's: its framing misses the next message, so it is not confirmed by it."""
    lines = head_lines(head)
    if not to_server and (lines[0][9:10] == b"1" or lines[0][9:12] in (b"204", b"304")):
        return 0
    fields = header_fields(lines[1:])
    if fields.malformed is not None:
        return None
    framing = fields.framing
    version = lines[0][-8:] if to_server else lines[0][:8]
    length = message_length(framing, request=to_server, version=version.decode("latin-1"))
    if length == CHUNKED:
        return _chunked_length(data, start)
    return None if length is None or length < 0 else length


def message_length(framing: dict[str, str], *, request: bool, version: str) -> int | None:
    """The body length the framing fields (:data:`FRAMING`) of a request or response that may have a body give: >=0
    bytes, CHUNKED, UNTIL_CLOSE, or None when the framing is invalid (RFC 9112 §6.3). Transfer-Encoding overrides
    Content-Length (§6.3 (3)); the body is chunked only when chunked is the final coding (§6.3 (4), §7: an empty
    list element is no coding, RFC 9110 §5.6.1), else a response runs until close and a request is invalid, as any
    Transfer-Encoding in an HTTP/1.0 message is (§6.1: its framing is faulty); an invalid Content-Length is (§6.3
    (5)); with neither a request has no body (§6.3 (6)), a response runs until close (§6.3 (8))."""
    coding = framing.get("transfer-encoding")
    if coding is not None:
        codings = [c.partition(";")[0].strip().lower() for c in coding.split(",") if c.strip()]
        if version != "HTTP/1.0" and codings and codings[-1] == "chunked":
            return CHUNKED
        return None if request else UNTIL_CLOSE
    if "content-length" in framing:
        return content_length(framing["content-length"])
    return 0 if request else UNTIL_CLOSE


def content_length(value: str) -> int | None:
    """The body length a Content-Length value gives, or None when it is invalid (RFC 9112 §6.3 (5)): decimal digits,
    at most 15 of them; a list (fields repeated, or combined by a proxy) only of one same value, as '42, 42'
    ('5, 7' is no length: framing by either would misread the other's reader)."""
    values = {v.strip() for v in value.split(",")}
    if len(values) != 1:
        return None
    digits = values.pop()
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 15 else None


def unended_head(buf: bytes | bytearray, to_server: bool) -> bytes | None:
    """The head ``buf`` holds whole but for the empty line that ends it (RFC 9112 §2.1: the CRLF after the last
    field line), when it frames no body (:func:`framed_length` 0) and is one a direction out of sync may take
    (:func:`valid_head`): what a lost two-byte segment leaves of a message (a client writing that CRLF on its own:
    xiaodu_plug's GET /generate_204 in 62 + 2 bytes); None for anything else."""
    if not buf.endswith(b"\r\n") or len(buf) > MAX_HEAD + 2 or b"\r\n\r\n" in buf:
        return None
    head = bytes(buf[:-2])
    if not valid_head(head, to_server) or framed_length(head, b"", 0, to_server) != 0:
        return None
    return head


def _chunked_length(body: bytes | bytearray, start: int) -> int | None:
    """The length of the chunked body at ``start`` of ``body`` (RFC 9112 §7.1), None when not whole there."""
    pos = start
    while (eol := body.find(b"\r\n", pos)) >= 0:
        size = body[pos:eol].split(b";")[0].strip()
        if not size or len(size) > 15 or size.strip(b"0123456789abcdefABCDEF"):
            return None
        if int(size, 16) == 0:  # last-chunk, then trailer fields and the empty line
            end = eol + 2 if body.startswith(b"\r\n", eol + 2) else body.find(b"\r\n\r\n", eol + 2) + 2
            return end + 2 - start if end > eol else None
        pos = eol + 2 + int(size, 16)
        if len(body) < pos + 2:
            return None
        if body[pos:pos + 2] != b"\r\n":  # chunk-data ends with CRLF
            return None
        pos += 2
    return None


class Fields(NamedTuple):
    """A head's field lines read (:func:`header_fields`)."""

    headers: dict[str, str]  # by lower-cased name, the first MAX_HEADERS names, MAX_VALUE characters each
    framing: dict[str, str]  # the framing fields (FRAMING), whole
    malformed: bytes | None  # the first line that is no field line (dropped), None when all are
    framing_unsure: bool  # a malformed or folded line may be a framing field to some reader: the framing is unknown


def header_fields(lines: list[bytes]) -> Fields:
    """The field lines' values, a repeated field's joined with ", " (RFC 9110 §5.3). An obs-fold (a line begun with
    SP or HTAB) continues the field before it, read as one SP (RFC 9112 §5.2). A line that is no field line
    (:data:`_FIELD_LINE`: no colon, whitespace before it, a name not a token, CR, LF or NUL in the value; a fold with
    no field before it) makes the message invalid (§5.1: a server MUST reject it) and is dropped; when it, or a
    fold, names Content-Length or Transfer-Encoding, recipients may frame the message differently (a lenient one
    taking 'Content-Length : 5' or a field after a bare LF, one that does not unfold reading a folded line as a
    field: request smuggling, §11.2), so the framing is unsure."""
    out: dict[str, str] = {}
    framing: dict[str, str] = {}
    bad: bytes | None = None
    unsure = False
    for raw in _unfolded(lines):
        if _FIELD_LINE.fullmatch(raw) is None:
            bad = raw if bad is None else bad
            unsure = unsure or _FRAMING_NAME.search(raw) is not None
            continue
        name, _, value = raw.partition(b":")
        key = name.decode("ascii").lower()
        whole = value.strip(b" \t").decode("utf-8", "replace")
        if key in FRAMING:
            framing[key] = f"{framing[key]}, {whole}" if key in framing else whole
        text = whole[:MAX_VALUE]
        if key in out:
            out[key] = f"{out[key]}, {text}"[:MAX_VALUE]
        elif len(out) < MAX_HEADERS:
            out[key] = text
    unsure = unsure or any(_FRAMING_NAME.search(line) is not None for line in _folds(lines))
    return Fields(out, framing, bad, unsure)


def _folds(lines: list[bytes]) -> list[bytes]:
    """The folded lines of ``lines`` (begun with SP or HTAB) and the line each continues."""
    fold = [line[:1] in (b" ", b"\t") for line in lines]
    return [line for i, line in enumerate(lines) if fold[i] or (i + 1 < len(lines) and fold[i + 1])]


def _unfolded(lines: list[bytes]) -> list[bytes]:
    """``lines`` with each obs-fold line joined to the one before it by one SP (RFC 9112 §5.2); a fold with no
    line before it is left as it is (no field line)."""
    if not any(line[:1] in (b" ", b"\t") for line in lines):
        return lines
    out: list[bytes] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = out[-1].rstrip(b" \t") + b" " + line.strip(b" \t")
        else:
            out.append(line)
    return out


def basic_credentials(authorization: str, limit: int) -> tuple[str, str | None] | None:
    """The user-id and password (None without ':'), each cut to ``limit`` characters, of an Authorization
    value with Basic credentials (RFC 7617 §2: base64 of user-id ':' password); None for another scheme or
    a token that is no base64. RTSP borrows the scheme (RFC 2326 §12.5): dissect/rtsp.py reads it here."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    return user[:limit], password[:limit] if colon else None


def authorization_fields(value: str) -> dict[str, Any]:
    """RFC 9110 §11.6.2 credentials; for Basic (RFC 7617 §2) only the user-id is kept."""
    scheme = value.partition(" ")[0]
    fields: dict[str, Any] = {"authorization_scheme": scheme, "basic_auth": scheme.lower() == "basic"}
    if (basic := basic_credentials(value, MAX_VALUE)) is not None:
        user, password = basic
        fields["basic_user"] = user
        fields["password_present"] = bool(password)
    return fields
