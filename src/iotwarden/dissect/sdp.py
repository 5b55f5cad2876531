"""SDP session descriptions (RFC 8866, formerly RFC 4566): what a media server says it streams.

:func:`describe` reads the fields a device's identity shows through: the session name (``s=``,
RFC 8866 §5.3) and information (``i=``, §5.4), the ``a=tool:`` attribute (§6.3, the software that
made the description), and per media section (``m=``, §5.14) its media type and the encoding names
of its formats, from ``a=rtpmap`` (§6.6) or, for static RTP payload types, from RFC 3551 §6.
"""

from __future__ import annotations

from typing import Any

MAX_SDP = 8 * 1024  # bytes of a description parsed; a longer body is not described
MAX_LINES = 256  # lines of one description read
MAX_MEDIA = 8  # media sections described
MAX_CODECS = 16  # distinct encoding names kept
MAX_TEXT = 256  # characters kept of a name, information or tool value

# RFC 3551 §6 Tables 4 and 5: static payload types with an encoding name of their own
STATIC_PAYLOAD_TYPES: dict[int, str] = {
    0: "PCMU", 3: "GSM", 4: "G723", 5: "DVI4", 6: "DVI4", 7: "LPC", 8: "PCMA", 9: "G722", 10: "L16",
    11: "L16", 12: "QCELP", 13: "CN", 14: "MPA", 15: "G728", 16: "DVI4", 17: "DVI4", 18: "G729",
    25: "CelB", 26: "JPEG", 28: "nv", 31: "H261", 32: "MPV", 33: "MP2T", 34: "H263",
}


def _text(value: str) -> str:
    return value.strip()[:MAX_TEXT]


def describe(body: bytes) -> dict[str, Any] | None:
    """The identity fields of an SDP body, or None when it is not a session description.

    Returns ``session_name``, ``session_info``, ``tool`` (None when absent), ``media`` (media types
    in order, e.g. ``["video", "audio"]``) and ``codecs`` (encoding names, upper-cased, in order of
    first appearance: ``["H264", "PCMA"]``). A description must start with ``v=0`` (§5.1).
    """
    if len(body) > MAX_SDP:
        return None
    lines = body.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")[:MAX_LINES]
    if not lines or lines[0].strip() != "v=0":
        return None
    out: dict[str, Any] = {"session_name": None, "session_info": None, "tool": None, "media": [], "codecs": []}
    formats: list[list[str]] = []  # payload types of each media section, in order
    names: dict[tuple[int, str], str] = {}  # (media section, payload type) -> encoding name
    for line in lines[1:]:
        kind, sep, value = line.partition("=")
        if not sep or len(kind) != 1:
            continue  # §5: "<type>=<value>"; anything else is not SDP and is passed over
        section = len(formats) - 1  # -1: the session level
        if kind == "m":
            if len(formats) >= MAX_MEDIA:
                break
            parts = value.split()
            out["media"].append(_text(parts[0]) if parts else "")
            formats.append(parts[3:] if len(parts) > 3 else [])
        elif kind == "s" and section < 0:
            out["session_name"] = _text(value)
        elif kind == "i" and section < 0:
            out["session_info"] = _text(value)
        elif kind == "a":
            name, _, attr = value.partition(":")
            if name == "tool" and section < 0:
                out["tool"] = _text(attr)
            elif name == "rtpmap" and section >= 0:
                pt, _, encoding = attr.strip().partition(" ")
                names[(section, pt)] = encoding.split("/")[0].strip()
    codecs: list[str] = out["codecs"]
    for section, pts in enumerate(formats):
        for pt in pts:
            static = int(pt) if len(pt) <= 3 and pt.isascii() and pt.isdigit() else None
            named = names.get((section, pt)) or (STATIC_PAYLOAD_TYPES.get(static) if static is not None else None)
            codec = _text(named).upper() if named else ""
            if codec and codec not in codecs and len(codecs) < MAX_CODECS:
                codecs.append(codec)
    return out
