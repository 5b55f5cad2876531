"""NTP (RFC 5905) on 123/udp, with the mode 6 control and mode 7 private messages scanners abuse.

kind: the mode (RFC 5905 §7.3, Figure 10): ``symmetric_active`` (1), ``symmetric_passive`` (2),
``client`` (3), ``server`` (4), ``broadcast`` (5), ``control`` (6, RFC 9327 §2), ``private`` (7,
ntpd's implementation-specific mode, e.g. the "monlist" request), ``reserved`` (0). Subject ``src``.

Fields, every mode: ``version``, ``mode`` (int). Modes 0-5 (the 48-octet header, §7.3): ``leap``,
``stratum``, ``poll``, ``precision`` (log2 seconds), ``root_delay`` and ``root_dispersion``
(seconds), ``reference_id`` (§7.3: the 4 ASCII characters for stratum 0 and 1, e.g. "GPS" or a kiss
code; the IPv4 address for stratum 2 and above), ``reference_id_raw`` (hex "4c:4f:43:4c"),
``reference_ts``, ``origin_ts``, ``receive_ts``, ``transmit_ts`` (Unix seconds as float, 0.0 when
unset; era by RFC 4330 §3). Mode 6 (RFC 9327 §2.1): ``response``, ``error``, ``more`` (bools),
``opcode``, ``sequence``, ``status``, ``association_id``, ``count``, and ``variables`` (key=value
pairs of a read-variables response, e.g. version, system, processor; at most MAX_VARIABLES).
Mode 7: ``response``, ``more``, ``implementation``, ``request_code`` (ntpd ntp_request.h).
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet, flip_roles
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_VARIABLES = 32  # key=value pairs kept from a mode 6 read-variables response
MAX_VALUE_CHARS = 256  # characters kept of one variable's value
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
HEADER = struct.Struct("!BBbbII4sQQQQ")  # RFC 5905 §7.3, Figure 8: 48 octets
CONTROL = struct.Struct("!BBHHHHH")  # RFC 9327 §2.1: 12 octets
SERVER_MODE = 4  # RFC 5905 §7.3 Figure 10
MODES = ("reserved", "symmetric_active", "symmetric_passive", "client", "server", "broadcast",
         "control", "private")


def ntp_time(value: int) -> float:
    """An NTP timestamp (§6: 32-bit seconds, 32-bit fraction) as Unix seconds; 0.0 when zero.

    Seconds with the top bit clear are taken as era 1 (2036-2104), as RFC 4330 §3 suggests.
    """
    if value == 0:
        return 0.0
    seconds = value >> 32
    if not seconds & 0x80000000:
        seconds += 2**32
    return seconds - NTP_UNIX_OFFSET + (value & 0xFFFFFFFF) / 2**32


def _short(value: int) -> float:
    """NTP short format (§6: 16-bit seconds, 16-bit fraction) as seconds."""
    return (value >> 16) + (value & 0xFFFF) / 2**16


def _variables(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in data.decode("ascii", "backslashreplace").split(","):
        key, sep, value = item.strip().partition("=")
        if sep and key and key not in out and len(out) < MAX_VARIABLES:
            out[key] = value.strip().strip('"')[:MAX_VALUE_CHARS]
    return out


def parse_ntp(buf: bytes) -> tuple[str, dict[str, Any]]:
    if not buf:
        raise ParseError("ntp: empty datagram")
    version, mode = (buf[0] >> 3) & 7, buf[0] & 7
    fields: dict[str, Any] = {"version": version, "mode": mode}
    if mode == 6:
        if len(buf) < CONTROL.size:
            raise ParseError("ntp: control message shorter than 12 octets")
        _, rem, seq, status, assoc, _offset, count = CONTROL.unpack_from(buf)
        fields.update(response=bool(rem & 0x80), error=bool(rem & 0x40), more=bool(rem & 0x20),
                      opcode=rem & 0x1F, sequence=seq, status=status, association_id=assoc, count=count)
        data = buf[CONTROL.size : CONTROL.size + count]
        if fields["response"] and fields["opcode"] == 2 and data:  # read variables (RFC 9327 §3.2)
            fields["variables"] = _variables(data)
        return MODES[mode], fields
    if mode == 7:
        if len(buf) < 4:
            raise ParseError("ntp: private message shorter than 4 octets")
        fields.update(response=bool(buf[0] & 0x80), more=bool(buf[0] & 0x40), implementation=buf[2],
                      request_code=buf[3])
        return MODES[mode], fields
    if len(buf) < HEADER.size:
        raise ParseError(f"ntp: {len(buf)} octets, shorter than the 48-octet header")
    (_, stratum, poll, precision, root_delay, root_disp, refid, ref_ts, org_ts, rec_ts,
     xmt_ts) = HEADER.unpack_from(buf)
    if version == 0:
        raise ParseError("ntp: version 0")
    fields.update(
        leap=buf[0] >> 6,
        stratum=stratum,
        poll=poll,
        precision=precision,
        root_delay=_short(root_delay),
        root_dispersion=_short(root_disp),
        reference_id=(refid.rstrip(b"\x00").decode("ascii", "backslashreplace") if stratum <= 1
                      else str(ipaddress.IPv4Address(refid))),
        reference_id_raw=":".join(f"{b:02x}" for b in refid),
        reference_ts=ntp_time(ref_ts),
        origin_ts=ntp_time(org_ts),
        receive_ts=ntp_time(rec_ts),
        transmit_ts=ntp_time(xmt_ts),
    )
    return MODES[mode], fields


class NtpDissector(Dissector):
    name: ClassVar[str] = "ntp"
    udp_ports: ClassVar[tuple[int, ...]] = (123,)
    # small and slow (one poll per 64-1024 s), and mode 6/7 abuse is judged per request: see them all
    max_packets_per_flow: ClassVar[int | None] = None

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        kind, fields = parse_ntp(pkt.payload)
        if pkt.to_server and fields["mode"] == SERVER_MODE:
            # a server's answer (RFC 5905 §7.3, mode 4) towards the flow's responder: both ends often use 123, so a
            # capture that lost the request (a SPAN port's drop) or began after it took the server for the client
            # (dissect/base.py flip_roles)
            flip_roles(state)
        return [pkt.observation(self.name, kind, fields)]
