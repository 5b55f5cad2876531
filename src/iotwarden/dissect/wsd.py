"""WS-Discovery (SOAP-over-UDP to 239.255.255.250 / [FF02::C] udp/3702): what devices announce about
themselves (ONVIF cameras and recorders, WSD printers and scanners, Windows computers) and what
clients search for. Both dialects: the 2005/04 submission Windows and ONVIF speak, and OASIS 1.1.

kind, from the SOAP Body's message element (WS-Discovery's Hello, Bye, Probe, ProbeMatches, Resolve and
ResolveMatches): ``hello`` / ``bye`` (a device joining or leaving), ``probe`` (a search),
``probe_matches`` (the answers), ``resolve`` (a lookup of one endpoint), ``resolve_matches``. Subject ``src``: a Hello,
Bye or match describes its sender; a Probe or Resolve describes only what its sender searches for.
Fields:

* ``version`` ("2005/04" or "1.1", from the message's namespace), ``action`` (wsa:Action),
  ``message_id``, ``relates_to``, ``instance_id`` and ``message_number`` (the AppSequence header block);
* ``endpoints``: EndpointReference addresses ("urn:uuid:..."), of the endpoints described (Hello,
  Bye, matches) or asked for (Resolve); ``matches``: ProbeMatch / ResolveMatch elements counted;
* ``types``: the Types QNames (an xs:QName list) in Clark notation "{namespace}local", the
  prefix resolved through the namespace declarations in scope (XML Schema 2 §3.2.18); a prefix the
  message never declares is kept as written ("dn:NetworkVideoTransmitter");
* ``scopes`` (URIs) and ``match_by`` (a Probe's Scopes/@MatchBy); ``xaddrs`` (transport
  URLs); ``metadata_version`` (int);
* ONVIF scopes ("onvif://www.onvif.org/<category>/<value>", ONVIF Core Specification §7.3.2.2),
  percent-decoded by category: ``onvif_types``, ``onvif_names``, ``onvif_hardware``,
  ``onvif_locations``, ``onvif_profiles``. The URI layout is the protocol's, so it is split here;
  what a name or model means (a vendor, a camera) is the knowledge base's (kb/data/rules/wsd.yaml).

Several matches in one message are merged, first occurrence first; each list holds at most MAX_ITEMS
values of at most MAX_TEXT_CHARS characters. SOAP 1.2 forbids a document type declaration (Part 1
§5), so a DTD, an entity declaration or an external reference is refused before anything expands
(defusedxml); at most MAX_MESSAGE_OCTETS octets and MAX_ELEMENTS elements are read.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any, ClassVar
from urllib.parse import unquote

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.dissect.xmlstream import Declarations, resolve_qname, split_tag
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_MESSAGE_OCTETS = 65_507  # the largest UDP/IPv4 payload: SOAP-over-UDP sends one envelope per datagram
MAX_ELEMENTS = 2_000  # XML elements read before the message is refused (Windows' largest Hello has ~20)
MAX_ITEMS = 64  # values kept per list field
MAX_TEXT_CHARS = 256  # characters kept of one value

DISCOVERY_NS = {"http://schemas.xmlsoap.org/ws/2005/04/discovery": "2005/04",
                "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01": "1.1"}
ADDRESSING_NS = frozenset({"http://schemas.xmlsoap.org/ws/2004/08/addressing", "http://www.w3.org/2005/08/addressing"})
SOAP_NS = frozenset({"http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/"})
KINDS = {"Hello": "hello", "Bye": "bye", "Probe": "probe", "ProbeMatches": "probe_matches", "Resolve": "resolve",
         "ResolveMatches": "resolve_matches"}
ONVIF_SCOPE = "onvif://www.onvif.org/"
ONVIF_FIELDS = {"type": "onvif_types", "name": "onvif_names", "hardware": "onvif_hardware",
                "location": "onvif_locations", "profile": "onvif_profiles"}
_LISTS = ("endpoints", "types", "scopes", "xaddrs", *ONVIF_FIELDS.values())
_LEADING = b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"  # white space and byte order marks before the first "<"
_HEADER_TEXT = {"Action": "action", "MessageID": "message_id", "RelatesTo": "relates_to"}


def _add(bucket: list[str], value: str) -> None:
    value = value[:MAX_TEXT_CHARS]
    if value and value not in bucket and len(bucket) < MAX_ITEMS:
        bucket.append(value)


def _uint(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


def onvif_scopes(scopes: list[str], fields: dict[str, Any]) -> None:
    """ONVIF Core §7.3.2.2 scopes into ``onvif_*`` lists: the category's value, percent-decoded."""
    for scope in scopes:
        if scope[: len(ONVIF_SCOPE)].lower() != ONVIF_SCOPE:
            continue
        category, _, value = scope[len(ONVIF_SCOPE):].partition("/")
        name = ONVIF_FIELDS.get(category.lower())
        if name is not None:
            _add(fields[name], " ".join(unquote(value, errors="replace").split()).strip("/"))


