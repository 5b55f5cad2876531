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
from xml.etree.ElementTree import ParseError as XmlParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from iotwarden.errors import ParseError

MAX_METADATA = 64 * 1024  # bytes of a body read (a printer's GetResponse is 2-6 KiB)
MAX_TYPES = 32  # service and device types kept (Host and Hosted wsdp:Types together)
MAX_DEPTH = 32  # element nesting followed; deeper elements are skipped
MAX_TEXT = 256  # characters kept of one element's text

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
_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
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


class _NotMetadata(Exception):
    """The body is not a GetResponse carrying wsx:Metadata: stop reading it."""


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


class _Collector:
    """ElementTree parser target: keeps the metadata's identity elements and types as they close."""

    def __init__(self) -> None:
        self.path: list[tuple[str, str]] = []  # (namespace, local name) of the open elements
        self.declared: list[list[tuple[str, str]]] = []  # namespace declarations of each open element
        self.pending: list[tuple[str, str]] = []  # declarations of the element about to start
        self.skipped = 0  # open elements past MAX_DEPTH
        self.fields: dict[str, Any] = dict.fromkeys((*MODEL_FIELDS.values(), *DEVICE_FIELDS.values()))
        self.fields["dpws_computer"] = None
        self.types: list[str] = []
        self.field: str | None = None  # the field whose element is open
        self.text: list[str] = []
        self.text_len = 0
        self.found = False  # the body holds wsx:Metadata
        self.finished = False  # ... and it closed

    def start_ns(self, prefix: str, uri: str) -> None:
        self.pending.append((prefix, uri))

    def resolve(self, qname: str) -> str:
        """A QName's Clark notation through the declarations in scope; an undeclared prefix is kept (as
        dissect/wsd.py does for WS-Discovery Types)."""
        prefix, sep, local = qname.rpartition(":")
        for declared in reversed(self.declared):
            for p, uri in reversed(declared):
                if p == prefix:
                    return f"{{{uri}}}{local}" if uri else local
        return qname if sep else local

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.skipped or len(self.path) >= MAX_DEPTH:
            self.skipped += 1
            self.pending = []
            return
        self.declared.append(self.pending)
        self.pending = []
        ns, local = _split(tag)
        path = self.path
        if not path and (ns not in SOAP_NS or local != "Envelope"):
            raise _NotMetadata(tag[:80])
        if len(path) == 2 and path[1][1] == "Body" and not self.found:
            if ns != MEX_NS or local != "Metadata":  # WS-Transfer §3.1: the representation is the body's child
                raise _NotMetadata(tag[:80])
            self.found = True
        elif len(path) >= 3 and self.found and not self.finished:
            parent_ns, parent = path[-1]
            if parent_ns in DPWS_NS and ns in DPWS_NS and local in _SECTION_FIELDS.get(parent, {}):
                self._open(_SECTION_FIELDS[parent][local])
            elif parent_ns in DPWS_NS and parent in ("Host", "Hosted") and ns in DPWS_NS and local == "Types":
                self._open("")
            elif ns == PUB_NS and local == "Computer":
                self._open("dpws_computer")
        path.append((ns, local))

    def _open(self, field: str) -> None:
        self.field, self.text, self.text_len = field, [], 0

    def data(self, text: str) -> None:
        if self.field is not None and self.text_len < MAX_TEXT * 8:
            self.text.append(text)
            self.text_len += len(text)

    def end(self, tag: str) -> None:
        if self.skipped:
            self.skipped -= 1
            return
        ns, local = self.path.pop()
        if self.field is not None:
            text = "".join(self.text)
            if self.field == "":  # wsdp:Types, a list of QNames (DPWS 1.1 §4.2)
                for qname in text.split()[:MAX_TYPES]:
                    name = self.resolve(qname)[:MAX_TEXT]
                    if len(self.types) < MAX_TYPES and name not in self.types:
                        self.types.append(name)
            elif (value := " ".join(text.split())[:MAX_TEXT]) and self.fields[self.field] is None:
                self.fields[self.field] = value  # localized repeats (xml:lang) keep the first
            self.field = None
        elif self.found and len(self.path) == 2 and ns == MEX_NS and local == "Metadata":
            self.finished = True
        self.declared.pop()

    def close(self) -> None:
        """Called by the parser's own close(); the result is read from the collector instead."""


class MetadataReader:
    """Reads one GetResponse body fed in pieces (the body of one HTTP response).

    :meth:`feed` takes the body's bytes as they arrive and says when reading is over: wsx:Metadata
    closed, MAX_METADATA bytes were read, or the body is no metadata (then :meth:`result` is None).
    Malformed XML and any DTD end it with :class:`~iotwarden.errors.ParseError`.
    """

    kind: ClassVar[str] = "dpws_metadata"  # the observation kind dissect/http.py emits

    def __init__(self) -> None:
        self.read = 0
        self.over = False
        self._parser: DefusedXMLParser | None = None
        self._collector = _Collector()

    def feed(self, data: bytes) -> bool:
        """Read ``data``, the next bytes of the body; True when nothing more is wanted."""
        if self.over:
            return True
        data = data[: MAX_METADATA - self.read]
        self.read += len(data)
        if self._parser is None:
            data = data.lstrip(_WHITESPACE)
            if not data:
                return self._stop_at_limit()
            if not (data.startswith(b"<") or data.startswith(_BOM)):
                self.over = True  # not XML (a MIME multipart scan image): not read any further
                return True
            self._parser = DefusedXMLParser(target=self._collector, forbid_dtd=True)
        try:
            self._parser.feed(data)
        except _NotMetadata:
            self.over = True
            self._collector.found = False
            return True
        except (XmlParseError, DefusedXmlException, LookupError, ValueError) as exc:
            self.over = True  # LookupError: a declared encoding Python does not know
            raise ParseError(f"DPWS metadata: {type(exc).__name__}: {str(exc)[:80]}") from None
        if self._collector.finished:
            self.over = True
            return True
        return self._stop_at_limit()

    def _stop_at_limit(self) -> bool:
        if self.read >= MAX_METADATA:
            self.over = True
        return self.over

    def result(self) -> dict[str, Any] | None:
        """The metadata's fields (see dissect/http.py), or None when the body held no metadata or stated
        nothing of the device."""
        c = self._collector
        if not c.found or (not c.types and all(v is None for v in c.fields.values())):
            return None
        return {**c.fields, "dpws_types": list(c.types), "dpws_truncated": not c.finished}


def parse_metadata(data: bytes) -> dict[str, Any] | None:
    """The fields of a whole GetResponse body (None: no metadata); ParseError if malformed."""
    reader = MetadataReader()
    reader.feed(data)
    return reader.result()
