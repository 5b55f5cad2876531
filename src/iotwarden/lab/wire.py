"""Frame builders for the lab: Ethernet II, IPv4, UDP and TCP with correct checksums and TCP state.

Everything here returns ready-to-write frames (bytes); :class:`TcpStream` keeps the sequence and
acknowledgement numbers of both directions of one connection (RFC 9293 §3.4).
"""

from __future__ import annotations

import ipaddress
import random
import struct
from dataclasses import dataclass, field

Frame = tuple[float, bytes]  # (capture timestamp in seconds, Ethernet frame)

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
IP_ICMP = 1
IP_TCP = 6
IP_UDP = 17

# TCP flags (RFC 9293 §3.1)
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

MSS = 1460  # Ethernet MTU 1500 - 20 (IPv4) - 20 (TCP)
# SYN options: MSS (RFC 9293 §3.2), NOP, window scale 7 (RFC 7323 §2), NOP, NOP, SACK permitted (RFC 2018)
SYN_OPTIONS = struct.pack("!BBH", 2, 4, MSS) + b"\x01\x03\x03\x07\x01\x01\x04\x02"


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def ip_bytes(ip: str) -> bytes:
    return ipaddress.IPv4Address(ip).packed


def multicast_mac(ip: str) -> str:
    """The Ethernet group address of an IPv4 multicast group (RFC 1112 §6.4)."""
    raw = ip_bytes(ip)
    return "01:00:5e:" + ":".join(f"{b:02x}" for b in (raw[1] & 0x7F, raw[2], raw[3]))


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words. As 2**16 is 1
    modulo 0xFFFF, that sum is the data read as one big-endian number modulo 0xFFFF (RFC 1071 §2 (B), "byte order
    independence" and its deferred carries taken to the end), 0xFFFF where it is a nonzero multiple: one C-level
    division instead of a Python int per word (the lab's frame builders checksum every frame they make)."""
    number = int.from_bytes(data + b"\x00" if len(data) % 2 else data, "big")
    total = number % 0xFFFF or (0xFFFF if number else 0)
    return ~total & 0xFFFF


@dataclass(slots=True)
class Host:
    """One interface on the wire: MAC, IPv4 address and the initial TTL its OS uses."""

    mac: str
    ip: str
    ttl: int = 64
    mac_raw: bytes = field(init=False, repr=False)
    ip_raw: bytes = field(init=False, repr=False)
    ip_id: int = 0  # IPv4 identification counter (RFC 791 §3.1), advanced per datagram

    def __post_init__(self) -> None:
        self.mac_raw = mac_bytes(self.mac)
        self.ip_raw = ip_bytes(self.ip)

    def next_id(self) -> int:
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        return self.ip_id


def ethernet(src_mac: bytes, dst_mac: bytes, ethertype: int, payload: bytes) -> bytes:
    """Ethernet II frame; short frames are padded to the 60-byte minimum (IEEE 802.3 §3.2.7)."""
    frame = dst_mac + src_mac + struct.pack("!H", ethertype) + payload
    return frame + b"\x00" * (60 - len(frame)) if len(frame) < 60 else frame


def ipv4(src: Host, dst_ip: bytes, proto: int, payload: bytes, *, ttl: int | None = None, df: bool = True) -> bytes:
    """IPv4 header (RFC 791 §3.1) with its header checksum, followed by ``payload``."""
    total = 20 + len(payload)
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, src.next_id(), 0x4000 if df else 0,
                       src.ttl if ttl is None else ttl, proto, 0, src.ip_raw, dst_ip)
    return head[:10] + struct.pack("!H", checksum(head)) + head[12:] + payload


def _pseudo(src_ip: bytes, dst_ip: bytes, proto: int, length: int) -> bytes:
    return src_ip + dst_ip + struct.pack("!BBH", 0, proto, length)  # RFC 768 / RFC 9293 §3.1 pseudo-header


def udp_frame(src: Host, dst_mac: str, dst_ip: str, payload: bytes, *, sport: int, dport: int,
              ttl: int | None = None) -> bytes:
    """Ethernet/IPv4/UDP frame (RFC 768); a computed checksum of 0 is sent as 0xFFFF."""
    dip = ip_bytes(dst_ip)
    length = 8 + len(payload)
    head = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(_pseudo(src.ip_raw, dip, IP_UDP, length) + head + payload) or 0xFFFF
    seg = head[:6] + struct.pack("!H", csum) + payload
    return ethernet(src.mac_raw, mac_bytes(dst_mac), ETH_IPV4, ipv4(src, dip, IP_UDP, seg, ttl=ttl, df=False))


def icmp_echo(src: Host, dst_mac: str, dst_ip: str, *, reply: bool, ident: int, seq: int, data: bytes) -> bytes:
    """Ethernet/IPv4/ICMP echo request (type 8) or reply (type 0), RFC 792, with its checksum."""
    head = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident & 0xFFFF, seq & 0xFFFF)
    msg = head[:2] + struct.pack("!H", checksum(head + data)) + head[4:] + data
    return ethernet(src.mac_raw, mac_bytes(dst_mac), ETH_IPV4, ipv4(src, ip_bytes(dst_ip), IP_ICMP, msg, df=False))


