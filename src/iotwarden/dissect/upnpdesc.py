"""UPnP device descriptions (UPnP Device Architecture 2.0 §2.3) read from an HTTP response body: the
identity elements of the root device and its embedded devices, and their service types.

A control point that found a device by SSDP fetches the LOCATION URL over plain HTTP; the device
answers ``<root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>..</deviceType>
<manufacturer>..</manufacturer><modelName>..</modelName>..`` (§2.3). The document is read as it
arrives by a streaming XML parser that refuses any DTD (defusedxml: no entity expansion, no
external references), under the named limits below; a document cut short keeps what was complete.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final
from xml.etree.ElementTree import ParseError as XmlParseError

from defusedxml import DefusedXmlException  # a ValueError; listed for the reader
from defusedxml.ElementTree import DefusedXMLParser

from iotwarden.errors import ParseError

MAX_DESCRIPTION = 64 * 1024  # bytes of a body read (UDA 2.0 §2.3 documents are a few KiB)
MAX_DEVICES = 16  # devices kept, root and embedded (an IGD nests 3, a Sonos player 3)
MAX_SERVICES = 32  # service types kept, all devices together
MAX_DEPTH = 32  # element nesting followed; deeper elements are skipped
MAX_TEXT = 256  # characters kept of one element's text

# UDA 2.0 §2.3 device elements -> field names (the dissector vocabulary: the identity attributes
# http.upnp_* of kb/data/attributes.yaml carry these names)
DEVICE_FIELDS: Final[dict[str, str]] = {
    "deviceType": "upnp_device_type",
    "friendlyName": "upnp_friendly_name",
    "manufacturer": "upnp_manufacturer",
    "manufacturerURL": "upnp_manufacturer_url",
    "modelDescription": "upnp_model_description",
    "modelName": "upnp_model_name",
    "modelNumber": "upnp_model_number",
    "modelURL": "upnp_model_url",
    "serialNumber": "upnp_serial_number",
    "UDN": "upnp_udn",
    "UPC": "upnp_upc",
    "presentationURL": "upnp_presentation_url",
}

# Element roles, by parent role and local name (UDA 2.0 §2.3: root > device > serviceList > service >
# serviceType; device > deviceList > device; device > identity elements)
_ROOT, _DEVICE, _FIELD, _SERVICE_LIST, _SERVICE, _SERVICE_TYPE, _DEVICE_LIST, _OTHER = range(8)
_CHILDREN: Final[dict[int, dict[str, int]]] = {
    _ROOT: {"device": _DEVICE},
    _DEVICE: {"serviceList": _SERVICE_LIST, "deviceList": _DEVICE_LIST, **dict.fromkeys(DEVICE_FIELDS, _FIELD)},
    _SERVICE_LIST: {"service": _SERVICE},
    _SERVICE: {"serviceType": _SERVICE_TYPE},
    _DEVICE_LIST: {"device": _DEVICE},
}
_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_CONTENT_TYPES = ("text/xml", "application/xml")


def may_be_description(status: int, method: str | None, content_type: str | None) -> bool:
    """True when a response head may carry a device description worth reading.

    UDA 2.0 §2.3: the device answers the GET of its LOCATION URL with 200 OK and CONTENT-TYPE
    text/xml; some devices send no Content-Type at all (the body's first bytes decide then).
    ``method`` is None when the request was not seen (the capture began mid-connection).
    """
    if status != 200 or (method is not None and method != "GET"):
        return False
    return not content_type or content_type.lstrip()[:15].lower().startswith(_CONTENT_TYPES)


class _NotDescription(Exception):
    """The document's root element is not a UPnP description's ``<root>``: stop reading it."""


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _new_device() -> dict[str, Any]:
    return dict.fromkeys(DEVICE_FIELDS.values())


class _Collector:
    """ElementTree parser target: keeps the description's device elements as they close."""

    def __init__(self) -> None:
        self.ns: str | None = None  # the description's namespace (the root element's)
        self.roles: list[int] = []
        self.skipped = 0  # open elements past MAX_DEPTH
        self.devices: list[dict[str, Any]] = []
        self.open_devices: list[dict[str, Any] | None] = []
        self.service_types: list[str] = []
        self.field: str | None = None
        self.text: list[str] = []
        self.text_len = 0
        self.finished = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.skipped or len(self.roles) >= MAX_DEPTH:
            self.skipped += 1
            return
        ns, local = _split(tag)
        if not self.roles:
            # UDA 2.0 §2.3: <root xmlns="urn:schemas-upnp-org:device-1-0">; vendors that define their own
            # schema keep the pattern (Belkin WeMo: urn:Belkin:device-1-0); some devices omit xmlns
            if local != "root" or not (ns == "" or ns.endswith(":device-1-0")):
                raise _NotDescription(tag[:80])
            self.ns = ns
            self.roles.append(_ROOT)
            return
        parent = self.roles[-1]
        role = _CHILDREN.get(parent, {}).get(local, _OTHER) if ns == self.ns else _OTHER
        self.roles.append(role)
        if role == _DEVICE:
            device = _new_device() if len(self.devices) < MAX_DEVICES else None
            if device is not None:
                self.devices.append(device)
            self.open_devices.append(device)
        elif role in (_FIELD, _SERVICE_TYPE):
            self.field = DEVICE_FIELDS.get(local, "") if role == _FIELD else ""
            self.text, self.text_len = [], 0

    def data(self, text: str) -> None:
        if self.field is not None and self.text_len < MAX_TEXT:
            self.text.append(text)
            self.text_len += len(text)

    def end(self, tag: str) -> None:
        if self.skipped:
            self.skipped -= 1
            return
        role = self.roles.pop()
        if role == _DEVICE:
            self.open_devices.pop()
        elif role in (_FIELD, _SERVICE_TYPE) and self.field is not None:
            value = "".join(self.text).strip()[:MAX_TEXT]
            device = self.open_devices[-1] if self.open_devices else None
            if value and role == _SERVICE_TYPE:
                if len(self.service_types) < MAX_SERVICES and value not in self.service_types:
                    self.service_types.append(value)
            elif value and device is not None and device[self.field] is None:
                device[self.field] = value
            self.field = None
        elif role == _ROOT:
            self.finished = True

    def close(self) -> None:
        """Called by the parser's own close(); the result is read from the collector instead."""


class DescriptionReader:
    """Reads one description document fed in pieces (the body of one HTTP response).

    :meth:`feed` takes the body's bytes as they arrive and says when reading is over: the root
    element closed, MAX_DESCRIPTION bytes were read, or the body is not a description (then
    :meth:`result` is None). Malformed XML and any DTD (entity definitions, external references)
    end it with :class:`~iotwarden.errors.ParseError`.
    """

    kind: ClassVar[str] = "upnp_description"  # the observation kind dissect/http.py emits

    def __init__(self) -> None:
        self.read = 0
        self.over = False
        self._parser: DefusedXMLParser | None = None
        self._collector = _Collector()

    def feed(self, data: bytes) -> bool:
        """Read ``data``, the next bytes of the body; True when nothing more is wanted."""
        if self.over:
            return True
        data = data[: MAX_DESCRIPTION - self.read]
        self.read += len(data)
        if self._parser is None:
            data = data.lstrip(_WHITESPACE)  # some servers send a CRLF before the XML declaration
            if not data:
                return self._stop_at_limit()
            if not (data.startswith(b"<") or data.startswith(_BOM)):
                self.over = True  # not XML: not read any further
                return True
            self._parser = DefusedXMLParser(target=self._collector, forbid_dtd=True)
        try:
            self._parser.feed(data)
        except _NotDescription:
            self.over = True
            self._collector.devices.clear()
            return True
        except (XmlParseError, DefusedXmlException, LookupError, ValueError) as exc:  # LookupError: a declared
            self.over = True  # encoding Python does not know (expat asks the codec registry for it)
            raise ParseError(f"UPnP description: {type(exc).__name__}: {str(exc)[:80]}") from None
        if self._collector.finished:
            self.over = True
            return True
        return self._stop_at_limit()

    def _stop_at_limit(self) -> bool:
        if self.read >= MAX_DESCRIPTION:
            self.over = True
        return self.over

    def result(self) -> dict[str, Any] | None:
        """The description's fields (see dissect/http.py), or None when no device was read."""
        c = self._collector
        if not c.devices:
            return None
        root, *embedded = c.devices
        return {**root, "upnp_embedded": [{k: v for k, v in d.items() if v is not None} for d in embedded],
                "upnp_service_types": list(c.service_types), "upnp_truncated": not c.finished}


def parse_description(data: bytes) -> dict[str, Any] | None:
    """The fields of a whole description document (None: not a description); ParseError if malformed."""
    reader = DescriptionReader()
    reader.feed(data)
    return reader.result()
