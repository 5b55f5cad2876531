"""DPWS GetResponse bodies (WS-Transfer answers carrying wsx:Metadata) shaped as real stacks build them, for
the dpwsmeta and HTTP tests and the classifier test; each names the public source its shape follows."""

from __future__ import annotations

from tests.dissect.upnpdocs import http_reply

_ENVELOPE_OPEN = (b'<?xml version="1.0" encoding="utf-8"?>\n'
                  b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"'
                  b' xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
                  b' xmlns:wsx="http://schemas.xmlsoap.org/ws/2004/09/mex"'
                  b' xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"%s>\n'
                  b"<soap:Header><wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>"
                  b"<wsa:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse</wsa:Action>"
                  b"<wsa:MessageID>urn:uuid:%s</wsa:MessageID><wsa:RelatesTo>urn:uuid:%s</wsa:RelatesTo>"
                  b"</soap:Header>\n<soap:Body>")
_ENVELOPE_CLOSE = b"</soap:Body></soap:Envelope>\n"


def _section(dialect: bytes, inner: bytes) -> bytes:
    return (b'<wsx:MetadataSection Dialect="http://schemas.xmlsoap.org/ws/2006/02/devprof/' + dialect + b'">'
            + inner + b"</wsx:MetadataSection>\n")


def get_response(extra_ns: bytes, sections: bytes, ids: tuple[bytes, bytes] = (b"1", b"2")) -> bytes:
    return (_ENVELOPE_OPEN % (extra_ns, ids[0], ids[1]) + b"<wsx:Metadata>\n" + sections + b"</wsx:Metadata>"
            + _ENVELOPE_CLOSE)


# Microsoft's WSDAPI sample (MicrosoftDocs/win32 desktop-src/WsdApi/getresponse--metadata-exchange--message.md):
# indented text inside the elements, a Host typed sim:SimpleDeviceType and one Hosted service
WSDAPI_SAMPLE = get_response(
    b' xmlns:sim="http://schemas.example.org/SimpleService"',
    _section(b"ThisDevice", b"<wsdp:ThisDevice>\n    <wsdp:FriendlyName>\n        WSDAPI Basic Interop Server\n"
             b"    </wsdp:FriendlyName>\n    <wsdp:FirmwareVersion>alpha</wsdp:FirmwareVersion>\n"
             b"    <wsdp:SerialNumber>1</wsdp:SerialNumber>\n</wsdp:ThisDevice>")
    + _section(b"ThisModel", b"<wsdp:ThisModel><wsdp:Manufacturer>\n    Microsoft\n</wsdp:Manufacturer>"
               b"<wsdp:ManufacturerUrl>http://www.microsoft.com/</wsdp:ManufacturerUrl>"
               b"<wsdp:ModelName>\n    WSDAPI Interop device\n</wsdp:ModelName><wsdp:ModelNumber>0.1</wsdp:ModelNumber>"
               b"<wsdp:ModelUrl>http://www.microsoft.com/</wsdp:ModelUrl>"
               b"<wsdp:PresentationUrl>http://www.microsoft.com/</wsdp:PresentationUrl></wsdp:ThisModel>")
    + _section(b"Relationship", b'<wsdp:Relationship Type="http://schemas.xmlsoap.org/ws/2006/02/devprof/host">'
               b"<wsdp:Host><wsa:EndpointReference><wsa:Address>urn:uuid:37f86d35-e6ac-4241-964f-1d9ae46fb366"
               b"</wsa:Address></wsa:EndpointReference><wsdp:Types>sim:SimpleDeviceType</wsdp:Types>"
               b"<wsdp:ServiceId>http://testdevice.interop/SimpleDevice</wsdp:ServiceId></wsdp:Host>"
               b"<wsdp:Hosted><wsa:EndpointReference><wsa:Address>http://192.168.0.2:5357/"
               b"37f86d35-e6ac-4241-964f-1d9ae46fb366</wsa:Address></wsa:EndpointReference>"
               b"<wsdp:Types>sim:SimpleService</wsdp:Types>"
               b"<wsdp:ServiceId>http://testdevice.interop/SimpleService1</wsdp:ServiceId></wsdp:Hosted>"
               b"</wsdp:Relationship>"))

