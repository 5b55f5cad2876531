"""Network-service behaviours of lab devices: DHCP, ARP, mDNS, SSDP, NTP, DNS, TLS and HTTP clients.

Each behaviour is ``fn(world, device, activity) -> Iterator[Frame]`` in time order, with its
parameters declared beside it in :data:`BEHAVIOURS`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.errors import ConfigError
from iotwarden.lab import proto_app, proto_net, proto_tls
from iotwarden.lab.params import MAX_PORT, Param
from iotwarden.lab.profiles import DHCP_PROFILES
from iotwarden.lab.wire import (
    BROADCAST_MAC,
    ETH_ARP,
    Frame,
    Host,
    TcpStream,
    ethernet,
    ip_bytes,
    mac_bytes,
    multicast_mac,
    udp_frame,
)
from iotwarden.lab.world import World, periodic, stable_int

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

Behaviour = Callable[["World", "DeviceSpec", "Activity"], Iterator[Frame]]
MDNS_GROUP, SSDP_GROUP = "224.0.0.251", "239.255.255.250"
RTT_LAN, RTT_WAN = 0.0008, 0.025  # round-trip times on the LAN and to vendor clouds (seconds)


def _dhcp(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    if p["profile"] not in DHCP_PROFILES:
        raise ConfigError(f"{act.path}.profile: unknown {p['profile']!r} (known: {', '.join(sorted(DHCP_PROFILES))})")
    prof = DHCP_PROFILES[p["profile"]]
    net = world.scenario.network
    rng = world.rng(dev.id, "dhcp")
    ip = world.ips[dev.id]
    subnet = net.subnets[dev.subnet]
    relayed = world.subnet_of_ip(net.dhcp_server) != dev.subnet
    server = Host(net.router_mac, subnet.gateway, 255) if relayed else world.peer(dev.id, net.dhcp_server)
    giaddr = subnet.gateway if relayed else proto_net.UNSPECIFIED
    client = Host(dev.mac, proto_net.UNSPECIFIED, dev.ttl)
    ident = b"\x01" + bytes.fromhex(dev.mac.replace(":", ""))  # client identifier, type 1 Ethernet (RFC 2132 §9.14)
    common = [(61, ident)]
    tail = [(12, dev.hostname.encode())]
    if prof.vendor_class:
        tail.append((60, prof.vendor_class.format(model=dev.model).encode()))
    tail.append((55, bytes(prof.prl)))
    if prof.max_size:
        common.append((57, prof.max_size.to_bytes(2, "big")))
    srv_opts = [(54, ip_bytes(net.dhcp_server)), (51, (86400).to_bytes(4, "big")),
                (58, (43200).to_bytes(4, "big")), (59, (75600).to_bytes(4, "big")),
                (1, subnet.network.netmask.packed), (3, ip_bytes(subnet.gateway)),
                (6, ip_bytes(net.dns_server)), (15, net.domain.encode()),
                (42, ip_bytes(net.ntp_server))]

    def reply(t: float, xid: int, kind: int) -> Frame:
        msg = proto_net.dhcp_message(2, xid, dev.mac, [(53, bytes([kind])), *srv_opts], yiaddr=ip,
                                     siaddr=net.dhcp_server, giaddr=giaddr)
        return t, udp_frame(server, dev.mac, ip, msg, sport=67, dport=68)

    def lease(t: float) -> list[Frame]:
        if dev.id not in world.leased:  # static address: DHCPINFORM for configuration only (RFC 2131 §3.4)
            xid = rng.getrandbits(32)
            msg = proto_net.dhcp_message(1, xid, dev.mac, [(53, b"\x08"), *common, *tail], ciaddr=ip)
            src = world.host(dev.id)
            return [(t, udp_frame(src, BROADCAST_MAC, "255.255.255.255", msg, sport=68, dport=67)),
                    (t + 0.003, udp_frame(server, dev.mac, ip, proto_net.dhcp_message(
                        2, xid, dev.mac, [(53, bytes([proto_net.ACK])), *srv_opts[:1], *srv_opts[4:]], ciaddr=ip,
                        giaddr=giaddr), sport=67, dport=68))]
        xid = rng.getrandbits(32)
        out: list[Frame] = []
        discover = proto_net.dhcp_message(1, xid, dev.mac, [(53, b"\x01"), *common, (50, ip_bytes(ip)),
                                                            *tail])
        out.append((t, udp_frame(client, BROADCAST_MAC, "255.255.255.255", discover, sport=68, dport=67)))
        out.append(reply(t + 0.002, xid, proto_net.OFFER))
        request = proto_net.dhcp_message(1, xid, dev.mac, [(53, b"\x03"), *common, (50, ip_bytes(ip)),
                                                           (54, ip_bytes(net.dhcp_server)), *tail], secs=1)
        out.append((t + 0.012, udp_frame(client, BROADCAST_MAC, "255.255.255.255", request, sport=68, dport=67)))
        out.append(reply(t + 0.014, xid, proto_net.ACK))
        # gratuitous ARP announcing the new address (RFC 5227 §2.3)
        announce = proto_net.arp(1, dev.mac, ip, "00:00:00:00:00:00", ip)
        out.append((t + 0.05, arp_frame(dev.mac, BROADCAST_MAC, announce)))
        return out

    return periodic(world, rng, p["renew_every"] or world.scenario.duration * 2, lease,
                    first=world.start + p["at"], jitter=0.0)


def arp_frame(src_mac: str, dst_mac: str, body: bytes) -> bytes:
    return ethernet(mac_bytes(src_mac), mac_bytes(dst_mac), ETH_ARP, body)


def _arp(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    rng = world.rng(dev.id, "arp")
    ip = world.ips[dev.id]
    targets = act.params["targets"] or [world.gateway_for(dev.id)]

    def who_has(t: float) -> list[Frame]:
        target = rng.choice(targets)
        owner = world.by_ip.get(target)
        answer_mac = world.devices[owner].mac if owner and world.devices[owner].subnet == dev.subnet \
            else world.gateway_mac()
        req = proto_net.arp(1, dev.mac, ip, "00:00:00:00:00:00", target)
        rep = proto_net.arp(2, answer_mac, target, dev.mac, ip)
        return [(t, arp_frame(dev.mac, BROADCAST_MAC, req)), (t + 0.0004, arp_frame(answer_mac, dev.mac, rep))]

    return periodic(world, rng, act.params["every"], who_has)


def _mdns(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    rng = world.rng(dev.id, "mdns")
    host = world.host(dev.id)
    services = []
    for i, svc in enumerate(act.params["services"]):
        if not isinstance(svc, dict) or not isinstance(svc.get("type"), str) or not isinstance(svc.get("port"), int):
            raise ConfigError(f"{act.path}.services[{i}]: expected a mapping with type (str) and port (int)")
        if not isinstance(svc.get("txt") or {}, dict):  # a TXT record's key=value pairs (RFC 6763 §6)
            raise ConfigError(f"{act.path}.services[{i}].txt: expected a mapping, got {svc['txt']!r}")
        txt = {str(k): str(v) for k, v in (svc.get("txt") or {}).items()}
        services.append((str(svc.get("name", f"{dev.model} {dev.hostname}")), svc["type"], svc["port"], txt))

    def announce(t: float) -> list[Frame]:
        out = []
        for repeat in range(2):  # announced twice, one second apart (RFC 6762 §8.3)
            for k, (name, stype, port, txt) in enumerate(services):
                msg = proto_net.mdns_announcement(name, stype, dev.hostname, host.ip, port=port, txt=txt)
                out.append((t + repeat + k * 0.0003, udp_frame(host, multicast_mac(MDNS_GROUP), MDNS_GROUP, msg,
                                                               sport=5353, dport=5353, ttl=255)))
        return out

    return periodic(world, rng, act.params["every"], announce, first=world.start + act.params["at"])


def _mdns_query(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    rng = world.rng(dev.id, "mdns_query")
    host = world.host(dev.id)
    msg = proto_net.mdns_query(act.params["services"])
    return periodic(world, rng, act.params["every"], lambda t: [(t, udp_frame(
        host, multicast_mac(MDNS_GROUP), MDNS_GROUP, msg, sport=5353, dport=5353, ttl=255))])


def _ssdp_identity(world: World, dev: DeviceSpec, p: dict[str, Any]) -> tuple[str, str]:
    """LOCATION and the device's unique name: the one its vendor documents, else a UUID (UDA 2.0 §1.1.4)."""
    uuid = f"{stable_int(world.seed, dev.id, 'uuid'):016x}"
    usn = p["usn"] or f"uuid:{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-0000-{dev.mac.replace(':', '')}"
    return f"http://{world.ips[dev.id]}:{p['port']}{p['path']}", usn


