"""One SIP message's head read into the fields dissect/sip.py reports (RFC 3261 §7, §20, §25.1).

Owns the wire grammar: start lines (§7.1, §7.2), header fields with line folding (§7.3.1) and compact
names (§7.3.3), comma-separated values (§7.3.1), name-addr / addr-spec (§20.10, §25.1: display names are
read past, never kept), SIP URIs (§19.1.1: a password in the userinfo is dropped), CSeq (§20.16), Digest
credentials and challenges (§22.4, §20.7, §20.27, §20.44; RFC 2617 §3.2). It keeps nothing between messages.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from iotwarden.dissect.httphead import basic_credentials
from iotwarden.errors import ParseError

MAX_HEADERS = 96  # header lines read per message (a REGISTER through proxies carries several Vias)
MAX_VALUE = 512  # characters kept of one header value
MAX_LIST = 32  # items kept of a list header (Allow, Supported, Contact)
MAX_NAME = 128  # characters kept of a URI user or host

# RFC 3261 §7.1: Method SP Request-URI SP SIP-Version; a method is a token (§25.1), extension methods included;
# the version "is case-insensitive, but implementations MUST send upper-case"
REQUEST_LINE = re.compile(rb"^([A-Za-z][A-Za-z0-9.!%*_+`'~-]{0,31}) ([A-Za-z][A-Za-z0-9+.-]{0,15}:\S{1,2040}) "
                          rb"([Ss][Ii][Pp]/\d\.\d)$")
STATUS_LINE = re.compile(rb"^([Ss][Ii][Pp]/\d\.\d) (\d{3})(?: (.*))?$")  # RFC 3261 §7.2

# RFC 3261 §7.3.3 compact forms, and those the extensions registered (IANA "Header Fields" registry)
COMPACT: dict[str, str] = {
    "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length", "c": "content-type",
    "f": "from", "s": "subject", "k": "supported", "t": "to", "v": "via",
    "o": "event", "u": "allow-events",  # RFC 6665 §8.2.1, §8.2.2
    "r": "refer-to",  # RFC 3515 §2.1
    "b": "referred-by",  # RFC 3892 §3
    "x": "session-expires",  # RFC 4028 §4
    "a": "accept-contact", "j": "reject-contact", "d": "request-disposition",  # RFC 3841 §10
}
# headers whose several lines are one comma-separated list (RFC 3261 §7.3.1); the others keep their first line
LISTS = frozenset({"via", "contact", "allow", "supported", "www-authenticate", "proxy-authenticate", "require",
                   "proxy-require", "allow-events", "record-route", "route"})
_PARAM = re.compile(r'([A-Za-z][\w.-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s;]*)')


@dataclass(slots=True)
class Head:
    """A parsed head: the start line's parts and the header fields by long lower-case name."""

    request: bool
    method: str = ""  # requests
    uri: str = ""
    version: str = ""
    status: int = 0  # responses
    reason: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None

    def items(self, name: str) -> list[str]:
        """The comma-separated items of every line of a list header (RFC 3261 §7.3.1)."""
        out: list[str] = []
        for value in self.headers.get(name, ()):
            out.extend(split_list(value))
        return out


def parse_head(head: bytes) -> Head:
    """The start line and header fields of ``head`` (the bytes before the empty line); ParseError when
    the start line is neither a SIP request line nor a status line."""
    lines = head.split(b"\r\n")
    request = REQUEST_LINE.match(lines[0])
    if request is not None:
        out = Head(True, method=request.group(1).decode("ascii").upper(),
                   uri=request.group(2).decode("utf-8", "replace"), version=request.group(3).decode("ascii").upper())
    elif (status := STATUS_LINE.match(lines[0])) is not None:
        out = Head(False, version=status.group(1).decode("ascii").upper(), status=int(status.group(2)),
                   reason=(status.group(3) or b"").decode("utf-8", "replace")[:MAX_VALUE])
    else:
        raise ParseError(f"not a SIP start line: {lines[0][:40]!r}")
    out.headers = _headers(lines[1:])
    return out


def _headers(lines: list[bytes]) -> dict[str, list[str]]:
    joined: list[bytes] = []
    for raw in lines:
        if raw[:1] in (b" ", b"\t") and joined:  # folded onto the previous field (RFC 3261 §7.3.1)
            joined[-1] += b" " + raw.strip()
        elif len(joined) < MAX_HEADERS:
            joined.append(raw)
    out: dict[str, list[str]] = {}
    for raw in joined:
        name, sep, value = raw.partition(b":")
        key = name.strip().decode("ascii", "replace").lower()
        if not sep or not key:  # a line that is no field is passed over
            continue
        key = COMPACT.get(key, key)
        values = out.setdefault(key, [])
        if len(values) < MAX_LIST:
            values.append(value.strip().decode("utf-8", "replace")[:MAX_VALUE])
    return out


def split_list(value: str) -> list[str]:
    """Items of a comma-separated header value; commas inside quotes or <...> are not separators."""
    out: list[str] = []
    start, quoted, angle, escaped = 0, False, False, False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            escaped, quoted = ch == "\\", ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        elif ch == "," and not angle:
            out.append(value[start:i].strip())
            start = i + 1
    out.append(value[start:].strip())
    return [item for item in out if item][:MAX_LIST]


