"""ArcSight Common Event Format (CEF) lines for alerts ("Implementing ArcSight CEF", rev. 25).

``CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension``:
pipes and backslashes are escaped in the header, ``=``, backslashes and line breaks in extension
values. Severity is CEF's 0-10 scale.
"""

from __future__ import annotations

import re

from iotwarden import __version__
from iotwarden.model.alert import Alert

VENDOR, PRODUCT = "iotwarden", "iotwarden"
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
CEF_SEVERITY = {"info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}  # CEF rev. 25 "Severity"


def _header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _ext(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


def to_cef(alert: Alert) -> str:
    """One CEF line for ``alert`` (no syslog header; see :mod:`iotwarden.export.syslog`)."""
    ext: list[tuple[str, object]] = [
        ("rt", int(alert.last_seen * 1000)),  # receipt time, epoch milliseconds
        ("start", int(alert.first_seen * 1000)),
        ("end", int(alert.last_seen * 1000)),
        ("cnt", alert.count),
        ("cat", alert.id),
        ("externalId", alert.uid),
        ("cs1Label", "mitreTechniques"), ("cs1", ",".join(alert.mitre)),
        ("cs2Label", "deviceKey"), ("cs2", alert.subject),
        ("cs3Label", "alertKey"), ("cs3", alert.key),
        ("cs4Label", "status"), ("cs4", alert.status),
    ]
    if alert.src_ip:
        ext.append(("src", alert.src_ip))
    if alert.dst_ip:
        ext.append(("dst", alert.dst_ip))
    ext.append(("msg", alert.title))
    header = "|".join(_header(v) for v in ("CEF:0", VENDOR, PRODUCT, __version__, alert.id, alert.title))
    return f"{header}|{CEF_SEVERITY[alert.severity]}|" + " ".join(f"{k}={_ext(v)}" for k, v in ext)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """(header fields, extension) of a CEF line, undoing the escapes: for tests and receivers."""
    header: list[str] = []
    cur, i = "", 0
    while len(header) < 7:
        c = line[i]
        if c == "\\" and line[i + 1] in "\\|":
            cur += line[i + 1]
            i += 2
            continue
        if c == "|":
            header.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    pairs: list[tuple[str, str]] = []
    # a token "k=v" starts a pair when its "=" is unescaped; otherwise it continues the value before
    for tok in line[i:].split(" "):
        k, sep, v = tok.partition("=")
        if sep and "\\" not in k and k.isidentifier():
            pairs.append((k, v))
        elif pairs:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + " " + tok)
    return header, {k: _UNESCAPE.sub(lambda m: {"n": "\n", "r": "\r"}.get(m[1], m[1]), v) for k, v in pairs}