# A Samba host running wsdd (christgau/wsdd src/wsdd.py, the metadata its Get handler builds): ThisDevice
# 'WSD Device <host>', ThisModel 'wsdd' with pnpx:DeviceCategory Computers, a Host typed pub:Computer that
# carries pub:Computer '<HOST>/Workgroup:<WORKGROUP>'
WSDD_SAMBA = get_response(
    b' xmlns:pub="http://schemas.microsoft.com/windows/pub/2005/07"'
    b' xmlns:pnpx="http://schemas.microsoft.com/windows/pnpx/2005/10"',
    _section(b"ThisDevice", b"<wsdp:ThisDevice><wsdp:FriendlyName>WSD Device fileserver</wsdp:FriendlyName>"
             b"<wsdp:FirmwareVersion>1.0</wsdp:FirmwareVersion><wsdp:SerialNumber>1</wsdp:SerialNumber>"
             b"</wsdp:ThisDevice>")
    + _section(b"ThisModel", b"<wsdp:ThisModel><wsdp:Manufacturer>wsdd</wsdp:Manufacturer>"
               b"<wsdp:ModelName>wsdd</wsdp:ModelName><pnpx:DeviceCategory>Computers</pnpx:DeviceCategory>"
               b"</wsdp:ThisModel>")
    + _section(b"Relationship", b'<wsdp:Relationship Type="http://schemas.xmlsoap.org/ws/2006/02/devprof/host">'
               b"<wsdp:Host><wsa:EndpointReference><wsa:Address>urn:uuid:0d8a3a2e-5b5c-5d2f-9a7e-3b6f1c2d4e5f"
               b"</wsa:Address></wsa:EndpointReference><wsdp:Types>pub:Computer</wsdp:Types>"
               b"<wsdp:ServiceId>urn:uuid:0d8a3a2e-5b5c-5d2f-9a7e-3b6f1c2d4e5f</wsdp:ServiceId>"
               b"<pub:Computer>FILESERVER/Workgroup:WORKGROUP</pub:Computer></wsdp:Host></wsdp:Relationship>"))

