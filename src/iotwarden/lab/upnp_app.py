"""UPnP device descriptions in the lab: a control point (a phone app, a hub) fetches the LOCATION a device
advertises over SSDP and the device answers with its description document (UPnP Device Architecture 2.0
§2.1-2.3), the root device with its embedded devices and services.

The behaviour is declared on the serving device beside its ``ssdp`` behaviour, whose port, path and
device type it uses; the control point fetches it at ``at`` and again every ``every`` seconds (a control
point refreshes what it knows when the advertisement's max-age runs out, UDA 2.0 §1.2.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from iotwarden.lab import proto_app
from iotwarden.lab.behave_net import RTT_LAN, Behaviour, _ssdp_identity
from iotwarden.lab.params import Param
from iotwarden.lab.wire import Frame, TcpStream
from iotwarden.lab.world import World, periodic

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

CONTENT_TYPE = 'text/xml; charset="utf-8"'  # UDA 2.0 §2.1: the description is text/xml


def _element(name: str, value: str) -> str:
    return f"<{name}>{escape(value)}</{name}>" if value else ""


def _device(device_type: str, identity: list[tuple[str, str]], udn: str, services: list[str],
            embedded: list[str]) -> str:
    """One <device> element (UDA 2.0 §2.3): its identity elements, services and embedded devices."""
    parts = [_element("deviceType", device_type), *(_element(n, v) for n, v in identity), _element("UDN", udn)]
    if services:
        parts.append("<serviceList>" + "".join(
            f"<service>{_element('serviceType', s)}<serviceId>{escape(_service_id(s))}</serviceId>"
            f"<SCPDURL>/xml/{escape(_service_name(s))}.xml</SCPDURL>"
            f"<controlURL>/{escape(_service_name(s))}/Control</controlURL>"
            f"<eventSubURL>/{escape(_service_name(s))}/Event</eventSubURL></service>" for s in services)
            + "</serviceList>")
    if embedded:
        parts.append("<deviceList>" + "".join(
            _device(t, identity, f"{udn}_{k}", [], []) for k, t in enumerate(embedded, 1)) + "</deviceList>")
    return "<device>" + "".join(parts) + "</device>"


def _service_name(service_type: str) -> str:
    """'Queue' of 'urn:schemas-sonos-com:service:Queue:1' (UDA 2.0 §2.3 serviceType)."""
    parts = service_type.split(":")
    return parts[-2] if len(parts) >= 2 else service_type


def _service_id(service_type: str) -> str:
    """The serviceId UDA 2.0 §2.3 pairs with a standard type: urn:upnp-org:serviceId:<name>."""
    domain = service_type.split(":")[1] if service_type.count(":") >= 4 else "upnp-org"
    domain = "upnp-org" if domain == "schemas-upnp-org" else domain
    return f"urn:{domain}:serviceId:{_service_name(service_type)}"


def description(device_type: str, identity: list[tuple[str, str]], udn: str, services: list[str],
                embedded: list[str]) -> bytes:
    """A device description document (UDA 2.0 §2.3): the root device, its services and embedded devices
    (each embedded device repeats the root's identity, as Sonos and IGD firmware do)."""
    return ('<?xml version="1.0" encoding="utf-8"?>\n<root xmlns="urn:schemas-upnp-org:device-1-0">'
            "<specVersion><major>1</major><minor>0</minor></specVersion>"
            + _device(device_type, identity, udn, services, embedded) + "</root>\n").encode()


def _upnp_description(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    ssdp = dev.behaviour("ssdp", act,
                         "a UPnP description is served at the LOCATION of the device's ssdp behaviour").params
    rng = world.rng(dev.id, "upnp_description")
    _, usn = _ssdp_identity(world, dev, ssdp)
    udn = usn.split("::")[0] if usn.startswith("uuid:") else f"uuid:{usn}"
    ip = world.ips[dev.id]
    device_type = p["device_type"] or ssdp["device_type"]
    identity = [("friendlyName", p["friendly_name"].format(ip=ip)), ("manufacturer", p["manufacturer"]),
                ("manufacturerURL", p["manufacturer_url"]), ("modelDescription", p["model_description"]),
                ("modelName", p["model_name"]), ("modelNumber", p["model_number"]),
                ("serialNumber", p["serial_number"] or dev.mac.replace(":", ""))]
    body = description(device_type, identity, udn, p["services"], p["embedded"])
    reply = proto_app.http_response(200, "OK", ssdp["server"], body, content_type=CONTENT_TYPE)
    request = proto_app.http_request("GET", ssdp["path"], f"{ip}:{ssdp['port']}", p["user_agent"])
    client, server = world.host(p["client"]), world.peer_device(p["client"], dev.id)

    def fetch(t: float) -> list[Frame]:
        conn = TcpStream(rng, client, world.ephemeral_port(rng, p["client"]), server, ssdp["port"], rtt=RTT_LAN)
        return conn.session(t, [(True, request), (False, reply)])

    return periodic(world, rng, p["every"], fetch, first=world.start + p["at"])


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "upnp_description": (_upnp_description, {
        "client": Param("device", help="the control point that fetches the description (a phone app, a hub)"),
        "user_agent": Param("str", help="the control point's User-Agent (an HTTP header: one line)", form="line"),
        "manufacturer": Param("str"), "model_name": Param("str"),
        "model_number": Param("str", ""), "model_description": Param("str", ""),
        "manufacturer_url": Param("str", ""),
        "friendly_name": Param("str", "", "'{ip}' is replaced by the device's address"),
        "serial_number": Param("str", "", "default: the MAC address in hex"),
        "device_type": Param("str", "", "default: the ssdp behaviour's device type"),
        "services": Param("list", [], "service types of the root device", items="str"),
        "embedded": Param("list", [], "device types of the embedded devices", items="str"),
        "at": Param("float", 5.0), "every": Param("float", 1800.0, minimum=0.5),
    }),
}
