"""KNX in the lab: a KNX IP router (KNXnet/IP, udp/3671) answering ETS's SEARCH (to the routing multicast group
224.0.23.12) and DESCRIPTION requests with its DEVICE_INFO and SUPP_SVC_FAMILIES DIBs (KNX 03.08.02 §7.5.4), serving
ETS's device-management connections, in which ETS reads the interface's own properties (03.08.03), routing the bus's
group telegrams to the multicast group (03.08.05) and serving a visualisation's tunnel (03.08.04); with
``secure`` it advertises the security family and its routing and tunnel are KNX IP Secure SECURE_WRAPPER frames
(AN159). The ``knx_reprogram`` attack tunnels to the router from a host that is no engineering station and
reprograms a bus device: T_Connect, A_Memory_Write of its application memory, A_Restart (03.03.04, 03.03.07).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.errors import ConfigError
from iotwarden.lab.behave_net import RTT_LAN, Behaviour
from iotwarden.lab.params import Param
from iotwarden.lab.wire import Frame, Host, udp_frame
from iotwarden.lab.world import World, periodic

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

PORT = 3671
GROUP_IP, GROUP_MAC = "224.0.23.12", "01:00:5e:00:17:0c"  # KNX routing multicast (03.08.05 §2.5), RFC 1112 §6.4
SEARCH_REQUEST, SEARCH_RESPONSE, DESCRIPTION_REQUEST, DESCRIPTION_RESPONSE = 0x0201, 0x0202, 0x0203, 0x0204
CONNECT_REQUEST, CONNECT_RESPONSE, TUNNELLING_REQUEST, TUNNELLING_ACK = 0x0205, 0x0206, 0x0420, 0x0421
DISCONNECT_REQUEST, DISCONNECT_RESPONSE = 0x0209, 0x020A
DEVICE_CONFIGURATION_REQUEST, DEVICE_CONFIGURATION_ACK = 0x0310, 0x0311
DEVICE_MGMT_CONNECTION = 0x03  # CRI/CRD connection type (03.08.02 §7.5.3; 03.08.03: its CRI is two octets)
M_PROP_READ_REQ, M_PROP_READ_CON = 0xFC, 0xFB  # cEMI (03.06.03 §4.1.7.3.2, §4.1.7.3.3)
# what ETS reads of the interface's Device object (interface object type 0, 03.07.03 §4.3): PID_SERIAL_NUMBER,
# PID_MANUFACTURER_ID, PID_MAX_APDULENGTH
MANAGED_PROPERTIES = (11, 12, 56)
ROUTING_INDICATION, SECURE_WRAPPER = 0x0530, 0x0950
L_DATA_REQ, L_DATA_IND = 0x11, 0x29
FAMILIES = ((0x02, 2), (0x03, 2), (0x04, 2), (0x05, 2))  # core, device management, tunnelling, routing
SECURITY = (0x09, 1)


def frame(service: int, body: bytes) -> bytes:
    """KNXnet/IP header (03.08.02 §2.3): length 6, version 1.0, service type, total length."""
    return struct.pack(">BBHH", 6, 0x10, service, 6 + len(body)) + body


def hpai(host: Host, port: int) -> bytes:
    return bytes([8, 1]) + bytes(int(p) for p in host.ip.split(".")) + struct.pack(">H", port)


def address(text: str) -> int:
    """An individual address area.line.device as its 16 bits (03.03.02 §1.4)."""
    try:
        area, line, dev = (int(p) for p in text.split("."))
    except ValueError:
        raise ConfigError(f"KNX individual address {text!r} is not area.line.device") from None
    if not (0 <= area < 16 and 0 <= line < 16 and 0 <= dev < 256):
        raise ConfigError(f"KNX individual address {text!r} out of range")
    return (area << 12) | (line << 8) | dev


def dibs(dev: DeviceSpec, p: dict[str, Any]) -> bytes:
    """DEVICE_INFO (54 octets) and SUPP_SVC_FAMILIES DIBs of the router."""
    serial = bytes.fromhex(p["serial"])
    if len(serial) != 6:
        raise ConfigError(f"knxip.serial: 12 hex digits, got {p['serial']!r}")
    mac = bytes.fromhex(dev.mac.replace(":", ""))
    info = bytes([0x02, 0]) + struct.pack(">HH", address(p["individual_address"]), 0) + serial
    name: str = p["name"]
    info += bytes([224, 0, 23, 12]) + mac + name.encode("latin-1", "replace")[:30].ljust(30, b"\0")
    families = FAMILIES + ((SECURITY,) if p["secure"] else ())
    fam = b"".join(bytes(f) for f in families)
    return bytes([2 + len(info), 0x01]) + info + bytes([2 + len(fam), 0x02]) + fam


def l_data(code: int, src: int, dst: int, apci: int, data: bytes = b"", *, group: bool, tpci: int = 0) -> bytes:
    """cEMI L_Data (03.06.03 §4.1.5.3) with its TPDU: TPCI/APCI and data."""
    tpdu = bytes([tpci | (apci >> 8), apci & 0xFF]) + data
    head = bytes([code, 0, 0xBC, 0xE0 if group else 0x60]) + struct.pack(">HH", src, dst)
    return head + bytes([len(tpdu) - 1]) + tpdu


def secure(session: int, seq: int, serial: bytes, size: int) -> bytes:
    """SECURE_WRAPPER (AN159): session, sequence, serial, tag, encrypted frame (opaque here), 16-octet MAC."""
    return frame(SECURE_WRAPPER, struct.pack(">H", session) + seq.to_bytes(6, "big") + serial + b"\x00\x00"
                 + bytes(size) + bytes(16))


def _knxip(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    rng = world.rng(dev.id, "knxip")
    me, serial, found = world.host(dev.id), bytes.fromhex(p["serial"]), dibs(dev, p)
    ets = world.host(p["client"])
    seq = iter(range(1, 1 << 40))

    def search(t: float) -> list[Frame]:
        port = 50000 + rng.randrange(1000)
        return [(t, udp_frame(ets, GROUP_MAC, GROUP_IP, frame(SEARCH_REQUEST, hpai(ets, port)), sport=port,
                              dport=PORT)),
                (t + 0.01, udp_frame(me, ets.mac, ets.ip, frame(SEARCH_RESPONSE, hpai(me, PORT) + found), sport=PORT,
                                     dport=port)),
                (t + 0.2, udp_frame(ets, me.mac, me.ip, frame(DESCRIPTION_REQUEST, hpai(ets, port)), sport=port,
                                    dport=PORT)),
                (t + 0.21, udp_frame(me, ets.mac, ets.ip, frame(DESCRIPTION_RESPONSE, found), sport=PORT, dport=port))]

    def telegram(t: float) -> list[Frame]:  # a switch on the bus: 1/2/3 on or off, routed to the LAN
        payload = l_data(L_DATA_IND, 0x1105, 0x0A03, 0x080 | rng.randrange(2), group=True)
        wire = secure(0, next(seq), serial, len(payload)) if p["secure"] else frame(ROUTING_INDICATION, payload)
        return [(t, udp_frame(me, GROUP_MAC, GROUP_IP, wire, sport=PORT, dport=PORT))]

    streams = [periodic(world, rng, p["every"], search), periodic(world, rng, p["group_every"], telegram)]
    if p["manage_every"]:
        manage_rng = world.rng(dev.id, "knxip-manage")
        streams.append(periodic(world, manage_rng, p["manage_every"],
                                lambda t: _management(world, dev, p, t, port=50000 + manage_rng.randrange(1000),
                                                      seq=seq)))
    if p["visu"]:
        streams.append(_tunnel(world, dev, p, serial, seq))
    return iter(sorted((f for s in streams for f in s), key=lambda f: f[0]))


def _property_value(dev: DeviceSpec, p: dict[str, Any], pid: int) -> bytes:
    """A Device object property's value as the router answers it (03.07.03 §4.3)."""
    serial = bytes.fromhex(p["serial"])
    return {11: serial, 12: serial[:2], 56: (254).to_bytes(2, "big")}[pid]