# A WSD multifunction printer as HP's answer is described by vwifi-pseudohost's WSD tests (modelled on a real
# HP OfficeJet): Manufacturer and ModelName with xml:lang, pnpx/df device categories, no wsdp:Host, a
# Hosted print service wprt:PrinterServiceType and a Hosted scan service wscn:ScannerServiceType, each with
# its PnP-X hardware and compatible ids
HP_MFP = get_response(
    b' xmlns:wprt="http://schemas.microsoft.com/windows/2006/08/wdp/print"'
    b' xmlns:wscn="http://schemas.microsoft.com/windows/2006/08/wdp/scan"'
    b' xmlns:pnpx="http://schemas.microsoft.com/windows/pnpx/2005/10"'
    b' xmlns:df="http://schemas.microsoft.com/windows/2008/09/devicefoundation"',
    _section(b"ThisModel", b'<wsdp:ThisModel><wsdp:Manufacturer xml:lang="en">HP</wsdp:Manufacturer>'
             b"<wsdp:ManufacturerUrl>http://www.hp.com/</wsdp:ManufacturerUrl>"
             b'<wsdp:ModelName xml:lang="en">HP LaserJet MFP M428fdw</wsdp:ModelName>'
             b"<wsdp:ModelNumber>W1A30A</wsdp:ModelNumber>"
             b"<wsdp:PresentationUrl>http://192.168.1.60/</wsdp:PresentationUrl>"
             b"<pnpx:DeviceCategory>Printers MFP Scanners</pnpx:DeviceCategory>"
             b"<df:DeviceCategory>Printers</df:DeviceCategory></wsdp:ThisModel>")
    + _section(b"ThisDevice", b'<wsdp:ThisDevice><wsdp:FriendlyName xml:lang="en">HP LaserJet MFP M428fdw'
               b' (7A3B21)</wsdp:FriendlyName><wsdp:FriendlyName xml:lang="de">Drucker Flur</wsdp:FriendlyName>'
               b"<wsdp:FirmwareVersion>002_2236A</wsdp:FirmwareVersion>"
               b"<wsdp:SerialNumber>PHBLM12345</wsdp:SerialNumber></wsdp:ThisDevice>")
    + _section(b"Relationship", b'<wsdp:Relationship Type="http://schemas.xmlsoap.org/ws/2006/02/devprof/host">'
               b"<wsdp:Hosted><wsa:EndpointReference><wsa:Address>http://192.168.1.60:3911/</wsa:Address>"
               b"</wsa:EndpointReference><wsdp:Types>wprt:PrinterServiceType</wsdp:Types>"
               b"<wsdp:ServiceId>uri:prn</wsdp:ServiceId>"
               b"<pnpx:HardwareId>VEN_0103&amp;DEV_069D</pnpx:HardwareId><pnpx:CompatibleId>"
               b"http://schemas.microsoft.com/windows/2006/08/wdp/print/PrinterServiceType</pnpx:CompatibleId>"
               b"</wsdp:Hosted><wsdp:Hosted><wsa:EndpointReference><wsa:Address>http://192.168.1.60:8018/wsd/scan"
               b"</wsa:Address></wsa:EndpointReference><wsdp:Types>wscn:ScannerServiceType</wsdp:Types>"
               b"<wsdp:ServiceId>uri:scn</wsdp:ServiceId><pnpx:CompatibleId>"
               b"http://schemas.microsoft.com/windows/2006/08/wdp/scan/ScannerServiceType</pnpx:CompatibleId>"
               b"</wsdp:Hosted></wsdp:Relationship>"),
    ids=(b"9c6e2a40-07f5-11ef-8a4b-3024a9b1c2d3", b"0b1e7d2c-4b7a-4c61-8f0e-5d8b2a6c9e10"))

# The WS-Transfer Get a WSD client (Windows' WSDAPI, wsdd's discovery mode) POSTs to the XAddrs URL
# (MicrosoftDocs/win32 WsdApi "Get (Metadata Exchange) HTTP request and message")
GET_BODY = (b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"'
            b' xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"><soap:Header>'
            b"<wsa:To>urn:uuid:9c6e2a40-07f5-11ef-8a4b-3024a9b1c2d3</wsa:To>"
            b"<wsa:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</wsa:Action>"
            b"<wsa:MessageID>urn:uuid:0b1e7d2c-4b7a-4c61-8f0e-5d8b2a6c9e10</wsa:MessageID>"
            b"<wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
            b"</wsa:Address></wsa:ReplyTo></soap:Header><soap:Body/></soap:Envelope>")


def metadata_get(path: bytes = b"/9c6e2a40-07f5-11ef-8a4b-3024a9b1c2d3/", host: bytes = b"192.168.1.60:5357",
                 content_type: bytes = b"application/soap+xml") -> bytes:
    """The client's POST of the Get (WSDAPI sends these headers, User-Agent 'WSDAPI')."""
    return (b"POST " + path + b" HTTP/1.1\r\nCache-Control: no-cache\r\nConnection: close\r\nPragma: no-cache\r\n"
            b"Content-Type: " + content_type + b"\r\nUser-Agent: WSDAPI\r\nContent-Length: %d\r\nHost: " % len(GET_BODY)
            + host + b"\r\n\r\n" + GET_BODY)


def metadata_reply(body: bytes, *, chunk: int = 0, content_type: bytes | None = b"application/soap+xml",
                   framing: str = "length") -> bytes:
    """The device's 200 OK carrying ``body`` (Windows' HTTP.sys Server header), framed as upnpdocs.http_reply
    frames a description."""
    return http_reply(body, chunk=chunk, content_type=content_type, framing=framing, server=b"Microsoft-HTTPAPI/2.0")
