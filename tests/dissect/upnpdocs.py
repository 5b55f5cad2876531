"""UPnP device descriptions of real products for the description tests, and the HTTP exchange that carries one.

Each document restates, in our own layout, the elements a real device served as recorded by the public
source named beside it (element names and nesting are UDA 2.0 §2.3's); vendor extension elements are
kept where a test needs a parser to step over them.
"""

from __future__ import annotations

# Philips Hue Bridge v2: Home Assistant core, tests/components/ssdp/test_init.py (hue_response of
# test_location_change_evicts_prior_location_from_cache), served at http://192.168.212.23/description.xml
HUE_BRIDGE = b"""<?xml version="1.0" encoding="UTF-8" ?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<URLBase>http://192.168.212.23:80/</URLBase>
<device>
<deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>
<friendlyName>Philips hue (192.168.212.23)</friendlyName>
<manufacturer>Signify</manufacturer>
<manufacturerURL>http://www.philips-hue.com</manufacturerURL>
<modelDescription>Philips hue Personal Wireless Lighting</modelDescription>
<modelName>Philips hue bridge 2015</modelName>
<modelNumber>BSB002</modelNumber>
<modelURL>http://www.philips-hue.com</modelURL>
<serialNumber>001788a36abf</serialNumber>
<UDN>uuid:2f402f80-da50-11e1-9b23-001788a36abf</UDN>
</device>
</root>
"""

# Belkin WeMo Insight, firmware WeMo_WW_2.00.11408.PVT-OWRT-Insight: pywemo, tests/vcr/
# tests.ouimeaux_device.test_insight/WeMo_WW_2.00.11408.PVT-OWRT-Insight.yaml (GET /setup.xml on port
# 49153). Belkin's own schema namespace, Belkin extension elements among the UDA ones, 11 services.
WEMO_INSIGHT = b"""<?xml version="1.0"?>
<root xmlns="urn:Belkin:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
<deviceType>urn:Belkin:device:insight:1</deviceType>
<friendlyName>WeMo Device</friendlyName>
    <manufacturer>Belkin International Inc.</manufacturer>
    <manufacturerURL>http://www.belkin.com</manufacturerURL>
    <modelDescription>Belkin Insight 1.0</modelDescription>
    <modelName>Insight</modelName>
    <modelNumber>1.0</modelNumber>
    <modelURL>http://www.belkin.com/plugin/</modelURL>
<serialNumber>SERIALNUMBER</serialNumber>
<UDN>uuid:Insight-1_0-SERIALNUMBER</UDN>
    <UPC>123456789</UPC>
<macAddress>001122334455</macAddress>
<firmwareVersion>WeMo_WW_2.00.11408.PVT-OWRT-Insight</firmwareVersion>
<iconVersion>1|49153</iconVersion>
<binaryState>0</binaryState>
    <iconList><icon><mimetype>jpg</mimetype><width>100</width><height>100</height><depth>100</depth>
      <url>icon.jpg</url></icon></iconList>
    <serviceList>
""" + b"".join(
    b"      <service><serviceType>urn:Belkin:service:%s:1</serviceType><serviceId>urn:Belkin:serviceId:%s1"
    b"</serviceId><controlURL>/upnp/control/%s1</controlURL><eventSubURL>/upnp/event/%s1</eventSubURL>"
    b"<SCPDURL>/%s.xml</SCPDURL></service>\n" % (name, name, name, name, name)
    for name in (b"WiFiSetup", b"timesync", b"basicevent", b"firmwareupdate", b"rules", b"metainfo",
                 b"remoteaccess", b"deviceinfo", b"insight", b"smartsetup", b"manufacture")
) + b"""    </serviceList>
   <presentationURL>/pluginpres.html</presentationURL>
</device>
</root>
"""