def _management(world: World, dev: DeviceSpec, p: dict[str, Any], t: float, *, port: int,
                seq: Iterator[int]) -> list[Frame]:
    """ETS's device-management connection to the router (03.08.03 §4): CONNECT with connection type
    DEVICE_MGMT_CONNECTION, an M_PropRead of each of the Device object's MANAGED_PROPERTIES in a
    DEVICE_CONFIGURATION_REQUEST, each acknowledged and answered by an M_PropRead.con, then DISCONNECT; with
    ``secure`` each frame is a SECURE_WRAPPER of its size (AN159: device management in a secure session)."""
    me, ets, serial = world.host(dev.id), world.host(p["client"]), bytes.fromhex(p["serial"])
    channel = 2

    def wire(service: int, body: bytes) -> bytes:
        return secure(2, next(seq), serial, 6 + len(body)) if p["secure"] else frame(service, body)

    def to_router(at: float, service: int, body: bytes) -> Frame:
        return at, udp_frame(ets, me.mac, me.ip, wire(service, body), sport=port, dport=PORT)

    def to_ets(at: float, service: int, body: bytes) -> Frame:
        return at, udp_frame(me, ets.mac, ets.ip, wire(service, body), sport=PORT, dport=port)

    cri = bytes([2, DEVICE_MGMT_CONNECTION])
    out = [to_router(t, CONNECT_REQUEST, hpai(ets, port) * 2 + cri),
           to_ets(t + RTT_LAN, CONNECT_RESPONSE, bytes([channel, 0]) + hpai(me, PORT) + cri)]
    t += 0.05
    for counter, pid in enumerate(MANAGED_PROPERTIES):  # each side's sequence counter (connection header)
        conn = bytes([4, channel, counter, 0])
        head = struct.pack(">HBBBB", 0, 1, pid, 0x10, 0x01)  # object type 0, instance 1, one element from index 1
        out += [to_router(t, DEVICE_CONFIGURATION_REQUEST, conn + bytes([M_PROP_READ_REQ]) + head),
                to_ets(t + RTT_LAN, DEVICE_CONFIGURATION_ACK, conn),
                to_ets(t + 0.01, DEVICE_CONFIGURATION_REQUEST, conn + bytes([M_PROP_READ_CON]) + head
                       + _property_value(dev, p, pid)),
                to_router(t + 0.01 + RTT_LAN, DEVICE_CONFIGURATION_ACK, conn)]
        t += 0.05
    return [*out, to_router(t, DISCONNECT_REQUEST, bytes([channel, 0]) + hpai(ets, port)),
            to_ets(t + RTT_LAN, DISCONNECT_RESPONSE, bytes([channel, 0]))]


