"""KNXnet/IP and cEMI frames built by hand from the KNX Standard's layouts (03.08.02 Core, 03.08.04 Tunnelling,
03.08.05 Routing, 03.06.03 cEMI, AN159 KNX IP Secure), for the dissector, risk and detection tests."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from iotwarden.lab.wire import Frame, Host, udp_frame
from tests.risk.harness import write_pcap as write_frames

SEARCH_REQUEST, SEARCH_RESPONSE, DESCRIPTION_REQUEST, DESCRIPTION_RESPONSE = 0x0201, 0x0202, 0x0203, 0x0204
CONNECT_REQUEST, CONNECT_RESPONSE, CONNECTIONSTATE_REQUEST, CONNECTIONSTATE_RESPONSE = 0x0205, 0x0206, 0x0207, 0x0208
DISCONNECT_REQUEST, DISCONNECT_RESPONSE, SEARCH_REQUEST_EXT, SEARCH_RESPONSE_EXT = 0x0209, 0x020A, 0x020B, 0x020C
DEVICE_CONFIGURATION_REQUEST, DEVICE_CONFIGURATION_ACK = 0x0310, 0x0311
TUNNELLING_REQUEST, TUNNELLING_ACK = 0x0420, 0x0421
ROUTING_INDICATION, ROUTING_LOST, ROUTING_BUSY = 0x0530, 0x0531, 0x0532
SECURE_WRAPPER, SESSION_REQUEST, SESSION_RESPONSE, SESSION_AUTHENTICATE, SESSION_STATUS, TIMER_NOTIFY = (
    0x0950, 0x0951, 0x0952, 0x0953, 0x0954, 0x0955)
L_DATA_REQ, L_DATA_CON, L_DATA_IND = 0x11, 0x2E, 0x29
M_PROP_WRITE_REQ, M_RESET_REQ = 0xF6, 0xF1
SERIAL = bytes.fromhex("00c5" "0a0b0c0d")  # manufacturer 0x00C5 (197, Weinzierl), then the device's number
MAC = bytes.fromhex("00246d010203")


def knxip(service: int, body: bytes = b"", version: int = 0x10) -> bytes:
    """Header (03.08.02 §2.3): header length 6, protocol version, service type, total length."""
    return struct.pack(">BBHH", 6, version, service, 6 + len(body)) + body


def hpai(ip: str = "192.168.1.20", port: int = 3671, protocol: int = 1) -> bytes:
    """HPAI (§7.5.2): length 8, host protocol code (1 IPv4 UDP, 2 IPv4 TCP), address, port."""
    return bytes([8, protocol]) + bytes(int(p) for p in ip.split(".")) + struct.pack(">H", port)


def device_info(name: bytes = b"KNX IP Router 752", *, address: int = 0x1100, serial: bytes = SERIAL,
                mac: bytes = MAC, programming: bool = False, medium: int = 0x02, project: int = 0x0011) -> bytes:
    """DEVICE_INFO DIB (§7.5.4.2), 54 octets: medium, status, individual address, project-installation id, serial,
    routing multicast address, MAC, 30-octet friendly name."""
    body = bytes([medium, 1 if programming else 0]) + struct.pack(">HH", address, project) + serial
    body += bytes([224, 0, 23, 12]) + mac + name.ljust(30, b"\0")[:30]
    return bytes([2 + len(body), 0x01]) + body


def families(*pairs: tuple[int, int]) -> bytes:
    """SUPP_SVC_FAMILIES DIB (§7.5.4.3): (family id, version) pairs."""
    body = b"".join(bytes(p) for p in pairs)
    return bytes([2 + len(body), 0x02]) + body


UNSECURED = families((0x02, 2), (0x03, 2), (0x04, 2), (0x05, 2))
SECURED = families((0x02, 2), (0x03, 2), (0x04, 2), (0x05, 2), (0x09, 1))


def search_response(dibs: bytes = b"", ip: str = "192.168.1.20") -> bytes:
    return knxip(SEARCH_RESPONSE, hpai(ip) + (dibs or device_info() + UNSECURED))


def l_data(apci: int, data: bytes = b"", *, code: int = L_DATA_REQ, src: int = 0x11FF, dst: int = 0x1105,
           group: bool = False, tpci: int = 0x00, info: bytes = b"") -> bytes:
    """cEMI L_Data (03.06.03 §4.1.5.3): message code, additional info, control fields, addresses, NPDU length,
    TPCI/APCI (the 10-bit APCI's 2 high bits in the TPCI octet), data."""
    ctrl2 = (0x80 if group else 0x00) | 0x60
    tpdu = bytes([tpci | (apci >> 8), apci & 0xFF]) + data
    return (bytes([code, len(info)]) + info + bytes([0xBC, ctrl2]) + struct.pack(">HH", src, dst)
            + bytes([len(tpdu) - 1]) + tpdu)


def control(tpci: int, *, code: int = L_DATA_REQ, dst: int = 0x1105) -> bytes:
    """An L_Data frame carrying a transport control TPDU (T_Connect 0x80, T_Disconnect 0x81, T_ACK 0xC2)."""
    return bytes([code, 0, 0xBC, 0x60]) + struct.pack(">HH", 0x11FF, dst) + bytes([0, tpci])


def tunnelling(frame: bytes, channel: int = 7, seq: int = 0) -> bytes:
    """TUNNELLING_REQUEST (03.08.04 §4.4.6): connection header (length 4, channel, sequence, reserved), cEMI."""
    return knxip(TUNNELLING_REQUEST, bytes([4, channel, seq, 0]) + frame)


def device_configuration(frame: bytes, channel: int = 3, seq: int = 0) -> bytes:
    return knxip(DEVICE_CONFIGURATION_REQUEST, bytes([4, channel, seq, 0]) + frame)


def routing(frame: bytes) -> bytes:
    return knxip(ROUTING_INDICATION, frame)


def secure_wrapper(session: int = 1, inner_length: int = 24) -> bytes:
    """SECURE_WRAPPER (AN159): session id, sequence info, serial number, message tag, encrypted frame, 16-octet MAC."""
    return knxip(SECURE_WRAPPER, struct.pack(">H", session) + (5).to_bytes(6, "big") + SERIAL + b"\x00\x2a"
                 + bytes(inner_length) + bytes(16))


GROUP_WRITE_ON = l_data(0x081, group=True, dst=0x0A03)  # A_GroupValue_Write of 1 (DPT 1.001 on) to 1/2/3


# --- a small KNX site on one segment, as a capture (risk, detection and inventory tests) ---------------------
ROUTER = Host("00:24:6d:01:02:03", "192.168.1.20")  # a KNX IP router (Weinzierl's IEEE block, DIB MAC alike)
ETS = Host("02:00:00:00:00:32", "192.168.1.50")  # the engineering station running ETS
VISU = Host("02:00:00:00:00:3c", "192.168.1.60")  # a visualisation server tunnelling group telegrams
INTRUDER = Host("02:00:00:00:00:42", "192.168.1.66")
MULTICAST_MAC, MULTICAST_IP = "01:00:5e:00:17:0c", "224.0.23.12"  # KNX routing multicast group (03.08.05)
T0 = 1_709_542_800.0


def datagram(t: float, src: Host, dst: Host | None, payload: bytes, *, sport: int = 3671, dport: int = 3671) -> Frame:
    mac, ip = (MULTICAST_MAC, MULTICAST_IP) if dst is None else (dst.mac, dst.ip)
    return t, udp_frame(src, mac, ip, payload, sport=sport, dport=dport)


def site(*, secure: bool = False, programmer: Host | None = None, group_writes: int = 5) -> list[Frame]:
    """ETS searching and describing the router, routed group writes and a visualisation's tunnel (in clear, or
    KNX IP Secure: the router advertises the security family and the tunnel is SECURE_WRAPPER frames), and, with
    ``programmer``, that host tunnelling a memory write and a restart to the bus device 1.1.5."""
    dibs = device_info() + (SECURED if secure else UNSECURED)
    out = [datagram(T0, ETS, None, knxip(SEARCH_REQUEST, hpai(ETS.ip, 50000)), sport=50000),
           datagram(T0 + 0.01, ROUTER, ETS, knxip(SEARCH_RESPONSE, hpai(ROUTER.ip) + dibs), dport=50000),
           datagram(T0 + 0.5, ETS, ROUTER, knxip(DESCRIPTION_REQUEST, hpai(ETS.ip, 50000)), sport=50000),
           datagram(T0 + 0.51, ROUTER, ETS, knxip(DESCRIPTION_RESPONSE, dibs), dport=50000)]
    t = T0 + 1
    for i in range(group_writes):
        frame = l_data(0x080 | (i & 1), group=True, dst=0x0A03, code=L_DATA_IND)
        out.append(datagram(t + i, ROUTER, None, secure_wrapper(session=0) if secure else routing(frame)))
    t += group_writes + 1
    tunnel = [knxip(CONNECT_REQUEST, hpai(VISU.ip, 50001) * 2 + bytes([4, 0x04, 0x02, 0])),
              tunnelling(GROUP_WRITE_ON, channel=7, seq=0)]
    if secure:
        tunnel = [knxip(SESSION_REQUEST, hpai(VISU.ip, 50001) + bytes(32)), secure_wrapper(session=1),
                  secure_wrapper(session=1)]
    for i, payload in enumerate(tunnel):
        out.append(datagram(t + i, VISU, ROUTER, payload, sport=50001))
        out.append(datagram(t + i + 0.01, ROUTER, VISU, knxip(TUNNELLING_ACK, bytes([4, 7, i, 0])), dport=50001))
    if programmer is not None:
        t += len(tunnel) + 1
        for i, frame in enumerate((l_data(0x283, b"\x40\x00\x01\x02\x03"), l_data(0x380))):
            out.append(datagram(t + i, programmer, ROUTER, tunnelling(frame, channel=8, seq=i), sport=50002))
    return out


def write_site(path: Path, **kwargs: Any) -> Path:
    """The :func:`site` capture written to ``path``."""
    return write_frames(path, site(**kwargs))
