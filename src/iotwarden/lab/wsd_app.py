"""WS-Discovery in the lab (SOAP-over-UDP, 239.255.255.250:3702): devices that announce themselves with
a Hello when they start (ONVIF cameras and recorders, WSD printers, Windows computers) and answer a
searcher's multicast Probe with a ProbeMatch, as WS-Discovery 1.1 §4.1 and §5 describe; the messages
use the 2005/04 dialect ONVIF and Windows speak. A client then fetches a device's DPWS metadata (maker, model,
hosted services) with a WS-Transfer Get over HTTP to its XAddrs (``wsd_metadata``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from iotwarden.errors import ConfigError
from iotwarden.lab import proto_app
from iotwarden.lab.behave_net import RTT_LAN, Behaviour
from iotwarden.lab.params import MAX_PORT, Param
from iotwarden.lab.wire import Frame, TcpStream, multicast_mac, udp_frame
from iotwarden.lab.world import World, periodic, stable_int

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

WSD_GROUP, WSD_PORT = "239.255.255.250", 3702
WSD_GROUP_MAC = multicast_mac(WSD_GROUP)
MULTICAST_TTL = 1  # discovery multicast is for the link the searcher is on: routers do not forward it
APP_MAX_DELAY = 0.5  # seconds a device waits at random before answering a multicast Probe (WS-Discovery's
# APP_MAX_DELAY, 500 ms; python-ws-discovery APP_MAX_DELAY = 500)
DISCOVERY = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
TO_DISCOVERY = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS = f"{ADDRESSING}/role/anonymous"
# the type prefixes lab devices may announce or search for, with their namespaces
NAMESPACES = {
    "dn": "http://www.onvif.org/ver10/network/wsdl",  # dn:NetworkVideoTransmitter, the ONVIF 1.x device type
    "tds": "http://www.onvif.org/ver10/device/wsdl",  # ONVIF device service
    "wsdp": "http://schemas.xmlsoap.org/ws/2006/02/devprof",  # Devices Profile for Web Services
    "pub": "http://schemas.microsoft.com/windows/pub/2005/07",  # Windows Function Discovery publication
    "wprt": "http://schemas.microsoft.com/windows/2006/08/wdp/print",  # WS-Print
    "wscn": "http://schemas.microsoft.com/windows/2006/08/wdp/scan",  # WS-Scan
}
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"  # WS-Transfer Get / GetResponse (§3.1)
MEX = "http://schemas.xmlsoap.org/ws/2004/09/mex"  # WS-MetadataExchange
DEVPROF = NAMESPACES["wsdp"]
SOAP_XML = "application/soap+xml"  # RFC 3902: SOAP 1.2 over HTTP


def _prefixes(types: list[str], where: str) -> list[str]:
    """The namespace prefixes ``types`` use; ConfigError naming ``where`` for one the lab does not know."""
    out = []
    for qname in types:
        prefix, sep, _ = qname.partition(":")
        if not sep or prefix not in NAMESPACES:
            raise ConfigError(f"{where}: type {qname!r} needs one of the prefixes {', '.join(NAMESPACES)}")
        if prefix not in out:
            out.append(prefix)
    return out


def envelope(action: str, message_id: str, body: str, types: list[str], *, relates_to: str = "",
             to: str = TO_DISCOVERY, sequence: tuple[int, int] | None = None) -> bytes:
    """A SOAP 1.2 envelope with the WS-Addressing header of a discovery message (§3) and ``body``."""
    declared = "".join(f' xmlns:{p}="{NAMESPACES[p]}"' for p in _prefixes(types, "wsd message"))
    header = f"<wsa:MessageID>{message_id}</wsa:MessageID>"
    if relates_to:
        header += f"<wsa:RelatesTo>{relates_to}</wsa:RelatesTo>"
    header += f"<wsa:To>{to}</wsa:To><wsa:Action>{DISCOVERY}/{action}</wsa:Action>"
    if sequence is not None:
        header += f'<wsd:AppSequence InstanceId="{sequence[0]}" MessageNumber="{sequence[1]}"/>'
    return ('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"'
            f' xmlns:wsa="{ADDRESSING}" xmlns:wsd="{DISCOVERY}"{declared}><soap:Header>{header}</soap:Header>'
            f"<soap:Body>{body}</soap:Body></soap:Envelope>").encode()


def endpoint(address: str, types: list[str], scopes: list[str], xaddr: str, metadata_version: int) -> str:
    """The endpoint description a Hello and a ProbeMatch carry (§4.1, §5.3)."""
    scope_text = f"<wsd:Scopes>{' '.join(scopes)}</wsd:Scopes>" if scopes else ""
    return (f"<wsa:EndpointReference><wsa:Address>{address}</wsa:Address></wsa:EndpointReference>"
            f"<wsd:Types>{' '.join(types)}</wsd:Types>{scope_text}<wsd:XAddrs>{xaddr}</wsd:XAddrs>"
            f"<wsd:MetadataVersion>{metadata_version}</wsd:MetadataVersion>")


def _identity(world: World, dev: DeviceSpec, params: dict[str, object]) -> tuple[str, str]:
    """(endpoint address, transport URL) of a device's WSD endpoint: a stable UUID, and its port and path."""
    ident = uuid.UUID(int=stable_int(world.seed, dev.id, "wsd") << 64 | stable_int(world.seed, dev.id, "wsd2"))
    path = str(params["path"]).format(uuid=ident)
    return f"urn:uuid:{ident}", f"http://{world.ips[dev.id]}:{params['port']}{path}"


