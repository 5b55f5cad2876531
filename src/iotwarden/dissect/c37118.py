"""IEEE C37.118 synchrophasor dissector (tcp/4712, udp/4713): the frames a PMU or PDC streams and the
commands its client sends.

Sources: IEEE Std C37.118.2-2011 (Synchrophasor Data Transfer for Power Systems) §6.2 message framework
(Table 2 SYNC: 0xAA, frame type in bits 6-4, version in bits 3-0; FRAMESIZE, IDCODE, SOC, FRACSEC, CHK a
CRC-CCITT with start value 0xFFFF and no final mask), §6.3 data frame (Table 7 STAT bits), §6.4
configuration frames (Table 8 CFG-1/CFG-2, Table 10 CFG-3), §6.5 header frame, §6.6 command frame (Table
15 CMD codes); Wireshark epan/dissectors/packet-synphasor.c (frame type and command names, the default
ports 4712/tcp and 4713/udp, which IANA never registered).

Every frame's sender is its subject (``src``): data, configuration and header frames describe the data
source (a PMU, or a PDC forwarding several PMUs' measurements), commands its client (a PDC or historian).
Every observation has ``frame_type`` (data, header, cfg1, cfg2, cfg3, command), ``version`` (1: C37.118-2005,
2: C37.118.2-2011), ``idcode`` (the stream's IDCODE), ``soc`` and ``fracsec``. Kinds:

* ``config``: ``time_base``, ``num_pmu``, ``data_rate`` (frames per second; negative: seconds per frame),
  ``cont_idx`` (CFG-3 fragments; only a frame with the whole configuration, index 0, is read further) and
  ``pmus``, per PMU (the first :data:`MAX_PMUS`): ``station_name`` (STN), ``idcode``, ``format``, ``phasors``,
  ``analogs``, ``digitals`` (PHNMR, ANNMR, DGNMR), ``channel_names`` (the first :data:`MAX_CHANNEL_NAMES`),
  ``fnom`` (50 or 60 Hz), ``cfgcnt``; CFG-3 adds ``g_pmu_id`` (hex), ``latitude``, ``longitude``,
  ``elevation``, ``svc_class`` and ``station_name`` lengths up to 255.
* ``header``: ``text``, the header frame's ASCII description (its first :data:`MAX_HEADER_TEXT` characters).
* ``command``: ``command_code`` and ``command`` (turn_off_transmission, turn_on_transmission, send_header,
  send_cfg1, send_cfg2, send_cfg3, extended_frame, user_defined, reserved) and ``extended_frame_length``.
* ``data``: the first data frame of a direction, each one whose first PMU's STAT word differs from the last
  reported, and every :data:`DATA_REPORT_EVERY` th: ``data_frames`` (data frames of the direction so far),
  ``stat`` and its flags (Table 7): ``data_error``, ``pmu_sync`` (True: synchronised to UTC),
  ``data_sorting``, ``pmu_trigger``, ``config_change``, ``data_modified``, ``time_quality``,
  ``unlocked_time``, ``trigger_reason``. Measurements are not decoded.

No command of the standard changes the device (Table 15: start and stop of the data stream, requests for
header and configuration frames, an extended frame of user data), so the dissector marks no
model/otops.py operation: turning the data stream off is the routine end of a PDC's session.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector, confirm
from iotwarden.dissect.otstream import ResyncOnGap, collect, direction_key, frames, text, u16be
from iotwarden.errors import ParseError
from iotwarden.model import Observation

TCP_PORT, UDP_PORT = 4712, 4713
HEADER = 14  # SYNC, FRAMESIZE, IDCODE, SOC, FRACSEC (§6.2, Table 3)
MIN_FRAME = HEADER + 2  # and the CHK
FRAME_TYPES = {0: "data", 1: "header", 2: "cfg1", 3: "cfg2", 4: "command", 5: "cfg3"}  # Table 2 bits 6-4
CONFIG_TYPES = frozenset({2, 3, 5})
COMMANDS = {  # Table 15
    0x0001: "turn_off_transmission", 0x0002: "turn_on_transmission", 0x0003: "send_header",
    0x0004: "send_cfg1", 0x0005: "send_cfg2", 0x0006: "send_cfg3", 0x0008: "extended_frame",
}
USER_COMMANDS = range(0x0100, 0x1000)  # Table 15: user designated codes
CHNAM_LEN = 16  # CFG-1/2 names are 16 bytes (§6.4, Table 8)
MAX_PMUS = 64  # PMU blocks described per configuration observation (a PDC's stream may carry hundreds)
MAX_CHANNEL_NAMES = 32  # channel names kept per PMU block
MAX_HEADER_TEXT = 1024  # characters of a header frame's text kept
DATA_REPORT_EVERY = 3000  # a data observation at least this often (one minute at 50 frames/s)
DATA_KEYS = ("data_frames", "data_stat")  # per-direction state keys (suffixed with the direction)


def frame_length(buf: bytes) -> int | None:
    """Size of the frame at the head of ``buf`` (FRAMESIZE, §6.2); ParseError when it is no frame."""
    if len(buf) < 4:
        return None
    if buf[0] != 0xAA or buf[1] & 0x80 or (buf[1] >> 4) & 0x07 not in FRAME_TYPES:
        raise ParseError(f"not a C37.118 SYNC word (0x{buf[0]:02x}{buf[1]:02x})")
    size = (buf[2] << 8) | buf[3]
    if size < MIN_FRAME:
        raise ParseError(f"C37.118 FRAMESIZE {size} below {MIN_FRAME}")
    return size


def common_header(frame: bytes) -> dict[str, Any]:
    """The fields every frame has (§6.2), after checking its CHK (CRC-CCITT, start value 0xFFFF)."""
    if len(frame) < MIN_FRAME:
        raise ParseError("C37.118 frame shorter than its header")
    if binascii.crc_hqx(frame[:-2], 0xFFFF) != u16be(frame, len(frame) - 2):
        raise ParseError("C37.118 frame with a bad CHK")
    soc, fracsec = struct.unpack_from(">II", frame, 6)
    return {"frame_type": FRAME_TYPES[(frame[1] >> 4) & 0x07], "version": frame[1] & 0x0F,
            "idcode": u16be(frame, 4), "soc": soc, "fracsec": fracsec & 0xFFFFFF}


def stat_flags(stat: int) -> dict[str, Any]:
    """The STAT word of a PMU's data block (Table 7)."""
    return {"stat": stat, "data_error": stat >> 14, "pmu_sync": not stat & 0x2000,
            "data_sorting": "by_arrival" if stat & 0x1000 else "by_time", "pmu_trigger": bool(stat & 0x0800),
            "config_change": bool(stat & 0x0400), "data_modified": bool(stat & 0x0200),
            "time_quality": (stat >> 6) & 0x07, "unlocked_time": (stat >> 4) & 0x03, "trigger_reason": stat & 0x0F}