def tcp_segment(src: Host, dst: Host, payload: bytes, *, sport: int, dport: int, seq: int, ack: int, flags: int,
                window: int = 502, options: bytes = b"", dst_mac: str | None = None) -> bytes:
    """Ethernet/IPv4/TCP frame (RFC 9293 §3.1) with a correct TCP checksum."""
    offset = (20 + len(options)) // 4
    head = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, offset << 4, flags,
                       window, 0, 0) + options
    csum = checksum(_pseudo(src.ip_raw, dst.ip_raw, IP_TCP, len(head) + len(payload)) + head + payload)
    seg = head[:16] + struct.pack("!H", csum) + head[18:] + payload
    dmac = mac_bytes(dst_mac) if dst_mac else dst.mac_raw
    return ethernet(src.mac_raw, dmac, ETH_IPV4, ipv4(src, dst.ip_raw, IP_TCP, seg))


class TcpStream:
    """Both directions of one TCP connection; every method returns frames and advances the clock.

    Frames go to the peer Host's MAC: for an off-subnet peer, pass the Host as seen through the
    router (:meth:`iotwarden.lab.world.World.peer`).
    """

    def __init__(self, rng: random.Random, client: Host, cport: int, server: Host, sport: int, *,
                 rtt: float = 0.002) -> None:
        self.client, self.server, self.cport, self.sport = client, server, cport, sport
        self.rtt = rtt
        self.seq = {True: rng.getrandbits(32), False: rng.getrandbits(32)}  # next seq to send, per side
        self.t = 0.0

    def _seg(self, from_client: bool, flags: int, payload: bytes = b"", options: bytes = b"",
             window: int = 502) -> bytes:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        ack = self.seq[not from_client] if flags & ACK else 0
        frame = tcp_segment(src, dst, payload, sport=sp, dport=dp, seq=self.seq[from_client], ack=ack, flags=flags,
                            window=window, options=options)
        self.seq[from_client] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        return frame

    def handshake(self, t: float) -> list[Frame]:
        """SYN, SYN-ACK, ACK (RFC 9293 §3.5)."""
        out = [(t, self._seg(True, SYN, options=SYN_OPTIONS, window=64240))]
        out.append((t + self.rtt / 2, self._seg(False, SYN | ACK, options=SYN_OPTIONS, window=65160)))
        out.append((t + self.rtt, self._seg(True, ACK)))
        self.t = t + self.rtt
        return out

    def refused(self, t: float) -> list[Frame]:
        """SYN answered by RST-ACK: a closed port (RFC 9293 §3.5.2)."""
        out = [(t, self._seg(True, SYN, options=SYN_OPTIONS, window=64240))]
        self.seq[False] = 0
        out.append((t + self.rtt / 2, self._seg(False, RST | ACK)))
        self.t = t + self.rtt / 2
        return out

    def send(self, t: float, from_client: bool, data: bytes, *, gap: float = 0.00005) -> list[Frame]:
        """``data`` in MSS-sized PSH/ACK segments, each pair acknowledged by the receiver."""
        out: list[Frame] = []
        t = max(t, self.t)
        for i in range(0, len(data), MSS):
            chunk = data[i : i + MSS]
            last = i + MSS >= len(data)
            out.append((t, self._seg(from_client, ACK | (PSH if last else 0), chunk)))
            if last or (i // MSS) % 2:
                out.append((t + self.rtt / 2, self._seg(not from_client, ACK)))
            t += gap
        self.t = out[-1][0] if out else t
        return out

    def close(self, t: float, from_client: bool = True) -> list[Frame]:
        """FIN/ACK, ACK, FIN/ACK, ACK (RFC 9293 §3.6)."""
        t = max(t, self.t)
        h = self.rtt / 2
        out = [(t, self._seg(from_client, FIN | ACK)), (t + h, self._seg(not from_client, ACK)),
               (t + h + 0.0001, self._seg(not from_client, FIN | ACK)),
               (t + 2 * h + 0.0001, self._seg(from_client, ACK))]
        self.t = out[-1][0]
        return out

    def reset(self, t: float, from_client: bool = True) -> list[Frame]:
        t = max(t, self.t)
        self.t = t
        return [(t, self._seg(from_client, RST | ACK))]

    def session(self, t: float, exchanges: list[tuple[bool, bytes]], *, think: float = 0.01) -> list[Frame]:
        """Handshake, then each (from_client, data) message ``think`` seconds apart, then a client close."""
        out = self.handshake(t)
        for from_client, data in exchanges:
            out += self.send(self.t + (think if from_client else self.rtt), from_client, data)
        out += self.close(self.t + think)
        return out