def _announce(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """A Hello to the group when the device starts (§4.1), and again every ``every`` seconds if set."""
    p = act.params
    _prefixes(p["types"], act.path)
    rng = world.rng(dev.id, "wsd")
    host = world.host(dev.id)
    address, xaddr = _identity(world, dev, p)
    instance = stable_int(world.seed, dev.id, "wsd-instance") % 2**31
    sent = 0

    def hello(t: float) -> list[Frame]:
        nonlocal sent
        sent += 1
        body = f"<wsd:Hello>{endpoint(address, p['types'], p['scopes'], xaddr, p['metadata_version'])}</wsd:Hello>"
        msg = envelope("Hello", f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}", body, p["types"],
                       sequence=(instance, sent))
        return [(t, udp_frame(host, WSD_GROUP_MAC, WSD_GROUP, msg, sport=WSD_PORT, dport=WSD_PORT, ttl=MULTICAST_TTL))]

    return periodic(world, rng, p["every"] or world.scenario.duration * 2, hello, first=world.start + p["at"])


def _probe(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """A multicast Probe for ``types`` (§5.2); every announcing device of the subnet whose types include
    them all answers with a ProbeMatch to the searcher's port after a random delay (§5.3)."""
    p = act.params
    _prefixes(p["types"], act.path)
    rng = world.rng(dev.id, "wsd_probe")
    host = world.host(dev.id)
    responders = [(d, b) for d in world.devices.values() if d.subnet == dev.subnet and d.id != dev.id
                  for b in d.behaviours if b.kind == "wsd" and set(p["types"]) <= set(b.params["types"])]

    def search(t: float) -> list[Frame]:
        sport = world.ephemeral_port(rng, dev.id)
        message_id = f"uuid:{uuid.UUID(int=rng.getrandbits(128))}"
        body = f"<wsd:Probe><wsd:Types>{' '.join(p['types'])}</wsd:Types></wsd:Probe>"
        out = [(t, udp_frame(host, WSD_GROUP_MAC, WSD_GROUP, envelope("Probe", message_id, body, p["types"]),
                             sport=sport, dport=WSD_PORT, ttl=MULTICAST_TTL))]
        for other, beh in responders:
            address, xaddr = _identity(world, other, beh.params)
            bp = beh.params
            described = endpoint(address, bp["types"], bp["scopes"], xaddr, bp["metadata_version"])
            found = f"<wsd:ProbeMatches><wsd:ProbeMatch>{described}</wsd:ProbeMatch></wsd:ProbeMatches>"
            answer = envelope("ProbeMatches", f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}", found, bp["types"],
                              relates_to=message_id, to=ANONYMOUS)
            out.append((t + rng.uniform(0.005, APP_MAX_DELAY),
                        udp_frame(world.host(other.id), dev.mac, host.ip, answer, sport=WSD_PORT, dport=sport)))
        return out

    return periodic(world, rng, p["every"], search, first=world.start + p["at"])


def get_response(p: dict[str, Any], address: str, relates_to: str, message_id: str, serial: str) -> bytes:
    """The device's GetResponse: wsx:Metadata with ThisModel, ThisDevice and the hosted services (DPWS)."""
    def section(dialect: str, inner: str) -> str:
        return f'<wsx:MetadataSection Dialect="{DEVPROF}/{dialect}">{inner}</wsx:MetadataSection>'

    def elements(pairs: list[tuple[str, Any]]) -> str:
        return "".join(f"<wsdp:{name}>{escape(str(value))}</wsdp:{name}>" for name, value in pairs if value)

    services = [str(t) for t in p["services"]]
    hosted = "".join(f"<wsdp:Hosted><wsa:EndpointReference><wsa:Address>{address}/{i}</wsa:Address>"
                     f"</wsa:EndpointReference><wsdp:Types>{t}</wsdp:Types>"
                     f"<wsdp:ServiceId>{address}/{i}</wsdp:ServiceId></wsdp:Hosted>" for i, t in enumerate(services))
    computer = f"<pub:Computer>{escape(str(p['computer']))}</pub:Computer>" if p["computer"] else ""
    body = ("<wsx:Metadata>"
            + section("ThisModel", "<wsdp:ThisModel>" + elements([("Manufacturer", p["manufacturer"]),
                      ("ModelName", p["model_name"]), ("ModelNumber", p["model_number"])]) + "</wsdp:ThisModel>")
            + section("ThisDevice", "<wsdp:ThisDevice>" + elements([("FriendlyName", p["friendly_name"]),
                      ("FirmwareVersion", p["firmware_version"]), ("SerialNumber", serial)]) + "</wsdp:ThisDevice>")
            + section("Relationship", f'<wsdp:Relationship Type="{DEVPROF}/host"><wsdp:Host><wsa:EndpointReference>'
                      f"<wsa:Address>{address}</wsa:Address></wsa:EndpointReference>{computer}</wsdp:Host>{hosted}"
                      "</wsdp:Relationship>")
            + "</wsx:Metadata>")
    declared = "".join(f' xmlns:{x}="{NAMESPACES[x]}"' for x in _prefixes(services, "wsd_metadata services"))
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"'
            f' xmlns:wsa="{ADDRESSING}" xmlns:wsx="{MEX}" xmlns:wsdp="{DEVPROF}" xmlns:pub="{NAMESPACES["pub"]}"'
            f"{declared}><soap:Header><wsa:To>{ANONYMOUS}</wsa:To><wsa:Action>{TRANSFER}/GetResponse</wsa:Action>"
            f"<wsa:MessageID>{message_id}</wsa:MessageID><wsa:RelatesTo>{relates_to}</wsa:RelatesTo></soap:Header>"
            f"<soap:Body>{body}</soap:Body></soap:Envelope>").encode()


