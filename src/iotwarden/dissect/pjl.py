"""PJL on the raw printing port (HP JetDirect tcp/9100): the PJL command names a client sends before its
job, and the printer's replies to its status and information requests (HP PJL Technical Reference Manual).

Kinds (subject ``src``):

* ``command`` (the client): ``command``, the PJL command's name ("JOB", "INFO ID", "USTATUS DEVICE",
  "SET USERNAME", "ENTER LANGUAGE"), and ``language`` for ENTER LANGUAGE (the job's PDL, "PCL").
  Only names are kept: never a command's values (the driver's JOB NAME, SET USERNAME, COMMENT text).
* ``reply`` (the printer): ``category`` (the request answered: "INFO ID", "INFO CONFIG", "INFO STATUS",
  "USTATUS DEVICE", "USTATUS JOB"), ``model`` (INFO ID: the printer's model, '"HP LaserJet 4250"'),
  ``languages`` (INFO CONFIG's LANGUAGES list), ``status_code``, ``display``, ``online`` (INFO STATUS and
  USTATUS DEVICE: CODE, DISPLAY, ONLINE); nothing of other replies (a USTATUS JOB names the job).

The client's bytes are read only up to ENTER LANGUAGE, or the first byte that is no PJL line: the print
job (PCL, PostScript, PDF, raster) is never parsed.

Dispatch is by the client's first bytes (:meth:`PjlDissector.probe`: the UEL then ``@PJL``, or ``@PJL``),
on any port, never by the port alone: what a client sends to tcp/9100 may be a bare job (PCL, PostScript,
PDF, plain text: printing raw data is what the port is for) or another service's protocol (Prometheus'
node_exporter answers HTTP on 9100), and neither is PJL nor malformed PJL. So a bare job names nothing and
counts no error, HTTP on 9100 reaches the HTTP dissector, and JetDirect's second and third ports (9101,
9102) are read like the first.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector, safety_net
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_LINE = 1024  # bytes of one PJL command line before its LF (the Tech Ref sets no limit; lines are short)
MAX_REPLY = 4096  # bytes of one reply before its closing form feed
MAX_COMMANDS = 32  # command observations per flow
MAX_REPLIES = 16  # reply observations per flow
MAX_LANGUAGES = 16  # INFO CONFIG languages kept
MAX_TEXT = 128  # characters kept of a model or display text
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): the PJL header and the
# printer's replies come first, then the print job (not parsed, yet counted); MAX_REPLIES of up to MAX_REPLY and
# 32 KiB for the header and the start of the job: about what the 64-packet cap read of full-size segments
MAX_STREAM_BYTES = MAX_REPLIES * MAX_REPLY + 32 * 1024

UEL = b"\x1b%-12345X"  # Universal Exit Language (PJL Tech Ref, UEL command): starts and ends PJL
PREFIX = b"@PJL"
FORM_FEED = b"\x0c"  # ends every reply the printer sends (PJL Tech Ref, status readback)
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
# commands whose first argument names what is asked or set (kept without its value)
_TWO_WORDS = frozenset({"INFO", "USTATUS", "INQUIRE", "DINQUIRE", "SET", "DEFAULT", "ENTER", "RESET"})
_READBACK = frozenset({"INFO", "USTATUS", "INQUIRE", "DINQUIRE"})  # status readback commands (PJL Tech Ref)
_STATUS_KEYS = {"CODE": "status_code", "DISPLAY": "display", "ONLINE": "online"}


def _command_name(line: str) -> tuple[str, str | None] | None:
    """(name, language) of one '@PJL ...' line; None if it is no PJL command line."""
    if not line.startswith("@PJL") or (len(line) > 4 and not line[4].isspace()):
        return None
    words = line[4:].strip().split(None, 2)
    if not words:
        return "", None  # a bare '@PJL' line is allowed (PJL Tech Ref, PJL syntax)
    verb = words[0].upper()
    if not _NAME.match(verb):
        return None
    if verb in _TWO_WORDS and len(words) > 1:
        what = words[1].partition("=")[0].upper()
        if _NAME.match(what):
            if verb == "ENTER" and what == "LANGUAGE":
                language = " ".join(words[1:]).partition("=")[2].strip().upper()[:32]
                return "ENTER LANGUAGE", language or None
            return f"{verb} {what}", None
    return verb, None


def _reply_fields(text: str) -> dict[str, Any] | None:
    """The fields of one reply (the bytes before its form feed), or None when it is no PJL reply."""
    lines = [ln.strip() for ln in text.replace("\r", "").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines or not lines[0].startswith("@PJL "):
        return None
    words = [w.upper() for w in lines[0][5:].split()[:2]]
    if not words or not _NAME.match(words[0]):
        return None
    # the request answered; a second word only where it names what was asked (never an ECHO's text)
    asked = len(words) > 1 and words[0] in _READBACK and _NAME.match(words[1])
    category = f"{words[0]} {words[1]}" if asked else words[0]
    fields: dict[str, Any] = {"category": category, "model": None, "languages": [], "status_code": None,
                              "display": None, "online": None}
    body = lines[1:]
    if category == "INFO ID":
        first = next((ln for ln in body if ln), "")
        fields["model"] = first.strip('"').strip()[:MAX_TEXT] or None
    elif category == "INFO CONFIG":
        fields["languages"] = _config_languages(body)
    elif category in ("INFO STATUS", "USTATUS DEVICE"):
        for ln in body:
            key, sep, value = ln.partition("=")
            field = _STATUS_KEYS.get(key.strip().upper())
            if sep and field and fields[field] is None:
                value = value.strip().strip('"')[:MAX_TEXT]
                number = int(value) if value.isascii() and value.isdigit() else None  # isdigit alone takes "²"
                fields[field] = number if field == "status_code" else (
                    value.upper() == "TRUE" if field == "online" else value)
    return fields


def _config_languages(body: list[str]) -> list[str]:
    """The LANGUAGES list of an INFO CONFIG reply: 'LANGUAGES [n ENUMERATED]' then one name a line."""
    out: list[str] = []
    inside = False
    for ln in body:
        if ln.upper().startswith("LANGUAGES"):
            inside = True
            continue
        if inside:
            if not ln or "[" in ln or "=" in ln:
                break
            name = ln.split()[0].upper()
            if _NAME.match(name) and name not in out and len(out) < MAX_LANGUAGES:
                out.append(name)
    return out


class PjlDissector(StreamDissector):
    name: ClassVar[str] = "pjl"
    # no port of its own (module docstring): HP JetDirect's tcp/9100 ('pdl-datastream', IANA) carries bare jobs
    # and other services too, so a PJL flow is found by its first bytes
    tcp_ports: ClassVar[tuple[int, ...]] = ()
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    max_buffer: ClassVar[int] = MAX_REPLY  # an incomplete reply (or command line) between feeds

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A client's PJL: the UEL or a '@PJL' line first (PJL Tech Ref: a job starts with the UEL)."""
        return to_server and (payload.startswith(UEL + PREFIX) or payload.startswith(PREFIX + b" "))

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        if state.get("closed_" + key):
            return []
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        try:
            if pkt.to_server:
                self._commands(pkt, buf, state, out)
            else:
                self._replies(pkt, buf, state, out)
        except ParseError as exc:  # the direction is closed: what came before it stands
            state["closed_" + key] = True
            buf.clear()
            raise streambuf.failed(exc, out) from None
        if state.get("closed_" + key):
            buf.clear()
        streambuf.bound(state, buf, self.max_buffer)
        return out

    def _commands(self, pkt: Packet, buf: bytearray, state: dict[str, Any], out: list[Observation]) -> None:
        """The client's PJL lines, up to its print data (PJL Tech Ref, PJL job structure)."""
        while buf:
            if buf.startswith(UEL):
                del buf[: len(UEL)]
                state["pjl"] = True
                continue
            if len(buf) < len(UEL) and (UEL.startswith(buf) or PREFIX.startswith(buf)):
                return  # wait: the start of a UEL or of '@PJL'
            if not buf.startswith(PREFIX):
                self._end_of_pjl(state)  # print data (or, first of all, no PJL): never read
                return
            state["pjl"] = True
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > MAX_LINE:
                    raise ParseError(f"PJL line over {MAX_LINE} bytes")
                return
            if end > MAX_LINE:
                raise ParseError(f"PJL line over {MAX_LINE} bytes")
            line = bytes(buf[:end]).rstrip(b"\r").decode("latin-1")
            del buf[: end + 1]
            parsed = _command_name(line)
            if parsed is None:
                raise ParseError(f"not a PJL command line: {line[:40]!r}")
            name, language = parsed
            count = state.get("commands", 0)
            if name and count < MAX_COMMANDS:
                state["commands"] = count + 1
                out.append(pkt.observation(self.name, "command", {"command": name, "language": language}))
            if name == "ENTER LANGUAGE":  # the job's PDL follows until the next UEL: not read
                self._end_of_pjl(state)
                return

    @staticmethod
    def _end_of_pjl(state: dict[str, Any]) -> None:
        state["closed_" + streambuf.C2S] = True
        if not state.get("pjl"):  # a bare job: nothing here is PJL, the printer's answers are not read
            state["done"] = True

    def _replies(self, pkt: Packet, buf: bytearray, state: dict[str, Any], out: list[Observation]) -> None:
        """The printer's replies, each ended by a form feed (PJL Tech Ref, status readback)."""
        while buf:
            start = 0
            while start < len(buf) and buf[start] in b"\r\n\t \x00":
                start += 1
            del buf[:start]
            if not buf:
                return
            if not buf.startswith(PREFIX) and not (len(buf) < len(PREFIX) and PREFIX.startswith(buf)):
                raise ParseError(f"not a PJL reply: {bytes(buf[:20])!r}")
            record = streambuf.take_record(buf, FORM_FEED, MAX_REPLY, "PJL reply")
            if record is None:
                return
            text = record.decode("latin-1")
            fields = _reply_fields(text)
            if fields is None:
                raise ParseError(f"not a PJL reply: {text[:20]!r}")
            count = state.get("replies", 0)
            if count < MAX_REPLIES:
                state["replies"] = count + 1
                out.append(pkt.observation(self.name, "reply", fields))