# Sonos One (S18): RadioUPnP (Stephane Treuchot), app/src/main/java/com/watea/radio_upnp/upnp/Device.java,
# the device_description.xml quoted there: a ZonePlayer root embedding a MediaServer and a MediaRenderer;
# the renderer carries a Rhapsody extension that redeclares the default namespace.
SONOS_ONE = b"""<?xml version="1.0" encoding="utf-8" ?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
    <deviceType>urn:schemas-upnp-org:device:ZonePlayer:1</deviceType>
    <friendlyName>172.16.0.10 - Sonos One - RINCON_48A6B88C948E01400</friendlyName>
    <manufacturer>Sonos, Inc.</manufacturer>
    <manufacturerURL>http://www.sonos.com</manufacturerURL>
    <modelNumber>S18</modelNumber>
    <modelDescription>Sonos One</modelDescription>
    <modelName>Sonos One</modelName>
    <modelURL>http://www.sonos.com/products/zoneplayers/S18</modelURL>
    <softwareVersion>92.0-71170</softwareVersion>
    <UDN>uuid:RINCON_48A6B88C948E01400</UDN>
    <roomName>Sonos</roomName>
    <displayName>One</displayName>
    <serviceList>
      <service><serviceType>urn:schemas-upnp-org:service:AlarmClock:1</serviceType>
        <serviceId>urn:upnp-org:serviceId:AlarmClock</serviceId></service>
      <service><serviceType>urn:schemas-upnp-org:service:ZoneGroupTopology:1</serviceType>
        <serviceId>urn:upnp-org:serviceId:ZoneGroupTopology</serviceId></service>
      <service><serviceType>urn:schemas-tencent-com:service:QPlay:1</serviceType>
        <serviceId>urn:tencent-com:serviceId:QPlay</serviceId></service>
    </serviceList>
    <deviceList>
      <device>
        <deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>
        <friendlyName>172.16.0.10 - Sonos One Media Server - RINCON_48A6B88C948E01400</friendlyName>
        <manufacturer>Sonos, Inc.</manufacturer>
        <modelNumber>S18</modelNumber>
        <modelName>Sonos One</modelName>
        <UDN>uuid:RINCON_48A6B88C948E01400_MS</UDN>
        <serviceList>
          <service><serviceType>urn:schemas-upnp-org:service:ContentDirectory:1</serviceType></service>
          <service><serviceType>urn:schemas-upnp-org:service:ConnectionManager:1</serviceType></service>
        </serviceList>
      </device>
      <device>
        <deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>
        <friendlyName>Sonos - Sonos One Media Renderer - RINCON_48A6B88C948E01400</friendlyName>
        <manufacturer>Sonos, Inc.</manufacturer>
        <modelNumber>S18</modelNumber>
        <modelName>Sonos One</modelName>
        <UDN>uuid:RINCON_48A6B88C948E01400_MR</UDN>
        <serviceList>
          <service><serviceType>urn:schemas-upnp-org:service:RenderingControl:1</serviceType></service>
          <service><serviceType>urn:schemas-upnp-org:service:ConnectionManager:1</serviceType></service>
          <service><serviceType>urn:schemas-upnp-org:service:AVTransport:1</serviceType></service>
          <service><serviceType>urn:schemas-sonos-com:service:Queue:1</serviceType></service>
        </serviceList>
        <X_Rhapsody-Extension xmlns="http://www.real.com/rhapsody/xmlns/upnp-1-0">
          <deviceID>urn:rhapsody-real-com:device-id-1-0:sonos_1:RINCON_48A6B88C948E01400</deviceID>
          <deviceCapabilities><interactionPattern type="real-rhapsody-upnp-1-0"/></deviceCapabilities>
        </X_Rhapsody-Extension>
        <qq:X_QPlay_SoftwareCapability xmlns:qq="http://www.tencent.com">QPlay:2</qq:X_QPlay_SoftwareCapability>
      </device>
    </deviceList>
  </device>
</root>
"""