def _tunnel(world: World, dev: DeviceSpec, p: dict[str, Any], serial: bytes, seq: Iterator[int]) -> Iterator[Frame]:
    """The visualisation's tunnel: CONNECT, then a group write now and then, each acknowledged."""
    rng = world.rng(dev.id, "knxip-tunnel")
    me, visu = world.host(dev.id), world.host(p["visu"])
    port = 50000 + rng.randrange(1000)
    t0 = world.start + 1.0
    out: list[Frame] = [
        (t0, udp_frame(visu, me.mac, me.ip, frame(CONNECT_REQUEST, hpai(visu, port) * 2 + bytes([4, 4, 2, 0])),
                       sport=port, dport=PORT)),
        (t0 + RTT_LAN, udp_frame(me, visu.mac, visu.ip, frame(CONNECT_RESPONSE, bytes([1, 0]) + hpai(me, PORT)
                                                               + bytes([4, 4, 0x11, 0xFA])), sport=PORT, dport=port))]
    t, counter = t0 + 2.0, 0
    while t < world.end:
        cemi = l_data(L_DATA_REQ, 0, 0x0A04, 0x080 | rng.randrange(2), group=True)
        body = bytes([4, 1, counter & 0xFF, 0]) + cemi
        wire = secure(1, next(seq), serial, len(body)) if p["secure"] else frame(TUNNELLING_REQUEST, body)
        out.append((t, udp_frame(visu, me.mac, me.ip, wire, sport=port, dport=PORT)))
        ack = frame(TUNNELLING_ACK, bytes([4, 1, counter & 0xFF, 0]))
        out.append((t + RTT_LAN, udp_frame(me, visu.mac, visu.ip, secure(1, next(seq), serial, 10) if p["secure"]
                                           else ack, sport=PORT, dport=port)))
        t, counter = t + p["group_every"] * rng.uniform(0.8, 1.2), counter + 1
    return iter(out)