def _metadata(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """A client's WS-Transfer Get, POSTed to the device's XAddrs, and the device's GetResponse (DPWS)."""
    p = act.params
    wsd = dev.behaviour("wsd", act, "DPWS metadata is served at the XAddrs of the device's wsd behaviour").params
    rng = world.rng(dev.id, "wsd_metadata")
    address, xaddr = _identity(world, dev, wsd)
    path = xaddr.split("/", 3)[3] if xaddr.count("/") >= 3 else ""
    client, server = world.host(p["client"]), world.peer_device(p["client"], dev.id)
    serial = p["serial_number"] or dev.mac.replace(":", "").upper()

    def fetch(t: float) -> list[Frame]:
        message_id = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}"
        get = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope'
               f' xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="{ADDRESSING}"><soap:Header>'
               f"<wsa:To>{address}</wsa:To><wsa:Action>{TRANSFER}/Get</wsa:Action><wsa:MessageID>{message_id}"
               f"</wsa:MessageID><wsa:ReplyTo><wsa:Address>{ANONYMOUS}</wsa:Address></wsa:ReplyTo></soap:Header>"
               "<soap:Body/></soap:Envelope>").encode()
        request = proto_app.http_request("POST", "/" + path, f"{world.ips[dev.id]}:{wsd['port']}", p["user_agent"],
                                         body=get, content_type=SOAP_XML)
        answer = get_response(p, address, message_id, f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}", serial)
        reply = proto_app.http_response(200, "OK", p["server"], answer, content_type=SOAP_XML)
        conn = TcpStream(rng, client, world.ephemeral_port(rng, p["client"]), server, wsd["port"], rtt=RTT_LAN)
        return conn.session(t, [(True, request), (False, reply)])

    return periodic(world, rng, p["every"], fetch, first=world.start + p["at"])


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "wsd": (_announce, {
        "types": Param("list", help="QNames announced, e.g. [dn:NetworkVideoTransmitter, tds:Device]", items="str"),
        "scopes": Param("list", [], "scope URIs, e.g. onvif://www.onvif.org/hardware/<model>", items="str"),
        "port": Param("int", 80, "port of the transport address (XAddrs)", maximum=MAX_PORT),
        "path": Param("str", "/onvif/device_service", "path of the transport address; {uuid}: the endpoint's"),
        "metadata_version": Param("int", 1), "at": Param("float", 1.0, "seconds after the start of the Hello"),
        "every": Param("float", 0.0, "seconds between Hellos (0: one, at start-up)")}),
    "wsd_probe": (_probe, {
        "types": Param("list", help="QNames searched for, e.g. [dn:NetworkVideoTransmitter]", items="str"),
        "every": Param("float", 300.0, minimum=1.0), "at": Param("float", 5.0)}),
    "wsd_metadata": (_metadata, {
        "client": Param("device", help="the WSD client that fetches the metadata (a Windows PC)"),
        "user_agent": Param("str", "WSDAPI", "the client's User-Agent (Windows' WSDAPI sends 'WSDAPI')"),
        "server": Param("str", "Microsoft-HTTPAPI/2.0", "the device's Server header"),
        "manufacturer": Param("str"), "model_name": Param("str"), "model_number": Param("str", ""),
        "friendly_name": Param("str", ""), "firmware_version": Param("str", ""),
        "serial_number": Param("str", "", "default: the MAC address in hex"),
        "services": Param("list", [], "types of the hosted services, e.g. [wprt:PrinterServiceType]", items="str"),
        "computer": Param("str", "", "Windows pub:Computer, e.g. 'WS-FIN-01/Domain:CORP'"),
        "at": Param("float", 5.0), "every": Param("float", 1800.0, minimum=0.5)}),
}