class _Reader:
    """Bounded big-endian reads over a frame's body (the CHK excluded)."""

    def __init__(self, body: bytes, off: int) -> None:
        self.body, self.off = body, off

    def take(self, n: int) -> bytes:
        if n < 0 or self.off + n > len(self.body):
            raise ParseError("C37.118 configuration block past the end of the frame")
        out = self.body[self.off : self.off + n]
        self.off += n
        return out

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def name(self, cfg3: bool) -> str:
        return text(self.take(self.take(1)[0] if cfg3 else CHNAM_LEN), 255)


def _pmu_block(r: _Reader, cfg3: bool) -> dict[str, Any]:
    """One PMU's configuration (Table 8 for CFG-1/2, Table 10 for CFG-3)."""
    pmu: dict[str, Any] = {"station_name": r.name(cfg3), "idcode": r.u16()}
    if cfg3:
        pmu["g_pmu_id"] = r.take(16).hex()
    pmu["format"] = r.u16()
    phasors, analogs, digitals = r.u16(), r.u16(), r.u16()
    pmu.update(phasors=phasors, analogs=analogs, digitals=digitals)
    names = phasors + analogs + 16 * digitals
    if cfg3:
        pmu["channel_names"] = [r.name(True) for _ in range(names)][:MAX_CHANNEL_NAMES]
        r.take(12 * phasors + 8 * analogs + 4 * digitals)  # PHSCALE, ANSCALE, DIGUNIT
        pmu["latitude"], pmu["longitude"], pmu["elevation"] = (round(v, 6) for v in struct.unpack(">fff", r.take(12)))
        pmu["svc_class"] = r.take(1).decode("ascii", "replace")
        r.take(8)  # WINDOW, GRP_DLY
    else:
        kept = min(names, MAX_CHANNEL_NAMES)
        pmu["channel_names"] = [r.name(False) for _ in range(kept)]
        r.take(CHNAM_LEN * (names - kept) + 4 * (phasors + analogs + digitals))  # the other names, units
    pmu["fnom"] = 50 if r.u16() & 0x0001 else 60
    pmu["cfgcnt"] = r.u16()
    return pmu


