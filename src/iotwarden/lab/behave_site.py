"""Behaviours of the site's servers, declared on the serving device like the application ones: the
domain controller's Kerberos KDC, a Niagara station's Fox sessions with Workbench, and a SIMATIC
controller's S7 sessions (an HMI polling variables, TIA Portal going online), and a Dahua
recorder answering the DHIP searches of the vendor's client software, and an HL7 interface engine
receiving a patient-monitoring gateway's IHE PCD-01 feed.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from operator import itemgetter
from typing import TYPE_CHECKING

from iotwarden.errors import ConfigError
from iotwarden.lab import proto_app, proto_dir, proto_net, proto_ot
from iotwarden.lab.behave_net import RTT_LAN, Behaviour
from iotwarden.lab.params import Param
from iotwarden.lab.wire import Frame, TcpStream, multicast_mac, udp_frame
from iotwarden.lab.world import World, periodic

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

_ts = itemgetter(0)
KERBEROS_PORT = 88  # IANA "kerberos" (RFC 4120 §7.2.3)
FOX_PORT = 1911  # IANA "fox" (Tridium Niagara Fox, cleartext)
ISO_TSAP_PORT = 102  # IANA "iso-tsap" (RFC 1006)
DHIP_PORT, DHIP_GROUP = 37810, "239.255.255.251"  # Dahua discovery (ConfigTool)
HL7_PORT = 2575  # IANA "hl7" (MLLP)
S7_CONNECTION_TYPES = {"pg": 1, "op": 2, "s7_basic": 3}  # Snap7 connection resource types
# TIA Portal's online session: (S7comm-plus function, request bytes, answer bytes): CreateObject, Explore,
# GetMultiVariables, DeleteObject
TIA_ONLINE = ((0x04CA, 120, 60), (0x04BB, 40, 900), (0x054C, 60, 400), (0x04D4, 20, 20))


def _kerberos(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """Each client's computer logon: AS-REQ refused for preauth, AS-REQ with it, then one TGS-REQ per
    service ([MS-KILE] §3.1.5), each exchange on its own TCP connection; repeated ``every`` seconds."""
    p = act.params
    realm = (p["realm"] or world.scenario.network.domain).upper()

    def client_stream(client_id: str) -> Iterator[Frame]:
        rng = world.rng(dev.id, "kerberos", client_id)
        client = world.devices[client_id]
        cname = f"{client.hostname.upper()}$"  # the computer account ([MS-KILE] §3.1.5.1)
        server = world.peer_device(client_id, dev.id)

        def exchange(t: float, request: bytes, answer: bytes) -> tuple[list[Frame], float]:
            conn = TcpStream(rng, world.host(client_id), world.ephemeral_port(rng, client_id), server,
                             KERBEROS_PORT, rtt=RTT_LAN)
            out = conn.session(t, [(True, proto_dir.tcp_record(request)), (False, proto_dir.tcp_record(answer))],
                               think=0.002)
            return out, conn.t + 0.005

        def logon(t: float) -> list[Frame]:
            out, t = exchange(t, proto_dir.as_req(rng, realm, cname, client.hostname, preauth=False),
                              proto_dir.preauth_required(rng, realm, cname, t))
            more, t = exchange(t, proto_dir.as_req(rng, realm, cname, client.hostname, preauth=True),
                               proto_dir.kdc_rep(rng, 11, realm, cname, "krbtgt", realm))
            out += more
            for spn in p["services"]:
                parts = tuple(spn.split("/"))
                more, t = exchange(t, proto_dir.tgs_req(rng, realm, cname, *parts),
                                   proto_dir.kdc_rep(rng, 13, realm, cname, *parts))
                out += more
            return out

        first = world.start + p["at"] + rng.uniform(0, 5)
        return periodic(world, rng, p["every"], logon, first=first)

    return heapq.merge(*(client_stream(c) for c in p["clients"]), key=_ts)


def _fox(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """Workbench on ``client`` opens the station: both ends say hello with their software, as Nmap's
    fox-info reports it; the session that follows is not modelled (the client closes)."""
    p = act.params
    rng = world.rng(dev.id, "fox")
    client = world.devices[p["client"]]
    server = world.peer_device(client.id, dev.id)
    version = dev.firmware
    workbench = {"fox.version": "1.0", "id": "1", "hostName": client.hostname, "hostAddress": world.ips[client.id],
                 "app.name": "Workbench", "app.version": version, "vm.name": "OpenJDK 64-Bit Server VM",
                 "os.name": "Windows 10", "os.version": "10.0", "lang": "en", "brandId": p["brand"]}
    station = {"fox.version": "1.0", "id": "2", "hostName": dev.hostname, "hostAddress": world.ips[dev.id],
               "app.name": "Station", "app.version": version, "vm.name": "OpenJDK Client VM", "os.name": p["os"],
               "station.name": p["station"], "lang": "en", "timeZone": "UTC", "brandId": p["brand"]}

    def session(t: float) -> list[Frame]:
        conn = TcpStream(rng, world.host(client.id), world.ephemeral_port(rng, client.id), server, FOX_PORT,
                         rtt=RTT_LAN)
        return conn.session(t, [(True, proto_ot.fox_hello(1, workbench)), (False, proto_ot.fox_hello(0, station))])

    return periodic(world, rng, p["every"], session, first=world.start + p["at"])


def _s7(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """A classic S7 client (``connection`` type in the called TSAP): connect, set up, then read DB
    variables every ``every`` seconds on the same connection until the end, as an HMI polls."""
    p = act.params
    if p["connection"] not in S7_CONNECTION_TYPES:
        raise ConfigError(f"{act.path}.connection: one of {', '.join(S7_CONNECTION_TYPES)}")
    rng = world.rng(dev.id, "s7", p["client"])
    conn = TcpStream(rng, world.host(p["client"]), world.ephemeral_port(rng, p["client"]),
                     world.peer_device(p["client"], dev.id), ISO_TSAP_PORT, rtt=RTT_LAN)
    called = proto_ot.s7_tsap(S7_CONNECTION_TYPES[p["connection"]], p["rack"], p["slot"])
    items = [(1, 0, 16), (2, 0, 4)]

    def stream() -> Iterator[Frame]:
        t = world.start + p["at"]
        out = conn.handshake(t)
        out += conn.send(conn.t + 0.002, True, proto_ot.cotp_connection_request(b"\x01\x00", called))
        out += conn.send(conn.t + 0.002, False, proto_ot.cotp_connection_confirm(b"\x01\x00", called))
        out += conn.send(conn.t + 0.002, True, proto_ot.s7_job(1, proto_ot.S7_SETUP_COMMUNICATION))
        out += conn.send(conn.t + 0.002, False, proto_ot.s7_ack_data(1, proto_ot.S7_SETUP_COMMUNICATION))
        yield from sorted(out, key=_ts)
        ref = 1
        t = conn.t
        while t + p["every"] < world.end - 1:
            t += p["every"]
            ref = ref % 65535 + 1
            values = [rng.randbytes(length) for _, _, length in items]
            out = conn.send(t, True, proto_ot.s7_job(ref, proto_ot.s7_read_var(items)))
            out += conn.send(conn.t + 0.003, False, proto_ot.s7_ack_data(ref, bytes([0x04, len(items)]),
                                                                          proto_ot.s7_read_var_data(values)))
            yield from sorted(out, key=_ts)
        yield from sorted(conn.close(world.end - 0.5), key=_ts)

    return stream()


def _s7plus(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """TIA Portal going online to a SIMATIC S7-1200/1500: COTP to TSAP 'SIMATIC-ROOT-ES', then S7comm-plus
    CreateObject, Explore, GetMultiVariables, DeleteObject (bodies opaque: V3+ sessions are integrity
    protected), then the connection closes."""
    p = act.params
    rng = world.rng(dev.id, "s7plus", p["client"])

    def session(t: float) -> list[Frame]:
        conn = TcpStream(rng, world.host(p["client"]), world.ephemeral_port(rng, p["client"]),
                         world.peer_device(p["client"], dev.id), ISO_TSAP_PORT, rtt=RTT_LAN)
        out = conn.handshake(t)
        out += conn.send(conn.t + 0.002, True, proto_ot.cotp_connection_request(b"\x01\x00", b"SIMATIC-ROOT-ES"))
        out += conn.send(conn.t + 0.002, False, proto_ot.cotp_connection_confirm(b"\x01\x00", b"SIMATIC-ROOT-ES"))
        for seq, (function, ask, answer) in enumerate(TIA_ONLINE, 1):
            out += conn.send(conn.t + 0.01, True, proto_ot.s7plus_frame(0x31, function, seq, rng.randbytes(ask)))
            out += conn.send(conn.t + 0.004, False, proto_ot.s7plus_frame(0x32, function, seq, rng.randbytes(answer)))
        return out + conn.close(conn.t + 0.05)

    return periodic(world, rng, p["every"], session, first=world.start + p["at"])


def _dhip(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """``client`` (SmartPSS / ConfigTool) searches the multicast group; the recorder answers it with its
    device info (model, class, firmware, serial, service ports)."""
    p = act.params
    rng = world.rng(dev.id, "dhip")
    client = world.host(p["client"])
    info = {"DeviceClass": p["device_class"], "DeviceType": dev.model, "HttpPort": 80, "Port": 37777,
            "IPv4Address": {"IPAddress": world.ips[dev.id], "DefaultGateway": world.gateway_for(dev.id),
                            "DhcpEnable": dev.id in world.leased},
            "MachineName": dev.hostname, "SerialNo": p["serial"], "Vendor": "General", "Version": dev.firmware}
    answer = proto_net.dhip_message({"mac": dev.mac, "method": "client.notifyDevInfo", "params": {"deviceInfo": info}})
    search = proto_net.dhip_message({"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}})

    same = world.devices[p["client"]].subnet == dev.subnet
    device_seen = world.peer_device(p["client"], dev.id)  # the recorder from the client's subnet
    client_seen = world.peer_device(dev.id, p["client"])

    def exchange(t: float) -> list[Frame]:
        # on the recorder's subnet the search goes to the group; from another one, to its address (an "IP search")
        search_frame = (udp_frame(client, multicast_mac(DHIP_GROUP), DHIP_GROUP, search, sport=DHIP_PORT,
                                  dport=DHIP_PORT) if same else
                        udp_frame(client, device_seen.mac, device_seen.ip, search, sport=DHIP_PORT, dport=DHIP_PORT))
        reply = udp_frame(world.host(dev.id), client_seen.mac, client.ip, answer, sport=DHIP_PORT, dport=DHIP_PORT)
        return [(t, search_frame), (t + 0.02 + rng.uniform(0, 0.05), reply)]

    return periodic(world, rng, p["every"], exchange, first=world.start + p["at"])


def _hl7(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """``client`` (an IHE Device Observation Reporter) keeps one MLLP connection to this interface engine
    and sends PCD-01 vital signs every ``every`` seconds, each acknowledged (IHE PCD TF-2 PCD-01); the
    devices it ``reports`` each get their device rows, identified by the EUI-64 of their MAC."""
    p = act.params
    rng = world.rng(dev.id, "hl7", p["client"])
    reported = tuple((world.devices[d].type, world.devices[d].mac) for d in p["reports"])
    unknown = sorted({kind for kind, _ in reported} - set(proto_app.PCD_DEVICE_ROWS))
    if unknown:
        raise ConfigError(f"hl7 on {dev.id}: reports a {', '.join(unknown)}; the lab has IEEE 11073 device "
                          f"terms for {', '.join(sorted(proto_app.PCD_DEVICE_ROWS))}")
    conn = TcpStream(rng, world.host(p["client"]), world.ephemeral_port(rng, p["client"]),
                     world.peer_device(p["client"], dev.id), HL7_PORT, rtt=RTT_LAN)

    def stream() -> Iterator[Frame]:
        t = world.start + p["at"]
        yield from sorted(conn.handshake(t), key=_ts)
        n = 0
        while t + p["every"] < world.end - 1:
            t += p["every"]
            n += 1
            stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(t))
            control = f"{p['client'].upper()}{n:08d}"
            vitals = {"spo2": rng.randint(92, 99), "heart_rate": rng.randint(55, 95)}
            rate = round(rng.uniform(5, 250), 1) if any(k == "infusion_pump" for k, _ in reported) else 0.0
            out = conn.send(t, True, proto_app.hl7_pcd01(p["sender"], p["receiver"], stamp, control, **vitals,
                                                         devices=reported, pump_rate=rate))
            out += conn.send(conn.t + 0.01, False, proto_app.hl7_ack(p["receiver"], p["sender"], stamp, f"ACK{n:08d}",
                                                                     control))
            yield from sorted(out, key=_ts)
        yield from sorted(conn.close(world.end - 0.5), key=_ts)

    return stream()


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "kerberos": (_kerberos, {"clients": Param("list", help="devices logging on to this KDC", items="device"),
                             "realm": Param("str", "", "the realm (default: the network's domain, upper case)"),
                             "services": Param("list", [], "service principal names asked for (cifs/FS01...)",
                                               items="str"),
                             "every": Param("float", 600.0, "seconds between logons/renewals", minimum=1.0),
                             "at": Param("float", 5.0)}),
    "fox": (_fox, {"client": Param("device", help="the PC running Workbench"), "station": Param("str"),
                   "os": Param("str", "QNX", "os.name of the station host"), "brand": Param("str", "Tridium"),
                   "every": Param("float", 900.0, minimum=1.0), "at": Param("float", 20.0)}),
    "s7": (_s7, {"client": Param("device", help="the HMI/SCADA polling"), "connection": Param("str", "op"),
                 "rack": Param("int", 0), "slot": Param("int", 1), "every": Param("float", 2.0, minimum=0.5),
                 "at": Param("float", 1.0)}),
    "s7plus": (_s7plus, {"client": Param("device", help="the engineering station running TIA Portal"),
                         "every": Param("float", 600.0, minimum=1.0), "at": Param("float", 60.0)}),
    "dhip": (_dhip, {"client": Param("device", help="the PC running Dahua SmartPSS/ConfigTool (same subnet)"),
                     "device_class": Param("str", help="deviceInfo.DeviceClass: NVR, DVR, IPC, ..."),
                     "serial": Param("str"), "every": Param("float", 300.0, minimum=1.0),
                     "at": Param("float", 8.0)}),
    "hl7": (_hl7, {"client": Param("device", help="the device or gateway reporting observations"),
                   "sender": Param("str", help="MSH-3|MSH-4 of the reporter, e.g. 'App^Vendor|Unit^Hospital'"),
                   "receiver": Param("str", help="MSH-5|MSH-6 of this interface engine"),
                   "reports": Param("list", [], "devices the reporter speaks for (patient monitors, infusion "
                                    "pumps): their PCD-01 device rows carry the EUI-64 of their MAC", items="device",
                                    peer=False),
                   "every": Param("float", 60.0, minimum=1.0), "at": Param("float", 5.0)}),
}
