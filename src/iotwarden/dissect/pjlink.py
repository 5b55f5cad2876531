"""PJLink on tcp/4352 (JBMIA PJLink Specifications, Class 1 v1.04 and Class 2 v2.00): the greeting of a projector or
display and its answers to a controller's queries, which name its maker, product, class, serial and software; and
Class 2's search and status notifications on udp/4352, in which a device states its MAC address.

Kinds (subject ``src``):

* ``greeting`` (the device, first on the connection): ``security`` True for 'PJLINK 1 <random>' (it
  asks for the MD5 authentication of each command), False for 'PJLINK 0'; ``auth_error`` True for 'PJLINK ERRA'.
* ``reply`` (the device): ``command`` (the four-character body answered: 'INF1', 'POWR'), ``pjlink_class`` (the
  digit after '%', 1 or 2), ``error`` ('ERR1' undefined command, 'ERR2' out of parameter, 'ERR3' unavailable time,
  'ERR4' device failure, 'ERRA' authentication) and, for the identity queries only, what they answer:
  ``device_class`` (CLSS), ``manufacturer`` (INF1), ``product`` (INF2), ``other_info`` (INFO), ``serial_number``
  (SNUM, Class 2), ``software_version`` (SVER, Class 2). Status answers (power, input, lamp, errors) give their
  command only; the name a site gave the device (NAME) is not kept.
* ``command`` (the controller): ``command``, ``pjlink_class``, ``query`` (True for a '?' parameter: a read;
  False: a setting, 'POWR 1' powers the device on). The authentication digest before it is dropped.

Lines end with CR (an LF after it is skipped). A line that is none of these, or one over ``MAX_LINE``,
ends the direction (ParseError): what came before it stands.

On udp/4352 (Class 2 v2.00, search and status notification; both ends' port is 4352), subject ``src``:

* ``search`` (a controller, broadcast: '%2SRCH'): no fields; the searching host states nothing about itself.
* ``search_ack`` (a device answering the search: '%2ACKN=<MAC>'): ``command`` 'ACKN', ``mac`` (written
  aa:bb:cc:dd:ee:ff).
* ``notification`` (a device, unprompted, to its controller): ``command`` 'LKUP' (its network link came up: ``mac``
  its MAC), 'ERST' (error status, six digits), 'POWR' (power status) or 'INPT' (input); ``status`` the value of the
  last three, ``mac`` None for them.

A datagram may hold several lines; each is one of these or the rest of the datagram is refused (ParseError),
what came before it standing. ``MAX_NOTICES`` observations per flow.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector, safety_net
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 4352  # IANA 'pjlink' tcp/udp 4352
# bytes of one line before its CR (the specification's lines are short: NAME, the longest answer, has up to 64 bytes)
MAX_LINE = 256
MAX_TEXT = 64  # characters kept of one answer (INF1, INF2, INFO, SNUM, SVER: up to 32 bytes in the specification)
MAX_REPLIES = 32  # reply observations per flow
MAX_COMMANDS = 32  # command observations per flow
# stream bytes read of a flow, both directions: a controller polls the same few queries again and again, so the
# first replies and commands say all there is
MAX_STREAM_BYTES = (MAX_REPLIES + MAX_COMMANDS) * MAX_LINE
CR = b"\r"
IDENTITY = {"CLSS": "device_class", "INF1": "manufacturer", "INF2": "product", "INFO": "other_info",
            "SNUM": "serial_number", "SVER": "software_version"}
NOTIFICATIONS = frozenset({"LKUP", "ERST", "POWR", "INPT"})  # Class 2 status notification (udp/4352)
MAX_NOTICES = 32  # udp/4352 observations per flow: a device notifies on each change, a controller searches again
ERRORS = frozenset({"ERR1", "ERR2", "ERR3", "ERR4", "ERRA"})
_REPLY = re.compile(rb"^%([12])([A-Z0-9]{4})=(.*)$", re.DOTALL)
_COMMAND = re.compile(rb"^(?:[0-9a-fA-F]{32})?%([12])([A-Z0-9]{4}) (.*)$", re.DOTALL)
_SEARCH = b"%2SRCH"
_NOTICE = re.compile(rb"^%2([A-Z]{4})=(.{1," + str(MAX_TEXT).encode() + rb"})$", re.DOTALL)
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_GREETING = re.compile(rb"^PJLINK (?:([01])(?: ([0-9A-Za-z]{1,32}))?|(ERRA))$")


class PjlinkDissector(StreamDissector):
    name: ClassVar[str] = "pjlink"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)  # Class 2 search and status notification
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    max_buffer: ClassVar[int] = MAX_LINE  # an incomplete line between feeds

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """The device speaks first: its whole greeting line, on any port."""
        line, sep, _ = payload.partition(CR)
        return not to_server and bool(sep) and _GREETING.match(line) is not None

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto != 6:  # udp/4352: whole lines in each datagram, no greeting, no direction to close
            return self._datagram(pkt, data, state)
        key = streambuf.direction_key(pkt.to_server)
        if state.get("closed_" + key):
            return []
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        try:
            while (record := streambuf.take_record(buf, CR, MAX_LINE, "PJLink line")) is not None:
                line = record.lstrip(b"\n")
                if line:
                    self._line(pkt, line, state, out)
        except ParseError as exc:  # the direction is closed: what came before it stands
            state["closed_" + key] = True
            buf.clear()
            raise streambuf.failed(exc, out) from None
        streambuf.bound(state, buf, self.max_buffer)
        return out

    def _line(self, pkt: Packet, line: bytes, state: dict[str, Any], out: list[Observation]) -> None:
        if pkt.to_server:
            m = _COMMAND.match(line)
            if m is None:
                raise ParseError(f"not a PJLink command: {line[:40]!r}")
            if _count(state, "commands", MAX_COMMANDS):
                out.append(pkt.observation(self.name, "command", {
                    "command": m.group(2).decode(), "pjlink_class": int(m.group(1)), "query": m.group(3) == b"?"}))
            return
        greeting = _GREETING.match(line)
        if greeting is not None:
            if not state.get("greeted"):
                state["greeted"] = True
                out.append(pkt.observation(self.name, "greeting", {
                    "security": greeting.group(1) == b"1" if greeting.group(1) else None,
                    "auth_error": greeting.group(3) is not None}))
            return
        m = _REPLY.match(line)
        if m is None:
            raise ParseError(f"not a PJLink reply: {line[:40]!r}")
        if not _count(state, "replies", MAX_REPLIES):
            return
        command, value = m.group(2).decode(), streambuf.text(m.group(3), MAX_LINE).strip()
        fields: dict[str, Any] = {"command": command, "pjlink_class": int(m.group(1)), "error": None}
        fields.update(dict.fromkeys(IDENTITY.values()))
        if value in ERRORS:
            fields["error"] = value
        elif command in IDENTITY and value:
            fields[IDENTITY[command]] = value[:MAX_TEXT]
        out.append(pkt.observation(self.name, "reply", fields))


    def _datagram(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        """Class 2 v2.00 search (a controller's '%2SRCH', a device's '%2ACKN=<MAC>') and status notifications
        ('%2LKUP=<MAC>', '%2ERST=', '%2POWR=', '%2INPT=') in one datagram."""
        out: list[Observation] = []
        try:
            for raw in data.split(CR):
                line = raw.lstrip(b"\n")
                if not line:
                    continue
                if len(line) > MAX_LINE:
                    raise ParseError(f"PJLink line over {MAX_LINE} bytes")
                kind, fields = _notice(line)
                if not _count(state, "notices", MAX_NOTICES):
                    break
                out.append(pkt.observation(self.name, kind, fields))
        except ParseError as exc:
            raise streambuf.failed(exc, out) from None
        return out


def _notice(line: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one udp/4352 line (PJLink Class 2 v2.00 search and status notification); ParseError
    when it is none of them."""
    if line == _SEARCH:
        return "search", {}
    m = _NOTICE.match(line)
    command = m.group(1).decode() if m else ""
    if m is None or command not in NOTIFICATIONS | {"ACKN"}:
        raise ParseError(f"not a PJLink search or notification: {line[:40]!r}")
    value = streambuf.text(m.group(2), MAX_TEXT).strip()
    if command in ("ACKN", "LKUP"):  # the device's MAC address, 'xx:xx:xx:xx:xx:xx'
        if _MAC.match(value) is None:
            raise ParseError(f"PJLink {command} without a MAC address: {value[:40]!r}")
        mac = value.lower().replace("-", ":")
        return ("search_ack" if command == "ACKN" else "notification"), {"command": command, "mac": mac,
                                                                        "status": None}
    return "notification", {"command": command, "mac": None, "status": value}


def _count(state: dict[str, Any], key: str, limit: int) -> bool:
    """Whether another observation of ``key`` fits under ``limit`` (counted when it does)."""
    n = state.get(key, 0)
    if n >= limit:
        return False
    state[key] = n + 1
    return True