def parse_config(frame: bytes, fields: dict[str, Any]) -> None:
    """Configuration frame fields (§6.4) into ``fields``."""
    cfg3 = fields["frame_type"] == "cfg3"
    r = _Reader(frame[:-2], HEADER)
    if cfg3:
        fields["cont_idx"] = r.u16()
        if fields["cont_idx"] != 0:  # a fragment: the PMU blocks span several frames
            return
    fields["time_base"] = int.from_bytes(r.take(4), "big") & 0xFFFFFF
    fields["num_pmu"] = num_pmu = r.u16()
    pmus = [_pmu_block(r, cfg3) for _ in range(num_pmu)]
    fields["pmus"] = pmus[:MAX_PMUS]
    fields["data_rate"] = struct.unpack(">h", r.take(2))[0]


def parse_command(frame: bytes, fields: dict[str, Any]) -> None:
    """Command frame fields (§6.6, Table 15) into ``fields``."""
    code = u16be(frame, HEADER)
    fields["command_code"] = code
    fields["command"] = COMMANDS.get(code) or ("user_defined" if code in USER_COMMANDS else "reserved")
    fields["extended_frame_length"] = len(frame) - HEADER - 4


class C37118Dissector(ResyncOnGap, StreamDissector):
    name: ClassVar[str] = "c37118"
    tcp_ports: ClassVar[tuple[int, ...]] = (TCP_PORT,)
    udp_ports: ClassVar[tuple[int, ...]] = (UDP_PORT,)
    max_packets_per_flow: ClassVar[int | None] = None

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto == 17:  # a datagram carries whole frames
            found, error = frames({}, pkt.to_server, data, frame_length)
        else:
            found, error = frames(state, pkt.to_server, data, frame_length)
        return collect(found, [error] if error else [], lambda frame: self._frame(pkt, frame, state))

    def _frame(self, pkt: Packet, frame: bytes, state: dict[str, Any]) -> Iterator[Observation]:
        fields = common_header(frame)
        kind = fields["frame_type"]
        if kind == "data":
            yield from self._data(pkt, frame, fields, state)
            return
        if kind == "header":
            fields["text"] = frame[HEADER:-2].decode("ascii", "replace")[:MAX_HEADER_TEXT].rstrip("\x00 ")
        elif kind == "command":
            parse_command(frame, fields)
        else:
            parse_config(frame, fields)
            kind = "config"
        yield pkt.observation(self.name, kind, fields)

    def _data(self, pkt: Packet, frame: bytes, fields: dict[str, Any], state: dict[str, Any]) -> Iterator[Observation]:
        """Counted; described when first seen, when the first PMU's STAT changes, and every DATA_REPORT_EVERY."""
        confirm(state)
        suffix = direction_key(pkt.to_server)
        count_key, stat_key = (f"{key}_{suffix}" for key in DATA_KEYS)
        count = state[count_key] = state.get(count_key, 0) + 1
        stat = u16be(frame, HEADER) if len(frame) >= HEADER + 4 else None
        if count > 1 and stat == state.get(stat_key) and count % DATA_REPORT_EVERY:
            return
        state[stat_key] = stat
        fields["data_frames"] = count
        if stat is not None:
            fields.update(stat_flags(stat))
        yield pkt.observation(self.name, "data", fields)