def _unquote(text: str) -> str:
    return text[1:-1].replace('\\"', '"') if len(text) >= 2 and text[0] == text[-1] == '"' else text


def params(text: str) -> dict[str, str]:
    """``name=value`` parameters (RFC 3261 §25.1 generic-param, auth-param), names lower-cased, quotes removed."""
    return {m.group(1).lower(): _unquote(m.group(2))[:MAX_VALUE] for m in _PARAM.finditer(text)}


def uri_of(value: str) -> tuple[str, str]:
    """(URI, header parameters) of a name-addr or addr-spec (RFC 3261 §20.10): the display name is dropped."""
    lt = value.find("<")
    if lt >= 0:
        gt = value.find(">", lt)
        rest = value[gt + 1 :] if gt >= 0 else ""
        return value[lt + 1 : gt if gt >= 0 else len(value)].strip(), rest
    uri, _, rest = value.partition(";")  # an addr-spec's parameters are the header's (§20.10)
    return uri.strip(), rest


def address(uri: str) -> str | None:
    """``user@host`` (or ``host``) of a sip:/sips: URI, ``number`` of a tel: URI (RFC 3966), the user
    percent-decoded and without the password of its userinfo (RFC 3261 §19.1.1); None for other URIs."""
    scheme, sep, rest = uri.partition(":")
    scheme = scheme.lower()
    if not sep:
        return None
    if scheme == "tel":
        return unquote(rest.split(";", 1)[0])[:MAX_NAME] or None
    if scheme not in ("sip", "sips"):
        return None
    hostpart = rest.split(";", 1)[0].split("?", 1)[0]
    user, at, host = hostpart.rpartition("@")
    host = _host(host)
    if not at:
        return host or None
    user = unquote(user.split(":", 1)[0])[:MAX_NAME]
    return f"{user}@{host}" if user else host or None


def _host(hostport: str) -> str:
    """The host of a hostport (RFC 3261 §25.1), an IPv6 reference's brackets kept, the port dropped."""
    if hostport.startswith("["):
        return hostport[: hostport.find("]") + 1][:MAX_NAME] if "]" in hostport else hostport[:MAX_NAME]
    return hostport.split(":", 1)[0].lower()[:MAX_NAME]


def host_of(uri: str) -> str | None:
    """The host of a sip:/sips: URI (an IPv6 reference without its brackets), None for other URIs."""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() not in ("sip", "sips"):
        return None
    host = _host(rest.split(";", 1)[0].split("?", 1)[0].rpartition("@")[2])
    return host.strip("[]") or None


def is_ip(text: str) -> bool:
    """True for an IPv4 or IPv6 address literal (RFC 3261 §25.1 IPv4address, IPv6reference)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def request_uri(uri: str) -> str:
    """The Request-URI as kept: scheme, user and hostport, no password, parameters or headers."""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() not in ("sip", "sips"):
        return uri.split(";", 1)[0][:MAX_VALUE]
    hostpart = rest.split(";", 1)[0].split("?", 1)[0]
    user, at, host = hostpart.rpartition("@")
    kept = f"{user.split(':', 1)[0]}@{host}" if at else host
    return f"{scheme.lower()}:{kept}"[:MAX_VALUE]


def cseq(value: str | None) -> tuple[int | None, str | None]:
    """(sequence number, method) of a CSeq value (RFC 3261 §20.16: a 32-bit number and a method)."""
    if not value:
        return None, None
    number, _, method = value.strip().partition(" ")
    seq = int(number) if number.isascii() and number.isdigit() and len(number) <= 10 else None
    return seq, (method.strip().upper()[:32] or None)


def call_id_hash(value: str | None) -> str | None:
    """A stable digest of a Call-ID (RFC 3261 §20.8): calls can be told apart, the value (often a host's
    address or a random secret) is not kept."""
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:16] if value else None


def credentials(value: str) -> tuple[str, str | None, str | None]:
    """(scheme, username, realm) of an Authorization or Proxy-Authorization value (RFC 3261 §20.7,
    §22.4; RFC 2617 §3.2.2): the Digest ``response`` and any other secret are never returned."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() == "basic":  # RFC 3261 §22.1 forbids it; its token holds the password: user-id only
        basic = basic_credentials(value, MAX_NAME)
        return scheme[:32], basic[0] if basic else None, None
    found = params(rest)
    return scheme[:32], found.get("username", "")[:MAX_NAME] or None, found.get("realm", "")[:MAX_NAME] or None


def challenge(value: str) -> tuple[str, str | None, bool]:
    """(scheme, realm, stale) of a WWW-Authenticate or Proxy-Authenticate challenge (RFC 3261 §20.44,
    §20.27); ``stale`` is Digest's flag that the request was refused only for an expired nonce, its
    credentials being right (RFC 7616 §3.3, RFC 2617 §3.2.1: case-insensitive "true")."""
    scheme, _, rest = value.strip().partition(" ")
    found = params(rest)
    return scheme[:32], found.get("realm", "")[:MAX_NAME] or None, found.get("stale", "").lower() == "true"


def integer(value: str | None, limit: int = 2**32 - 1) -> int | None:
    """A delta-seconds or length value (RFC 3261 §25.1: 1*DIGIT), None when it is not one."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if number <= limit else None
