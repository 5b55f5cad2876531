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

from iotwarden.dissect.xmlstream import MAX_TEXT, BoundedTarget, NotThisDocument, StreamReader

MAX_DESCRIPTION = 64 * 1024  # bytes of a body read (UDA 2.0 §2.3 documents are a few KiB)
MAX_DEVICES = 16  # devices kept, root and embedded (an IGD nests 3, a Sonos player 3)
MAX_SERVICES = 32  # service types kept, all devices together
# MAX_DEPTH (element nesting followed) and MAX_TEXT (characters kept of one element's text): dissect/xmlstream.py

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


def _new_device() -> dict[str, Any]:
    return dict.fromkeys(DEVICE_FIELDS.values())


class _Collector(BoundedTarget):
    """Parser target: keeps the description's device elements as they close."""

    def __init__(self) -> None:
        super().__init__()
        self.ns: str | None = None  # the description's namespace (the root element's)
        self.roles: list[int] = []
        self.devices: list[dict[str, Any]] = []
        self.open_devices: list[dict[str, Any] | None] = []
        self.service_types: list[str] = []

    def element_start(self, ns: str, local: str) -> None:
        if not self.roles:
            # UDA 2.0 §2.3: <root xmlns="urn:schemas-upnp-org:device-1-0">; vendors that define their own
            # schema keep the pattern (Belkin WeMo: urn:Belkin:device-1-0); some devices omit xmlns
            if local != "root" or not (ns == "" or ns.endswith(":device-1-0")):
                raise NotThisDocument(local[:80])
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
            self.gather(DEVICE_FIELDS.get(local, "") if role == _FIELD else "")

    def element_end(self) -> None:
        role = self.roles.pop()
        if role == _DEVICE:
            self.open_devices.pop()
        elif role in (_FIELD, _SERVICE_TYPE) and self.field is not None:
            field = self.field
            value = self.take_text().strip()[:MAX_TEXT]
            device = self.open_devices[-1] if self.open_devices else None
            if value and role == _SERVICE_TYPE:
                if len(self.service_types) < MAX_SERVICES and value not in self.service_types:
                    self.service_types.append(value)
            elif value and device is not None and device[field] is None:
                device[field] = value
        elif role == _ROOT:
            self.finished = True


class DescriptionReader(StreamReader):
    """Reads one description document fed in pieces (the body of one HTTP response).

    :meth:`feed` takes the body's bytes as they arrive and says when reading is over: the root
    element closed, MAX_DESCRIPTION bytes were read, or the body is not a description (then
    :meth:`result` is None). Malformed XML and any DTD (entity definitions, external references)
    end it with :class:`~iotwarden.errors.ParseError` (dissect/xmlstream.py).
    """

    kind: ClassVar[str] = "upnp_description"  # the observation kind dissect/http.py emits
    label: ClassVar[str] = "UPnP description"
    max_bytes: ClassVar[int] = MAX_DESCRIPTION

    def __init__(self) -> None:
        self._collector = _Collector()
        super().__init__(self._collector)

    def result(self) -> dict[str, Any] | None:
        """The description's fields (see dissect/http.py), or None when no device was read."""
        c = self._collector
        if self.rejected or not c.devices:
            return None
        root, *embedded = c.devices
        return {**root, "upnp_embedded": [{k: v for k, v in d.items() if v is not None} for d in embedded],
                "upnp_service_types": list(c.service_types), "upnp_truncated": not c.finished}


def parse_description(data: bytes) -> dict[str, Any] | None:
    """The fields of a whole description document (None: not a description); ParseError if malformed."""
    reader = DescriptionReader()
    reader.feed(data)
    return reader.result()