# Roku Streaming Player 4200X: TheThingSystem node-roku, README.md, the info() example (the fields the
# library reads from the description at http://<ip>:8060/)
ROKU_4200X = b"""<?xml version="1.0" encoding="UTF-8" ?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>urn:roku-com:device:player:1-0</deviceType>
<friendlyName>Roku Streaming Player</friendlyName>
<manufacturer>Roku</manufacturer>
<manufacturerURL>http://www.roku.com/</manufacturerURL>
<modelDescription>Roku Streaming Player Network Media</modelDescription>
<modelName>Roku Streaming Player 4200X</modelName>
<modelNumber>4200X</modelNumber>
<modelURL>http://www.roku.com/</modelURL>
<serialNumber>1GH35D054697</serialNumber>
<UDN>uuid:31474833-3544-a9d5-0000-05006d1f0000</UDN>
<serviceList><service>
<serviceType>urn:roku-com:service:ecp:1</serviceType>
<serviceId>urn:roku-com:serviceId:ecp1-0</serviceId>
<controlURL/><eventSubURL/><SCPDURL>ecp_SCPD.xml</SCPDURL>
</service></serviceList>
</device>
</root>
"""

# An Internet Gateway Device as the UPnP InternetGatewayDevice:1 template nests it (IGD root > WANDevice >
# WANConnectionDevice): async_upnp_client, tests/fixtures/igd/device.xml
IGD_ROUTER = b"""<?xml version="1.0" encoding="utf-8"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
    <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
    <friendlyName>Dummy Router</friendlyName>
    <manufacturer>Steven</manufacturer>
    <modelDescription>Dummy Router IGD</modelDescription>
    <modelName>DummyRouter v1</modelName>
    <UDN>uuid:00000000-0000-0000-0000-000000000000</UDN>
    <serviceList><service>
      <serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
      <serviceId>urn:upnp-org:serviceId:L3Forwarding1</serviceId>
    </service></serviceList>
    <deviceList><device>
      <deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
      <friendlyName>WANDevice</friendlyName>
      <manufacturer>Steven</manufacturer>
      <UDN>uuid:00000000-0000-0000-0000-000000000001</UDN>
      <serviceList><service>
        <serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>
      </service></serviceList>
      <deviceList><device>
        <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
        <friendlyName>WANConnectionDevice</friendlyName>
        <UDN>uuid:00000000-0000-0000-0000-000000000002</UDN>
        <serviceList><service>
          <serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
        </service></serviceList>
      </device></deviceList>
    </device></deviceList>
  </device>
</root>
"""

# A WeMo service description (SCPD, UDA 2.0 §2.5), fetched from the same port as setup.xml: not a device
# description (pywemo's recording, GET /setupservice.xml)
WEMO_SCPD = b"""<?xml version="1.0"?>
<scpd xmlns="urn:Belkin:service-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <actionList><action><name>GetApList</name></action></actionList>
</scpd>
"""


def http_get(path: bytes = b"/description.xml", host: bytes = b"192.168.212.23") -> bytes:
    """A control point's GET of a LOCATION URL (UDA 2.0 §2.1)."""
    return (b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nUser-Agent: Python/3.11 aiohttp/3.9\r\n"
            b"Accept: */*\r\n\r\n")


def http_reply(body: bytes, *, chunk: int = 0, content_type: bytes | None = b'text/xml; charset="utf-8"',
               framing: str = "length", server: bytes = b"Linux/3.14.0 UPnP/1.0 IpBridge/1.44.0") -> bytes:
    """The device's 200 OK carrying ``body``: framed by Content-Length, by chunks of ``chunk`` bytes
    (RFC 9112 §7.1), or by closing the connection (``framing`` "close", RFC 9112 §6.3)."""
    head = b"HTTP/1.1 200 OK\r\nServer: " + server + b"\r\n"
    if content_type is not None:
        head += b"Content-Type: " + content_type + b"\r\n"
    if framing == "close":
        return head.replace(b"HTTP/1.1", b"HTTP/1.0") + b"Connection: close\r\n\r\n" + body
    if chunk:
        parts = [body[i:i + chunk] for i in range(0, len(body), chunk)]
        coded = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + coded
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
