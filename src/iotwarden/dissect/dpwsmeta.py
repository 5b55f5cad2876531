"""DPWS device metadata (Devices Profile for Web Services, OASIS DPWS 1.1 §4.1; WS-MetadataExchange) read
from the body of the HTTP answer to a WS-Transfer Get: the device's maker and model (ThisModel), its own
name, firmware and serial number (ThisDevice), the types of the services it hosts and Windows' pub:Computer.

After WS-Discovery, a client POSTs a SOAP 1.2 Get (WS-Transfer 2004/09 §3.1) to the device's XAddrs URL
(``http://<ip>:5357/<uuid>/`` for Windows' WSDAPI, port 80 or 8018 for many printers); the device answers
``<soap:Envelope>..<soap:Body><wsx:Metadata><wsx:MetadataSection Dialect="../ThisModel"><wsdp:ThisModel>
<wsdp:Manufacturer>..``. The body is read as it arrives by a streaming parser that refuses any DTD
(defusedxml), under the named limits below; a body that is no metadata is dropped at its first element.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from iotwarden.dissect.xmlstream import (
    MAX_TEXT,
    BoundedTarget,
    Declarations,
    NotThisDocument,
    StreamReader,
    resolve_qname,
)

MAX_METADATA = 64 * 1024  # bytes of a body read (a printer's GetResponse is 2-6 KiB)
MAX_TYPES = 32  # service and device types kept (Host and Hosted wsdp:Types together)
# MAX_DEPTH (element nesting followed) and MAX_TEXT (characters kept of one element's text): dissect/xmlstream.py

SOAP_NS: Final = frozenset({"http://www.w3.org/2003/05/soap-envelope",  # SOAP 1.2 (DPWS 1.1 §3.1 R0034)
                            "http://schemas.xmlsoap.org/soap/envelope/"})  # SOAP 1.1, seen on older stacks
MEX_NS: Final = "http://schemas.xmlsoap.org/ws/2004/09/mex"  # WS-MetadataExchange: wsx:Metadata
DPWS_NS: Final = frozenset({"http://schemas.xmlsoap.org/ws/2006/02/devprof",  # DPWS 2006/02 (Windows WSDAPI)
                            "http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01"})  # OASIS DPWS 1.1
PUB_NS: Final = "http://schemas.microsoft.com/windows/pub/2005/07"  # [MS-PBSD] pub:Computer

# DPWS 1.1 §4.1 ThisModel and ThisDevice elements -> field names (the identity attributes http.dpws_* of
# kb/data/attributes.yaml carry these names)
MODEL_FIELDS: Final[dict[str, str]] = {
    "Manufacturer": "dpws_manufacturer",
    "ManufacturerUrl": "dpws_manufacturer_url",
    "ModelName": "dpws_model_name",
    "ModelNumber": "dpws_model_number",
    "ModelUrl": "dpws_model_url",
    "PresentationUrl": "dpws_presentation_url",
}
DEVICE_FIELDS: Final[dict[str, str]] = {
    "FriendlyName": "dpws_friendly_name",
    "FirmwareVersion": "dpws_firmware_version",
    "SerialNumber": "dpws_serial_number",
}
_SECTION_FIELDS: Final[dict[str, dict[str, str]]] = {"ThisModel": MODEL_FIELDS, "ThisDevice": DEVICE_FIELDS}
_CONTENT_TYPES = ("application/soap+xml", "application/xml", "text/xml")
SOAP_POST: Final = "POST soap"  # dissect/http.py's name for a POST whose body is SOAP (Content-Type soap+xml)


def is_soap_request(method: str, content_type: str | None) -> bool:
    """A POST carrying SOAP 1.2 (RFC 3902 application/soap+xml): what a WS-Transfer Get is sent as
    (DPWS 1.1 §3.1: HTTP binding of SOAP 1.2)."""
    return method == "POST" and content_type is not None and content_type.lstrip()[:20].lower() == _CONTENT_TYPES[0]


def may_be_metadata(status: int, method: str | None, content_type: str | None) -> bool:
    """True when a response head may carry DPWS metadata: a 200 answer to a SOAP POST, with an XML
    media type (WSDAPI and printers send application/soap+xml; a few text/xml)."""
    if status != 200 or method != SOAP_POST or not content_type:
        return False
    return content_type.lstrip()[:20].lower().startswith(_CONTENT_TYPES)


class _Collector(BoundedTarget):
    """Parser target: keeps the metadata's identity elements and types as they close."""

    max_gathered: ClassVar[int] = MAX_TEXT * 8  # a wsdp:Types list holds several QNames

    def __init__(self) -> None:
        super().__init__()
        self.path: list[tuple[str, str]] = []  # (namespace, local name) of the open elements
        self.declared: list[Declarations] = []  # namespace declarations of each open element
        self.pending: Declarations = []  # declarations of the element about to start
        self.fields: dict[str, Any] = dict.fromkeys((*MODEL_FIELDS.values(), *DEVICE_FIELDS.values()))
        self.fields["dpws_computer"] = None
        self.types: list[str] = []
        self.found = False  # the body holds wsx:Metadata

    def start_ns(self, prefix: str, uri: str) -> None:
        self.pending.append((prefix, uri))

    def element_skipped(self) -> None:
        self.pending = []

    def element_start(self, ns: str, local: str) -> None:
        self.declared.append(self.pending)
        self.pending = []
        path = self.path
        if not path and (ns not in SOAP_NS or local != "Envelope"):
            raise NotThisDocument(local[:80])
        if len(path) == 2 and path[1][1] == "Body" and not self.found:
            if ns != MEX_NS or local != "Metadata":  # WS-Transfer §3.1: the representation is the body's child
                raise NotThisDocument(local[:80])
            self.found = True
        elif len(path) >= 3 and self.found and not self.finished:
            parent_ns, parent = path[-1]
            if parent_ns in DPWS_NS and ns in DPWS_NS and local in _SECTION_FIELDS.get(parent, {}):
                self.gather(_SECTION_FIELDS[parent][local])
            elif parent_ns in DPWS_NS and parent in ("Host", "Hosted") and ns in DPWS_NS and local == "Types":
                self.gather("")
            elif ns == PUB_NS and local == "Computer":
                self.gather("dpws_computer")
        path.append((ns, local))

    def element_end(self) -> None:
        ns, local = self.path.pop()
        if self.field is not None:
            field = self.field
            text = self.take_text()
            if field == "":  # wsdp:Types, a list of QNames (DPWS 1.1 §4.2)
                for qname in text.split()[:MAX_TYPES]:
                    name = resolve_qname(qname, self.declared)[:MAX_TEXT]
                    if len(self.types) < MAX_TYPES and name not in self.types:
                        self.types.append(name)
            elif (value := " ".join(text.split())[:MAX_TEXT]) and self.fields[field] is None:
                self.fields[field] = value  # localized repeats (xml:lang) keep the first
        elif self.found and len(self.path) == 2 and ns == MEX_NS and local == "Metadata":
            self.finished = True
        self.declared.pop()


