"""Behaviours of the site's servers, declared on the serving device like the application ones: the
domain controller's Kerberos KDC and a Niagara station's Fox sessions with Workbench.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from operator import itemgetter
from typing import TYPE_CHECKING

from iotwarden.lab import proto_dir, proto_ot
from iotwarden.lab.behave_net import RTT_LAN, Behaviour
from iotwarden.lab.params import Param
from iotwarden.lab.wire import Frame, TcpStream
from iotwarden.lab.world import World, periodic

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

_ts = itemgetter(0)
KERBEROS_PORT = 88  # IANA "kerberos" (RFC 4120 §7.2.3)
FOX_PORT = 1911  # IANA "fox" (Tridium Niagara Fox, cleartext)


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
}
