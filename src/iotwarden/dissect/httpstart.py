"""What a flow's first bytes must be for dissect/http.py to read them as HTTP/1.x: the engine's probe (a flow on no
HTTP port) and the test of a direction's first message, which refuses another protocol on an HTTP port at its first
bytes (TLS on 631 for IPPS or on 80, a server-first protocol) so that the engine offers the flow to the other
dissectors instead (RTSP's and SIP's rule). Split from dissect/http.py.
"""

from __future__ import annotations

import re

from iotwarden.dissect.base import line_head

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]"  # tchar, RFC 9110 §5.6.2
# a whole request line of HTTP/1.0 or 1.1 whatever its method: methods are tokens of any length (RFC 9110 §9.1;
# GENA's UNSUBSCRIBE, WebDAV's BASELINE-CONTROL, the RD gateway's RDG_IN_DATA, [MS-TSGU] §2.2.3.1, a custom one);
# the version and line end after the target keep another protocol's text out (RTSP/1.0, SIP/2.0, a banner)
_PROBE_REQUEST = re.compile(rb"^" + _TOKEN + rb"+ \S+ HTTP/1\.[01]\r?\n")
# a request line longer than a probe is offered of it when cut into small segments (base.line_head): an HTTP
# method of RFC 9110 §9, RFC 5789, RFC 4918 or UPnP GENA and an origin- or absolute-form target (RFC 9112
# §3.2) reaching past the probed bytes; its version is not seen, so RTSP-only methods and rtsp:// targets
# (RFC 7826 §7.1) are left to RTSP's probe
_PROBE_REQUEST_HEAD = re.compile(
    rb"(?:GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|PROPFIND|SUBSCRIBE|UNSUBSCRIBE|NOTIFY) "
    rb"(?:/|https?://)[\x21-\x7e]*")
_PREFIX = rb"H(?:T(?:T(?:P(?:/|\Z)|\Z)|\Z)|\Z)"  # "HTTP/" or as much of it as has arrived
# what a direction's first message may begin with however little of it has arrived (RFC 9112 §2.2 empty lines,
# "HTTP/" of a status line, a method token and its space): a method of more than 20 characters only where the rest of
# the window is a request line's start (its target and " HTTP/"), so a client-first protocol whose first line is a
# long token and text (an SSH client's 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13') is still refused at its first bytes
_START = re.compile(rb"(?:\r?\n)*(?:\r?\Z|" + _PREFIX + rb"|" + _TOKEN + rb"{1,20}(?: |\Z)|"
                    + _TOKEN + rb"{21,}(?: ?\Z| \S+(?:\Z| \Z| " + _PREFIX + rb")))")
START_WINDOW = 128  # bytes of a direction's first bytes the start test reads: a long method's request line begun


def probe(payload: bytes, to_server: bool) -> bool:
    """Whether a flow's first ``payload`` of a direction is HTTP's: a whole request line (any method), a request line
    longer than the probed bytes (base.line_head), a status line of HTTP/1.0 or 1.1."""
    if to_server:
        if _PROBE_REQUEST.match(payload) is not None:
            return True
        head = line_head(payload)
        return head is not None and _PROBE_REQUEST_HEAD.fullmatch(head) is not None
    return payload.startswith((b"HTTP/1.0 ", b"HTTP/1.1 "))


def may_start(buf: bytes | bytearray) -> bool:
    """Whether ``buf``, a direction's bytes before its first message was read, may begin an HTTP message."""
    return _START.match(bytes(buf[:START_WINDOW])) is not None
