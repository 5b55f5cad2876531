"""Mail and domain policy TXT records told by their syntax from free-form data: SPF, DKIM keys, DMARC, MTA-STS,
TLS-RPT and BIMI records. Strict enough that a payload does not pass: only each grammar's own terms, and names
without the long, high-entropy labels that carry encoded data (detect/dns_poll's cache refresh rule)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from iotwarden.detect.dns import entropy

LONG_LABEL = 33  # a label this long is data whatever it looks like (host names' labels are short; the limit is 63)
ENCODED_LABEL = 16  # a label this long, with MIN_DIGITS digits and ENCODED_ENTROPY bits a character, is encoded data
MIN_DIGITS = 3
ENCODED_ENTROPY = 3.5  # hex reaches 4 bits a character; words like 'spf-protection-outlook' stay near 3.5 or below

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
# SPF macro-expand (RFC 7208 §7.1): %{letter digits? 'r'? delimiters*}, %%, %_, %-
_MACRO = re.compile(r"%\{[slodiphcrtv][0-9]*r?[.\-+,/_=]*\}|%[%_-]")
_IP4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?")
_IP6 = re.compile(r"[0-9a-f:.]*:[0-9a-f:.]*(?:/\d{1,3})?")
_CIDR = re.compile(r"(?:/\d{1,2})?(?://\d{1,3})?")
_SPF_MECHANISM = re.compile(r"[+\-~?]?(all|include|a|mx|ptr|ip4|ip6|exists)(?:([:/])(.*))?")


def data_label(label: str) -> bool:
    """Whether a DNS label looks like encoded data: very long, or long, mixing digits and of high entropy."""
    return len(label) >= LONG_LABEL or (len(label) >= ENCODED_LABEL and sum(c.isdigit() for c in label) >= MIN_DIGITS
                                        and entropy(label) >= ENCODED_ENTROPY)


def host_name(name: str, *, macros: bool = False) -> bool:
    """A host name of at least two labels, none of them data (``macros``: SPF's macro-expands allowed in labels)."""
    labels = name.lower().rstrip(".").split(".")
    if len(labels) < 2:
        return False
    for label in labels:
        bare = _MACRO.sub("", label) if macros else label
        if ((bare or not macros) and not _LABEL.fullmatch(bare)) or data_label(bare):
            return False
    return True


def _spf(record: str) -> bool:
    """RFC 7208 §4.5/§12: ``v=spf1`` then mechanisms and the redirect=/exp= modifiers only (an unknown modifier's
    free text refused), each domain-spec a host name without data labels."""
    terms = record.split()
    if not terms or terms[0].lower() != "v=spf1":
        return False
    for term in terms[1:]:
        low = term.lower()
        if low.startswith(("redirect=", "exp=")):
            if not host_name(low.split("=", 1)[1], macros=True):
                return False
            continue
        m = _SPF_MECHANISM.fullmatch(low)
        if m is None:
            return False
        kind, sep, arg = m.group(1), m.group(2), m.group(3) or ""
        if kind == "all":
            if sep:
                return False
        elif kind == "ip4":
            if sep != ":" or not _IP4.fullmatch(arg):
                return False
        elif kind == "ip6":
            if sep != ":" or not _IP6.fullmatch(arg):
                return False
        elif kind in ("include", "exists"):
            if sep != ":" or not host_name(arg, macros=True):
                return False
        elif sep == "/":  # a/mx with a prefix length only
            if not _CIDR.fullmatch("/" + arg):
                return False
        elif sep == ":":  # a/mx/ptr:domain-spec[cidr]
            domain, _, cidr = arg.partition("/")
            if not host_name(domain, macros=True) or (cidr and not _CIDR.fullmatch("/" + cidr)):
                return False
    return True


def _tags(record: str) -> dict[str, str] | None:
    """A tag-list (RFC 6376 §3.2, as DMARC, MTA-STS, TLS-RPT and BIMI use it): tag=value pairs split by ';'; None
    when malformed or a tag repeats."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if not eq or not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in tags:
            return None
        tags[name] = re.sub(r"\s+", "", value)
    return tags


def _uri(value: str, schemes: tuple[str, ...]) -> bool:
    """A mailto: or https: URI (DMARC rua/ruf with its optional !size, RFC 7489 §6.4) whose host is a host name."""
    for uri in value.split(","):
        scheme, _, rest = uri.partition(":")
        if scheme.lower() not in schemes:
            return False
        if scheme.lower() == "mailto":
            local, at, host = rest.partition("@")
            host = host.split("!", 1)[0]
            if not at or not re.fullmatch(r"[A-Za-z0-9._+-]{1,64}", local) or data_label(local) or not host_name(host):
                return False
        else:
            host, _, path = rest.removeprefix("//").partition("/")
            if not rest.startswith("//") or not host_name(host) or \
                    any(data_label(p) for p in re.split(r"[/._-]", path)):
                return False
    return True


def _dkim(record: str) -> bool:
    """RFC 6376 §3.6.1: v=DKIM1 (first, if present), k=rsa|ed25519, h=, s=, t= flags, and p= a public key in base64
    (an RSA key a DER SEQUENCE, an Ed25519 key 32 octets) or empty (revoked); notes (n=) refused: free text."""
    tags = _tags(record)
    if tags is None or "p" not in tags or not set(tags) <= {"v", "k", "h", "s", "t", "p"}:
        return False
    if "v" in tags and (tags["v"] != "DKIM1" or not record.lstrip().startswith("v=")):
        return False
    key_type = tags.get("k", "rsa").lower()
    if key_type not in ("rsa", "ed25519") or not re.fullmatch(r"(?:sha1|sha256)(?::(?:sha1|sha256))*",
                                                            tags.get("h", "sha256").lower()) \
            or not re.fullmatch(r"(?:\*|email)(?::(?:\*|email))*", tags.get("s", "*").lower()) \
            or not re.fullmatch(r"(?:[ys](?::[ys])*)?", tags.get("t", "").lower()):
        return False
    if not tags["p"]:
        return True
    try:
        key = base64.b64decode(tags["p"], validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(key) == 32 if key_type == "ed25519" else key[:1] == b"\x30"


def _dmarc(tags: dict[str, str]) -> bool:
    """RFC 7489 §6.3 tags and values."""
    checks: dict[str, Callable[[str], bool]] = {
        "v": lambda v: v == "DMARC1", "p": lambda v: v.lower() in ("none", "quarantine", "reject"),
        "sp": lambda v: v.lower() in ("none", "quarantine", "reject"), "adkim": lambda v: v.lower() in ("r", "s"),
        "aspf": lambda v: v.lower() in ("r", "s"), "fo": lambda v: bool(re.fullmatch(r"[01ds](?::[01ds])*", v)),
        "pct": lambda v: v.isdigit() and int(v) <= 100, "rf": lambda v: v.lower() in ("afrf", "iodef"),
        "ri": lambda v: v.isdigit() and len(v) <= 10, "rua": lambda v: _uri(v, ("mailto",)),
        "ruf": lambda v: _uri(v, ("mailto",)),
    }
    return all(name in checks and checks[name](value) for name, value in tags.items())


def _tagged(record: str) -> bool:
    """DMARC (RFC 7489), MTA-STS (RFC 8461 §3.1: v, id of 1-32 alphanumerics), TLS-RPT (RFC 8460 §3: v, rua of
    mailto:/https: URIs) and BIMI (v, l and a https: URIs or empty): v first, the record's own tags only."""
    tags = _tags(record)
    if tags is None or not record.lstrip().startswith("v="):
        return False
    version = tags.get("v")
    if version == "DMARC1":
        return _dmarc(tags)
    if version == "STSv1":
        return set(tags) == {"v", "id"} and bool(re.fullmatch(r"[A-Za-z0-9]{1,32}", tags["id"]))
    if version == "TLSRPTv1":
        return set(tags) == {"v", "rua"} and _uri(tags["rua"], ("mailto", "https"))
    if version == "BIMI1":
        return set(tags) <= {"v", "l", "a"} and all(not tags[t] or _uri(tags[t], ("https",)) for t in ("l", "a")
                                                     if t in tags)
    return False


def policy_record(strings: list[str]) -> bool:
    """Whether one TXT record (its character-strings, joined as RFC 7208 §3.3 and RFC 6376 §3.6.2.2 join them) is a
    mail or domain policy record by syntax (module doc)."""
    record = "".join(strings).strip()
    if not record:
        return False
    return _spf(record) if record[:7].lower() == "v=spf1 " or record.lower() == "v=spf1" \
        else _tagged(record) or _dkim(record)