class _Reader:
    """One message read from ElementTree's start-ns / start / end events (each element is cleared once
    read, so the tree never holds more than the open elements)."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {name: [] for name in _LISTS}
        self.kind: str | None = None
        self.path: list[tuple[str, str]] = []  # (namespace, local name) of the open elements
        self.declared: list[Declarations] = []  # namespace declarations of each open element
        self.pending: Declarations = []  # declarations of the element about to start
        self.in_message = False
        self.elements = 0

    def start(self, item: Any) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise ParseError(f"wsd: more than {MAX_ELEMENTS} elements (MAX_ELEMENTS)")
        self.declared.append(self.pending)
        self.pending = []
        ns, local = split_tag(item.tag)
        path, fields = self.path, self.fields
        if not path and (ns not in SOAP_NS or local != "Envelope"):
            raise ParseError("wsd: not a SOAP envelope")
        if len(path) == 2 and self.kind is None and path[1] == (path[0][0], "Body"):
            if ns not in DISCOVERY_NS or local not in KINDS:
                raise ParseError(f"wsd: the body holds {local!r}, not a WS-Discovery message")
            self.kind, self.in_message = KINDS[local], True
            fields["version"] = DISCOVERY_NS[ns]
        elif self.in_message and ns in DISCOVERY_NS and local in ("ProbeMatch", "ResolveMatch"):
            fields["matches"] = fields.get("matches", 0) + 1
        elif len(path) == 2 and path[1] == (path[0][0], "Header") and local == "AppSequence":
            fields["instance_id"] = _uint(str(item.get("InstanceId", "")))
            fields["message_number"] = _uint(str(item.get("MessageNumber", "")))
        path.append((ns, local))

    def end(self, item: Any) -> None:
        ns, local = self.path.pop()
        text = item.text or ""
        if self.in_message:
            self._message_part(item, ns, local, text)
            self.in_message = len(self.path) > 2
        elif len(self.path) == 2 and self.path[1][1] == "Header" and ns in ADDRESSING_NS and local in _HEADER_TEXT:
            self.fields[_HEADER_TEXT[local]] = text.strip()[:MAX_TEXT_CHARS]
        self.declared.pop()
        item.clear()

    def _message_part(self, item: Any, ns: str, local: str, text: str) -> None:
        """What one closed element inside the message states (its text is complete at its end)."""
        fields = self.fields
        if ns in DISCOVERY_NS:
            if local == "Types":
                for qname in text.split():
                    _add(fields["types"], resolve_qname(qname, self.declared))
            elif local == "Scopes":
                for scope in text.split():
                    _add(fields["scopes"], scope)
                if item.get("MatchBy"):
                    fields["match_by"] = str(item.get("MatchBy"))[:MAX_TEXT_CHARS]
            elif local == "XAddrs":
                for url in text.split():
                    _add(fields["xaddrs"], url)
            elif local == "MetadataVersion" and "metadata_version" not in fields:
                fields["metadata_version"] = _uint(text)
        elif ns in ADDRESSING_NS and local == "Address" and self.path and self.path[-1][1] == "EndpointReference":
            _add(fields["endpoints"], text.strip())


def parse_wsd(buf: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one WS-Discovery message; ParseError when it is not one (or is refused)."""
    if buf.lstrip(_LEADING)[:1] != b"<":
        raise ParseError("wsd: not an XML message")
    reader = _Reader()
    events = SafeET.iterparse(io.BytesIO(buf[:MAX_MESSAGE_OCTETS]), events=("start-ns", "start", "end"),
                              forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        for event, item in events:
            if event == "start-ns":
                reader.pending.append((str(item[0]), str(item[1])))
            elif event == "start":
                reader.start(item)
            else:
                reader.end(item)
    # LookupError: an encoding the XML declaration names that Python does not know
    except (ET.ParseError, DefusedXmlException, LookupError, UnicodeError) as exc:
        raise ParseError(f"wsd: {type(exc).__name__}: {exc}") from exc
    if reader.kind is None:
        raise ParseError("wsd: no WS-Discovery message in the SOAP body")
    onvif_scopes(reader.fields["scopes"], reader.fields)
    return reader.kind, reader.fields


class WsdDissector(Dissector):
    name: ClassVar[str] = "wsd"
    udp_ports: ClassVar[tuple[int, ...]] = (3702,)
    max_packets_per_flow: ClassVar[int | None] = None  # a device says Hello again after each change

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload  # the fields depend on the datagram alone (memo contract in dissect/base.py)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        kind, fields = parse_wsd(pkt.payload)
        return [pkt.observation(self.name, kind, fields)]