class MetadataReader(StreamReader):
    """Reads one GetResponse body fed in pieces (the body of one HTTP response).

    :meth:`feed` takes the body's bytes as they arrive and says when reading is over: wsx:Metadata
    closed, MAX_METADATA bytes were read, or the body is no metadata (then :meth:`result` is None).
    Malformed XML and any DTD end it with :class:`~iotwarden.errors.ParseError` (dissect/xmlstream.py).
    """

    kind: ClassVar[str] = "dpws_metadata"  # the observation kind dissect/http.py emits
    label: ClassVar[str] = "DPWS metadata"
    max_bytes: ClassVar[int] = MAX_METADATA

    def __init__(self) -> None:
        self._collector = _Collector()
        super().__init__(self._collector)

    def result(self) -> dict[str, Any] | None:
        """The metadata's fields (see dissect/http.py), or None when the body held no metadata or stated
        nothing of the device."""
        c = self._collector
        if self.rejected or not c.found or (not c.types and all(v is None for v in c.fields.values())):
            return None
        return {**c.fields, "dpws_types": list(c.types), "dpws_truncated": not c.finished}


def parse_metadata(data: bytes) -> dict[str, Any] | None:
    """The fields of a whole GetResponse body (None: no metadata); ParseError if malformed."""
    reader = MetadataReader()
    reader.feed(data)
    return reader.result()
