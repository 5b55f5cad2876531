"""Connectionless DCE/RPC (C706 §12.5) and PROFINET IO CM PDUs (IEC 61158-6-10 §5.1) built by hand from the
specifications' layouts, in either byte order, for the dissector, inventory and detection tests."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

from iotwarden.lab.wire import Frame, Host, udp_frame
from tests.risk.harness import write_pcap as write_frames

PNIO_DEVICE = "dea00001-6c97-11d1-8271-00a02442df7d"
PNIO_CONTROLLER = "dea00002-6c97-11d1-8271-00a02442df7d"
EPM = "e1af8308-5d1f-11c9-91a4-08002b14a0fa"
NIL = "00000000-0000-0000-0000-000000000000"
ACTIVITY = "ecbaabdb-001d-4354-b250-0b01630abafd"
REQUEST, RESPONSE, FAULT, REJECT, PING = 0, 2, 3, 6, 1
FRAG, LASTFRAG, NOFACK = 0x04, 0x02, 0x08


def pnio_object(vendor: int, device: int, instance: int = 1) -> str:
    """The PNIO object UUID dea00000-6c97-11d1-8271-{instance}{device}{vendor}."""
    return f"dea00000-6c97-11d1-8271-{instance:04x}{device:04x}{vendor:04x}"


def _uuid(text: str, order: str) -> bytes:
    u = uuid.UUID(text)
    return u.bytes_le if order == "<" else u.bytes


def cl(ptype: int, body: bytes, *, interface: str = PNIO_DEVICE, obj: str = NIL, opnum: int = 0, order: str = "<",
       seqnum: int = 0, flags1: int = NOFACK, fragnum: int = 0, activity: str = ACTIVITY) -> bytes:
    """A connectionless PDU: the 80-octet header (C706 §12.5.1) then ``body``."""
    drep = b"\x10\x00\x00" if order == "<" else b"\x00\x00\x00"
    head = bytes([4, ptype, flags1, 0]) + drep + b"\x00" + _uuid(obj, order) + _uuid(interface, order) + \
        _uuid(activity, order) + struct.pack(order + "IIIHHHHH", 0, 1, seqnum, opnum, 0xFFFF, 0xFFFF, len(body),
                                             fragnum) + b"\x00\x00"
    return head + body


def block(kind: int, content: bytes, version: tuple[int, int] = (1, 0)) -> bytes:
    """A PNIO block: BlockType, BlockLength (octets after it), version high/low, content (big-endian)."""
    return struct.pack(">HHBB", kind, len(content) + 2, *version) + content


def request_stub(blocks: bytes, order: str = "<") -> bytes:
    """ArgsMaximum, ArgsLength, MaximumCount, Offset, ActualCount (NDR, the drep's order), then the blocks."""
    return struct.pack(order + "IIIII", 32832, len(blocks), 32832, 0, len(blocks)) + blocks


def response_stub(blocks: bytes, order: str = "<", status: bytes = b"\x00\x00\x00\x00") -> bytes:
    """PNIOStatus, ArgsLength, MaximumCount, Offset, ActualCount, then the blocks."""
    return status + struct.pack(order + "IIII", len(blocks), 32832, 0, len(blocks)) + blocks


def record_header(kind: int, index: int, length: int, *, slot: int = 0, subslot: int = 1, api: int = 0) -> bytes:
    """IODReadReqHeader 0x0009, IODWriteReqHeader 0x0008 or their responses 0x8009/0x8008 (64 octets)."""
    tail = bytes(24) if kind in (0x0008, 0x0009) else bytes(4) + bytes(20)  # TargetARUUID+pad / AddVal+status+pad
    return block(kind, struct.pack(">H16sIHHHHI", 10, bytes(16), api, slot, subslot, 0, index, length) + tail)


def im0(*, vendor: int = 0x002A, order_id: bytes = b"6ES7 315-2EH14-0AB0", serial: bytes = b"S C-X4U421302009",
        hw: int = 3, sw: bytes = b"V\x03\x02\x06", counter: int = 0, profile: int = 0) -> bytes:
    """An I&M0 block (0x0020, BlockLength 56: IEC 61158-6-10 I&M0 record)."""
    return block(0x0020, struct.pack(">H20s16sH4sHHHBBH", vendor, order_id.ljust(20), serial.ljust(16), hw, sw,
                                     counter, profile, 0, 1, 1, 0x001E))


def filter_block(kind: int, entries: list[tuple[int, int, int]]) -> bytes:
    """An I&M0FilterData block (0x0030/0x0031/0x0032): one API, each (slot, subslot, ident) a module of one."""
    body = struct.pack(">HIH", 1, 0, len(entries))
    for slot, subslot, ident in entries:
        body += struct.pack(">HIHHI", slot, ident, 1, subslot, ident)
    return block(kind, body)


def read_request(index: int, *, slot: int = 0, subslot: int = 1, order: str = "<", opnum: int = 5,
                 target: str = NIL) -> bytes:
    return cl(REQUEST, request_stub(record_header(0x0009, index, 32768, slot=slot, subslot=subslot), order),
              obj=target, opnum=opnum, order=order)


def read_response(index: int, record: bytes, *, slot: int = 0, subslot: int = 1, order: str = "<", opnum: int = 5,
                  obj: str = NIL) -> bytes:
    stub = response_stub(record_header(0x8009, index, len(record), slot=slot, subslot=subslot) + record, order)
    return cl(RESPONSE, stub, obj=obj, opnum=opnum, order=order, flags1=0x28)


def write_request(index: int, data: bytes, *, order: str = "<", target: str = NIL) -> bytes:
    return cl(REQUEST, request_stub(record_header(0x0008, index, len(data)) + data, order), obj=target, opnum=3,
              order=order)


def control_request(command: int = 0x0001, *, order: str = "<", kind: int = 0x0110,
                    interface: str = PNIO_DEVICE) -> bytes:
    """IODControlReq (PrmEnd 0x0001 by default): reserved, ARUUID, SessionKey, reserved, command, properties."""
    body = struct.pack(">H16sHHHH", 0, bytes(16), 1, 0, command, 0)
    return cl(REQUEST, request_stub(block(kind, body), order), opnum=4, order=order, interface=interface)


def expected_block(slot: int, subslots: list[tuple[int, int]], *, api: int = 0, module_ident: int = 0x32) -> bytes:
    """ExpectedSubmoduleBlockReq (0x0104): one API with one slot (API, SlotNumber, ModuleIdentNumber,
    ModuleProperties, NumberOfSubmodules), each (subslot, SubmoduleProperties type: 0 none, 1 input, 2 output, 3 both)
    with its DataDescriptions (DataDescription 1 input / 2 output, SubmoduleDataLength, LengthIOCS, LengthIOPS)."""
    body = struct.pack(">HIHIHH", 1, api, slot, module_ident, 0, len(subslots))
    for subslot, kind in subslots:
        body += struct.pack(">HIH", subslot, 0x0001, kind)
        for direction in ((1, 2) if kind == 3 else (2,) if kind == 2 else (1,)):
            body += struct.pack(">HHBB", direction, 4, 1, 1)
    return block(0x0104, body)


def connect_request(name: bytes = b"plc-line-1", *, ar_type: int = 0x0001, order: str = "<",
                    expected: bytes = b"") -> bytes:
    """ARBlockReq: ARType, ARUUID, SessionKey, CMInitiatorMacAdd, CMInitiatorObjectUUID, ARProperties, timeout,
    UDP RT port, StationNameLength, CMInitiatorStationName; then the ``expected`` ExpectedSubmoduleBlockReqs."""
    body = struct.pack(">H16sH6s16sIHHH", ar_type, bytes(16), 1, bytes.fromhex("001b1b029ac3"), bytes(16), 0x11,
                       100, 0x8892, len(name)) + name
    return cl(REQUEST, request_stub(block(0x0101, body) + expected, order), opnum=0, order=order)


OK = b"\x00\x00\x00\x00"
REFUSED = b"\xdb\x81\x40\x04"  # PNIOStatus: ErrorCode 0xDB IODConnectRes, ErrorDecode 0x81 PNIO, CMRPC (0x40) error


def connect_response(status: bytes = OK, *, order: str = "<") -> bytes:
    """A Connect answer: PNIOStatus and no blocks (its ARBlockRes left out: nothing reads it)."""
    return cl(RESPONSE, response_stub(b"", order, status), opnum=0, order=order, flags1=0x28)


def annotation(device_type: str = "S7-300 CPU 315-2 PN/DP", order_id: str = "6ES7 315-2EH14-0AB0", hw: int = 3,
               sw: tuple[str, int, int, int] = ("V", 3, 2, 6)) -> bytes:
    """The PNIO-Device interface's EPM annotation: DeviceType(25) blank OrderID(20) blank HW(5) blank prefix 3x3."""
    text = f"{device_type:<25} {order_id:<20} {hw:>5} {sw[0]}{sw[1]:>3}{sw[2]:>3}{sw[3]:>3}"
    return text.encode() + b"\x00"


def lookup_response(entries: list[tuple[str, bytes]], order: str = "<") -> bytes:
    """An ept_lookup answer (C706 Appendix O, NDR): context handle, num_ents, the ept_entry_t array (object UUID,
    tower pointer, annotation as a varying string), the towers (left out: null pointers) and status."""
    out = struct.pack(order + "I", 0) + bytes(16) + struct.pack(order + "IIII", len(entries), len(entries), 0,
                                                              len(entries))
    for obj, text in entries:
        out += _uuid(obj, order) + struct.pack(order + "III", 0, 0, len(text)) + text
        out += bytes(-len(out) % 4)
    return cl(RESPONSE, out + struct.pack(order + "I", 0), interface=EPM, opnum=2, order=order)


# a small PROFINET line: an IO controller (S7-300), an IO device (ET 200 head, but answering as the CPU here for
# the I&M0 path), an engineering station, and a host nobody configured
PLC = Host("00:1b:1b:02:9a:c3", "192.168.0.1")
DEVICE = Host("00:1b:1b:55:66:77", "192.168.0.10")
INTRUDER = Host("02:00:00:00:00:66", "192.168.0.66")
T0 = 1_709_542_800.0
SIEMENS_CPU = pnio_object(0x002A, 0x0101)


def datagram(t: float, src: Host, dst: Host, payload: bytes, *, sport: int = 0xC001, dport: int = 34964) -> Frame:
    return t, udp_frame(src, dst.mac, dst.ip, payload, sport=sport, dport=dport)


def site(*, writer: Host | None = None, epm: bool = True, connect: int | None = None) -> list[Frame]:
    """The controller reads the device's I&M0FilterData and I&M0 (and, with ``epm``, looks the device's
    interface up); with ``writer``, that host writes an I&M1 record and sends a PrmEnd Control, after a Connect
    of AR type ``connect`` when given."""
    out = [datagram(T0, PLC, DEVICE, read_request(0xF840)),
           datagram(T0 + 0.01, DEVICE, PLC, read_response(0xF840, filter_block(0x0032, [(0, 1, 1)]), obj=SIEMENS_CPU),
                    sport=34964, dport=0xC001),
           datagram(T0 + 0.1, PLC, DEVICE, read_request(0xAFF0)),
           datagram(T0 + 0.11, DEVICE, PLC, read_response(0xAFF0, im0(), obj=SIEMENS_CPU), sport=34964, dport=0xC001)]
    if epm:
        out += [datagram(T0 + 0.2, PLC, DEVICE, cl(REQUEST, bytes(56), interface=EPM, opnum=2), sport=0xC002),
                datagram(T0 + 0.21, DEVICE, PLC, lookup_response([(SIEMENS_CPU, annotation())]), sport=34964,
                         dport=0xC002)]
    if writer is not None:
        if connect is not None:
            out.append(datagram(T0 + 0.9, writer, DEVICE, connect_request(ar_type=connect), sport=0xC003))
        out += [datagram(T0 + 1, writer, DEVICE, write_request(0xAFF1, b"\x00" * 54), sport=0xC003),
                datagram(T0 + 1.1, writer, DEVICE, control_request(), sport=0xC003)]
    return out


def write_site(path: Path, *, writer: Host | None = None, epm: bool = True, connect: int | None = None) -> Path:
    """The :func:`site` capture written to ``path``."""
    return write_frames(path, site(writer=writer, epm=epm, connect=connect))


def startup(t: float, controller: Host, *, ar_type: int = 0x0001, sport: int = 0xC010, status: bytes = OK,
            device: Host = DEVICE, expected: bytes = b"") -> list[Frame]:
    """An IO controller's start-up with ``device`` on one flow (IEC 61158-6-10 §5.2.3): Connect with an AR of
    ``ar_type`` (answered with ``status``) asking for the ``expected`` submodules, a parameter Write, then PrmEnd."""
    return [datagram(t, controller, device, connect_request(ar_type=ar_type, expected=expected), sport=sport),
            datagram(t + 0.01, device, controller, connect_response(status), sport=34964, dport=sport),
            datagram(t + 0.1, controller, device, write_request(0x8000, b"\x00" * 16), sport=sport),
            datagram(t + 0.2, controller, device, control_request(), sport=sport)]
