"""Connection-oriented DCE/RPC PDUs built by hand from C706 §12.6 for the dissector and detector tests."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

from iotwarden.lab.wire import checksum

NDR = ("8a885d04-1ceb-11c9-9fe8-08002b104860", 2)  # NDR transfer syntax (C706 Appendix I)
SVCCTL = "367abb81-9844-35f1-ad32-98f038001003"
DRSUAPI = "e3514235-4b06-11d1-ab04-00c04fc2dcd2"
EPM = "e1af8308-5d1f-11c9-91a4-08002b14a0fa"
WBEM_SERVICES = "9556dc99-828c-11cf-a37e-00aa003240c7"
TSCH = "86d35949-83c9-4044-b424-db363231fd0c"


def _uuid(text: str, order: str) -> bytes:
    u = uuid.UUID(text)
    return u.bytes_le if order == "<" else u.bytes


def pdu(ptype: int, body: bytes, *, call_id: int = 1, flags: int = 0x03, order: str = "<",
        auth: bytes = b"") -> bytes:
    """A whole PDU: the common header (C706 §12.6.3.1) before ``body`` and an optional auth trailer."""
    trailer = struct.pack("<BBBBI", 10, 2, 0, 0, 0) + auth if auth else b""
    drep = b"\x10\x00\x00\x00" if order == "<" else b"\x00\x00\x00\x00"
    head = bytes([5, 0, ptype, flags]) + drep + struct.pack(order + "HHI", 16 + len(body) + len(trailer),
                                                            len(auth), call_id)
    return head + body + trailer


def bind(contexts: list[tuple[int, str, int]], *, call_id: int = 1, order: str = "<", ptype: int = 11) -> bytes:
    """A bind (or alter_context, ``ptype`` 14) proposing (context id, interface UUID, major version) each
    with NDR (C706 §12.6.4.3)."""
    body = struct.pack(order + "HHI", 4280, 4280, 0) + bytes([len(contexts), 0, 0, 0])
    for cid, iface, major in contexts:
        body += struct.pack(order + "HBB", cid, 1, 0) + _uuid(iface, order) + struct.pack(order + "HH", major, 0)
        body += _uuid(NDR[0], order) + struct.pack(order + "I", NDR[1])
    return pdu(ptype, body, call_id=call_id, order=order)


def bind_ack(address: str, results: list[int], *, call_id: int = 1, order: str = "<", ptype: int = 12) -> bytes:
    """A bind_ack (or alter_context_resp, 15): secondary address, 4-byte alignment, a result per context."""
    sec = address.encode() + b"\x00" if address else b""
    body = struct.pack(order + "HHIH", 4280, 4280, 0x1234, len(sec)) + sec
    body += b"\x00" * (-(16 + len(body)) % 4)
    body += bytes([len(results), 0, 0, 0])
    for result in results:
        body += struct.pack(order + "HH", result, 0) + _uuid(NDR[0], order) + struct.pack(order + "I", NDR[1])
    return pdu(ptype, body, call_id=call_id, order=order)


def request(cont_id: int, opnum: int, stub: bytes = b"\x00" * 8, *, call_id: int = 2, flags: int = 0x03,
            order: str = "<", object_uuid: str | None = None) -> bytes:
    """A request (C706 §12.6.4.9); ``flags`` say which fragment it is."""
    obj = _uuid(object_uuid, order) if object_uuid else b""
    body = struct.pack(order + "IHH", len(stub), cont_id, opnum) + obj + stub
    return pdu(0, body, call_id=call_id, flags=flags | (0x80 if obj else 0), order=order)


def ndr_string(text: str, *, wide: bool = True, order: str = "<") -> bytes:
    """An NDR conformant varying string (C706 §14.3.4.2: MaximumCount, Offset 0, ActualCount, the characters with
    their NUL), padded to 4 bytes."""
    raw = (text + "\0").encode(("utf-16-le" if order == "<" else "utf-16-be") if wide else "latin-1")
    out = struct.pack(order + "III", len(text) + 1, 0, len(text) + 1) + raw
    return out + b"\0" * (-len(out) % 4)


def create_service(name: str, path: str, *, wide: bool = True, order: str = "<", display: bool = True) -> bytes:
    """RCreateServiceW's (``wide``) or RCreateServiceA's in-parameters ([MS-SCMR] §3.1.4.12, §3.1.4.33): the manager's
    20-byte handle, the service name, its display name (a unique pointer, null unless ``display``), access, type
    (SERVICE_WIN32_OWN_PROCESS), start type (SERVICE_DEMAND_START), error control, the binary path, then no load
    order group, tag, dependencies, account or password."""
    shown = struct.pack(order + "I", 0x00020000) + ndr_string(name, wide=wide, order=order) if display else b"\0" * 4
    return (b"\0" * 4 + b"\x5a" * 16 + ndr_string(name, wide=wide, order=order) + shown
            + struct.pack(order + "IIII", 0x000F01FF, 0x10, 3, 0) + ndr_string(path, wide=wide, order=order)
            + struct.pack(order + "IIIIIII", 0, 0, 0, 0, 0, 0, 0))


def response(cont_id: int, stub: bytes = b"\x00" * 4, *, call_id: int = 2, order: str = "<") -> bytes:
    return pdu(2, struct.pack(order + "IHBB", len(stub), cont_id, 0, 0) + stub, call_id=call_id, order=order)


def fault(cont_id: int, status: int, *, call_id: int = 2, order: str = "<") -> bytes:
    body = struct.pack(order + "IHBBII", 0, cont_id, 0, 0, status, 0)
    return pdu(3, body, call_id=call_id, order=order)


Session = tuple[str, str, int, int, list[tuple[bool, bytes]]]  # client, server, ports, (to_server, PDU) in order


def mac_of(ip: str) -> str:
    """A locally administered MAC per test host (02:00:<its IPv4 address>)."""
    return "02:00:" + ":".join(f"{int(b):02x}" for b in ip.split("."))


TCP_FLAGS = {"S": 0x02, "SA": 0x12, "A": 0x10, "PA": 0x18, "FA": 0x11}


def tcp_frame(src: str, dst: str, ports: tuple[int, int], *, flags: str, seq: int, ack: int, data: bytes) -> bytes:
    """An Ethernet/IPv4/TCP frame with scapy's defaults (IP id 1, TTL 64, no options; TCP window 8192), the bytes
    ``Ether(src=mac_of(src), dst=mac_of(dst)) / IP(src=src, dst=dst) / TCP(...) / data`` makes, built with struct:
    scapy costs ~1 ms a packet and the resync tests write thousands."""
    ips = bytes(map(int, src.split("."))) + bytes(map(int, dst.split(".")))
    ip = struct.pack("!BBHHHBBH", 0x45, 0, 40 + len(data), 1, 0, 64, 6, 0) + ips
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    tcp = struct.pack("!HHIIBBHHH", *ports, seq, ack, 0x50, TCP_FLAGS[flags], 8192, 0, 0)
    pseudo = ips + struct.pack("!BBH", 0, 6, 20 + len(data))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + data)) + tcp[18:]
    macs = bytes.fromhex(mac_of(dst).replace(":", "") + mac_of(src).replace(":", ""))
    return macs + b"\x08\x00" + ip + tcp + data


def write_sessions(path: str, sessions: list[Session], start: float = 1_700_000_000.0) -> None:
    """A pcap of TCP connections (handshake, then each PDU in its own segment, then FIN) between hosts on one
    segment; one session after the other, a second apart. The file scapy's wrpcap writes of the same packets, byte
    for byte (native-endian pcap 2.4, snaplen 65535, Ethernet; a packet's time ``t`` as ``int(t)`` seconds and
    ``round`` of the rest in microseconds)."""
    records = [struct.pack("=IHHIIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    t = start
    for client, server, cport, sport, pdus in sessions:
        seq = {True: 1000, False: 5000}
        for to_server, flags, data in [(True, "S", b""), (False, "SA", b""), (True, "A", b""),
                                       *((d, "PA", p) for d, p in pdus), (True, "FA", b""), (False, "FA", b""),
                                       (True, "A", b"")]:
            src, dst = (client, server) if to_server else (server, client)
            ports = (cport, sport) if to_server else (sport, cport)
            frame = tcp_frame(src, dst, ports, flags=flags, seq=seq[to_server], ack=seq[not to_server], data=data)
            seq[to_server] += len(data) + (1 if "S" in flags or "F" in flags else 0)
            sec = int(t)
            records.append(struct.pack("=IIII", sec, round((t - sec) * 1000000), len(frame), len(frame)))
            records.append(frame)
            t += 0.001
        t += 1.0
    Path(path).write_bytes(b"".join(records))