def _ssdp(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    rng = world.rng(dev.id, "ssdp")
    host = world.host(dev.id)
    location, uuid = _ssdp_identity(world, dev, p)

    # a UPnP device announces its root device, its UUID and its type (UDA 2.0 §1.2.2); a vendor protocol
    # riding on SSDP only its own type (Roku ECP: NT 'roku:ecp', USN 'uuid:roku:ecp:<serial>')
    types = ("upnp:rootdevice", uuid, p["device_type"]) if p["upnp"] else (p["device_type"],)

    def notify(t: float) -> list[Frame]:
        out = []
        for k, nt in enumerate(types):
            usn = uuid if nt == uuid or not p["upnp"] else f"{uuid}::{nt}"
            msg = proto_net.ssdp_notify(location, p["server"], nt, usn)
            out.append((t + k * 0.0002, udp_frame(host, multicast_mac(SSDP_GROUP), SSDP_GROUP, msg, sport=1900,
                                                  dport=1900, ttl=4)))  # UDA 2.0 §1.1.2: TTL default 2..4
        return out

    return periodic(world, rng, p["every"], notify, first=world.start + p["at"])


def answered_target(st: str, params: dict[str, Any], uuid: str) -> str | None:
    """The ST a device answers an M-SEARCH for ``st`` with, or None when it does not answer (UDA 2.0
    §1.3.2-1.3.3: 'ssdp:all' is answered with the device's type, 'upnp:rootdevice' by root devices, a
    device or service type and a UUID by the device that has it)."""
    if st == "ssdp:all":
        return str(params["device_type"])
    if st == params["device_type"] or st == uuid or (st == "upnp:rootdevice" and params["upnp"]):
        return st
    return None


def _ssdp_search(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    rng = world.rng(dev.id, "ssdp_search")
    host = world.host(dev.id)
    responders = [(d, b) for d in world.devices.values() if d.subnet == dev.subnet and d.id != dev.id
                  for b in d.behaviours if b.kind == "ssdp"]

    def search(t: float) -> list[Frame]:
        sport = world.ephemeral_port(rng, dev.id)
        msg = proto_net.ssdp_msearch(p["st"], p["user_agent"])
        out = [(t, udp_frame(host, multicast_mac(SSDP_GROUP), SSDP_GROUP, msg, sport=sport, dport=1900, ttl=4))]
        k = 0
        for other, beh in responders:
            location, uuid = _ssdp_identity(world, other, beh.params)
            st = answered_target(p["st"], beh.params, uuid)
            if st is None:
                continue
            usn = f"{uuid}::{st}" if beh.params["upnp"] and st != uuid else uuid
            body = proto_net.ssdp_response(location, beh.params["server"], st, usn)
            out.append((t + 0.05 + k * 0.01, udp_frame(world.host(other.id), dev.mac, host.ip, body, sport=1900,
                                                       dport=sport)))
            k += 1
        return out

    return periodic(world, rng, p["every"], search)


def _ntp(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """An SNTP client (RFC 4330): the site's NTP server, or the name its firmware is configured with
    (``server``: a vendor's NTP Pool zone, ntppool.org "The NTP Pool for vendors", or its own time
    service), resolved before the first poll and again every ``resolve_every`` polls."""
    rng = world.rng(dev.id, "ntp")
    host = world.host(dev.id)
    name = act.params["server"]
    server = world.peer(dev.id, world.cloud_ip(name) if name else world.scenario.network.ntp_server)
    reply_at, rtt = (RTT_WAN / 2, RTT_WAN) if name else (0.001, 0.0015)
    polls = 0

    def poll(t: float) -> list[Frame]:
        nonlocal polls
        out = dns_lookup(world, dev, rng, t, name) if name and polls % act.params["resolve_every"] == 0 else []
        polls += 1
        t = t + 0.01 if out else t
        sport = act.params["client_port"] or world.ephemeral_port(rng, dev.id)
        req = proto_net.ntp_packet(3, t)
        rep = proto_net.ntp_packet(4, t + reply_at, stratum=2, origin=t, refid=ip_bytes("192.0.2.123"))
        return [*out, (t, udp_frame(host, server.mac, server.ip, req, sport=sport, dport=123)),
                (t + rtt, udp_frame(server, dev.mac, host.ip, rep, sport=123, dport=sport))]

    return periodic(world, rng, act.params["every"], poll)


def dns_lookup(world: World, dev: DeviceSpec, rng: random.Random, t: float, name: str) -> list[Frame]:
    """An A query for ``name`` to the network's DNS server and its answer (RFC 1035 §4.1)."""
    host = world.host(dev.id)
    server = world.peer(dev.id, world.scenario.network.dns_server)
    sport, ident = world.ephemeral_port(rng, dev.id), rng.getrandbits(16)
    q = proto_net.dns_message(ident, 0x0100, [(name, proto_net.TYPE_A, proto_net.CLASS_IN)])
    answer = (name, proto_net.TYPE_A, proto_net.CLASS_IN, 300, proto_net.rdata_a(world.cloud_ip(name)))
    r = proto_net.dns_message(ident, 0x8180, [(name, proto_net.TYPE_A, proto_net.CLASS_IN)], [answer])
    return [(t, udp_frame(host, server.mac, server.ip, q, sport=sport, dport=53)),
            (t + 0.004, udp_frame(server, dev.mac, host.ip, r, sport=53, dport=sport))]


def _dns(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    rng = world.rng(dev.id, "dns")
    return periodic(world, rng, act.params["every"], lambda t: dns_lookup(world, dev, rng, t,
                                                                           rng.choice(act.params["names"])))


def _target(world: World, dev: DeviceSpec, act: Activity) -> tuple[Host, str, bool]:
    """The server of a client behaviour: a local device (``server``) or a vendor cloud (``host``)."""
    if act.params["server"]:
        srv = world.devices[act.params["server"]]
        return world.peer_device(dev.id, srv.id), srv.hostname, False
    if not act.params["host"]:
        raise ConfigError(f"{act.path}: one of host (a cloud name) or server (a device id) is required")
    return world.peer(dev.id, world.cloud_ip(act.params["host"])), act.params["host"], True


def _tls(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    if p["profile"] not in proto_tls.PROFILES:
        raise ConfigError(f"{act.path}.profile: unknown {p['profile']!r} (known: {', '.join(proto_tls.PROFILES)})")
    rng = world.rng(dev.id, "tls", act.key)
    server, name, cloud = _target(world, dev, act)
    org = p["org"] or (dev.vendor if cloud else world.devices[p["server"]].vendor)
    chain = proto_tls.certificate_chain(name, org, None if p["self_signed"] else p["issuer"], world.start, world.seed)
    rtt = RTT_WAN if cloud else RTT_LAN

    def session(t: float) -> list[Frame]:
        out = dns_lookup(world, dev, rng, t, name) if cloud else []
        conn = TcpStream(rng, world.host(dev.id), world.ephemeral_port(rng, dev.id), server, p["port"], rtt=rtt)
        out += conn.handshake(t + 0.01)
        out += conn.send(conn.t + 0.001, True, proto_tls.client_hello(rng, name, p["profile"], p["alpn"]))
        out += conn.send(conn.t + rtt / 2, False, proto_tls.server_flight(rng, chain, name, world.seed))
        out += conn.send(conn.t + 0.002, True, proto_tls.client_finish(rng))
        out += conn.send(conn.t + rtt / 2, False, proto_tls.server_finish(rng))
        out += conn.send(conn.t + 0.001, True, proto_tls.application_data(rng, p["bytes"] // 4 + 64))
        out += conn.send(conn.t + rtt / 2, False, proto_tls.application_data(rng, p["bytes"]))
        out += conn.close(conn.t + 0.05)
        return out

    return periodic(world, rng, p["every"], session, first=world.start + p["at"] if p["at"] else None)


def _http(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    rng = world.rng(dev.id, "http", act.key)
    server, name, cloud = _target(world, dev, act)
    body = (b"<html><head><title>" + name.encode() + b"</title></head><body>"
            + b"<p>status ok</p>" * max(1, p["body_bytes"] // 16) + b"</body></html>\n")

    def session(t: float) -> list[Frame]:
        out = dns_lookup(world, dev, rng, t, name) if cloud else []
        conn = TcpStream(rng, world.host(dev.id), world.ephemeral_port(rng, dev.id), server, p["port"],
                         rtt=RTT_WAN if cloud else RTT_LAN)
        req = proto_app.http_request(p["method"], p["path"], name, p["user_agent"])
        rep = proto_app.http_response(200, "OK", p["server_header"], body)
        return out + conn.session(t + 0.01, [(True, req), (False, rep)])

    return periodic(world, rng, p["every"], session)


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "dhcp": (_dhcp, {"profile": Param("str", help="a DHCP client profile"),
                     "at": Param("float", 0.2, "seconds after the start"),
                     "renew_every": Param("float", 0.0, "renewal period (0: no renewal)")}),
    "arp": (_arp, {"every": Param("float", 60.0, minimum=1.0),
                   "targets": Param("list", [], "IPs asked for (default gateway)", items="ip")}),
    "mdns": (_mdns, {"services": Param("list", help="[{type, port, name?, txt?}]"),
                     "every": Param("float", 120.0, minimum=0.5),
                     "at": Param("float", 1.0)}),
    "mdns_query": (_mdns_query, {"services": Param("list", items="str"), "every": Param("float", 60.0, minimum=0.5)}),
    # SSDP and HTTP: the request or status line and each header end with CRLF (UPnP Device Architecture 2.0 §1.1,
    # RFC 9112 §2.1): a text that goes into one is one line (lab/params.py form "line"), one word where the request
    # line's spaces separate it (form "word": http's method and path, ssdp's path, the description's GET target)
    "ssdp": (_ssdp, {"server": Param("str", help="SERVER header", form="line"),
                     "device_type": Param("str", form="line"),
                     "port": Param("int", 80, maximum=MAX_PORT),
                     "path": Param("str", "/description.xml", form="word"),
                     "usn": Param("str", "", "the unique service name the vendor documents (default: a UUID)",
                                  form="line"),
                     "upnp": Param("bool", True, "a UPnP device (root, UUID and type NOTIFYs); false: the type only"),
                     "every": Param("float", 300.0, minimum=0.5), "at": Param("float", 2.0)}),
    "ssdp_search": (_ssdp_search, {"st": Param("str", "ssdp:all", form="line"), "user_agent": Param("str", form="line"),
                                   "every": Param("float", 120.0, minimum=0.5)}),
    "ntp": (_ntp, {"every": Param("float", 64.0, minimum=0.5),
                   "client_port": Param("int", 123, "0: ephemeral", maximum=MAX_PORT),
                   "server": Param("str", "", "a time server name (default: the site's NTP server)", form="dns"),
                   "resolve_every": Param("int", 16, "polls between lookups of the server name", minimum=1)}),
    "dns": (_dns, {"names": Param("list", items="str"), "every": Param("float", 120.0, minimum=0.5)}),
    "tls": (_tls, {"host": Param("str", "", max_bytes=64, form="dns"), "server": Param("device", ""),
                   "port": Param("int", 443, maximum=MAX_PORT),
                   "profile": Param("str", "openssl"), "alpn": Param("list", [], items="str"),
                   "every": Param("float", 300.0, minimum=0.5),
                   "at": Param("float", 0.0), "bytes": Param("int", 4000), "self_signed": Param("bool", False),
                   "issuer": Param("str", "Amazon", max_bytes=64), "org": Param("str", "", max_bytes=64)}),
    "http": (_http, {"host": Param("str", "", form="dns"), "server": Param("device", ""),
                     "port": Param("int", 80, maximum=MAX_PORT),
                     "method": Param("str", "GET", form="word"), "path": Param("str", "/", form="word"),
                     "user_agent": Param("str", form="line"),
                     "server_header": Param("str", "nginx", form="line"), "body_bytes": Param("int", 1200),
                     "every": Param("float", 300.0, minimum=0.5)}),
}