def knx_reprogram(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """A tunnel from the attacker to the router, then a connection to the bus device: A_Memory_Write blocks of
    its application memory, A_Restart (ATT&CK for ICS T0843 Program Download, T0816 Device Restart)."""
    p = act.params
    rng = world.rng("attack", act.key)
    me, router = world.host(p["attacker"]), world.peer_device(p["attacker"], p["target"])
    port, target = 50000 + rng.randrange(1000), address(p["bus_device"])
    start = t = world.start + p["start"]
    out: list[Frame] = [
        (t, udp_frame(me, router.mac, router.ip, frame(CONNECT_REQUEST, hpai(me, port) * 2 + bytes([4, 4, 2, 0])),
                      sport=port, dport=PORT)),
        (t + RTT_LAN, udp_frame(router, me.mac, me.ip, frame(CONNECT_RESPONSE, bytes([9, 0]) + hpai(router, PORT)
                                                               + bytes([4, 4, 0x11, 0xFB])), sport=PORT, dport=port))]
    connect = bytes([L_DATA_REQ, 0, 0xBC, 0x60]) + struct.pack(">HH", 0, target) + bytes([0, 0x80])  # T_Connect
    frames = [connect]
    for block in range(p["blocks"]):
        data = struct.pack(">H", 0x4000 + 12 * block) + rng.randbytes(12)
        frames.append(l_data(L_DATA_REQ, 0, target, 0x280 | 12, data, group=False, tpci=0x40 | ((block & 15) << 2)))
    frames.append(l_data(L_DATA_REQ, 0, target, 0x380, group=False))  # A_Restart, basic
    for i, cemi in enumerate(frames):
        t += 0.05
        out.append((t, udp_frame(me, router.mac, router.ip, frame(TUNNELLING_REQUEST, bytes([4, 9, i & 0xFF, 0])
                                                                  + cemi), sport=port, dport=PORT)))
        out.append((t + RTT_LAN, udp_frame(router, me.mac, me.ip, frame(TUNNELLING_ACK, bytes([4, 9, i & 0xFF, 0])),
                                           sport=PORT, dport=port)))
    return iter(out), world.attack_truth(act, "T0843 Program Download (KNX A_Memory_Write), T0816 Device Restart",
                                         start=start, end=t, targets=[world.ips[p["target"]]])


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "knxip": (_knxip, {
        "client": Param("device", help="the engineering station (ETS) searching and describing the router"),
        "visu": Param("device", "", "a visualisation tunnelling group telegrams ('' for none)"),
        "name": Param("str", "KNX IP Router", "the DEVICE_INFO friendly name"),
        "serial": Param("str", form="hex48",
                        help="KNX serial number, 12 hex digits: the manufacturer code, then the device's"),
        "individual_address": Param("str", "1.1.0"), "secure": Param("bool", False, "KNX IP Secure"),
        "manage_every": Param("float", 0.0, help="ETS opens a device-management connection and reads the router's "
                              "Device object properties every so many seconds (0: never)"),
        "every": Param("float", 300.0, minimum=0.5), "group_every": Param("float", 5.0, minimum=0.5)}),
}
KNX_ATTACKS: dict[str, tuple[Any, dict[str, Param]]] = {
    "knx_reprogram": (knx_reprogram, {
        "attacker": Param("device"), "target": Param("device", help="the KNX IP router tunnelled through"),
        "bus_device": Param("str", "1.1.5", "the reprogrammed bus device's individual address"),
        "blocks": Param("int", 8, "A_Memory_Write telegrams of 12 octets", minimum=1),
        "start": Param("float", 30.0)}),
}
