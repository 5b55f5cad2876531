"""OPC UA Binary encoding (OPC 10000-6 UA Part 6 §5.2): the built-in types and the few structures the OPC UA
dissector reads (request and response headers, ApplicationDescription, EndpointDescription; Part 4 §7).

Every read is bounded by the buffer and raises ParseError past its end; strings keep their first
:data:`MAX_TEXT` characters, arrays are read up to :data:`MAX_ARRAY` elements and nesting of
DiagnosticInfo is limited to :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import base64
import struct
import uuid
from typing import Any

from iotwarden.errors import ParseError

MAX_TEXT = 512  # characters kept of one String
MAX_ARRAY = 64  # elements read of one array (EndpointDescriptions, UserTokenPolicies, Strings)
MAX_DEPTH = 4  # nested InnerDiagnosticInfo read (Part 6 §5.2.2.12)
APPLICATION_TYPES = {0: "server", 1: "client", 2: "client_and_server", 3: "discovery_server"}  # Part 4 §7.2
SECURITY_MODES = {0: "invalid", 1: "none", 2: "sign", 3: "sign_and_encrypt"}  # Part 4 §7.20
USER_TOKEN_TYPES = {0: "anonymous", 1: "username", 2: "certificate", 3: "issued_token"}  # Part 4 §7.42


class UaReader:
    """Little-endian reads over one message body, from ``off``."""

    def __init__(self, data: bytes, off: int = 0) -> None:
        self.data, self.off = data, off

    def take(self, n: int) -> bytes:
        if n < 0 or self.off + n > len(self.data):
            raise ParseError(f"OPC UA value past the end of the chunk (offset {self.off}, {n} bytes)")
        out = self.data[self.off : self.off + n]
        self.off += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def i32(self) -> int:
        return int.from_bytes(self.take(4), "little", signed=True)

    def f64(self) -> float:
        return float(struct.unpack("<d", self.take(8))[0])

    def length(self) -> int:
        """A String/ByteString/array length (Int32, -1 for null: 0 here)."""
        n = self.i32()
        if n < -1:
            raise ParseError(f"OPC UA negative length {n}")
        return max(n, 0)

    def string(self) -> str | None:
        """String (§5.2.2.4): Int32 length, UTF-8 bytes; None when null."""
        n = self.i32()
        if n < 0:
            return None
        return self.take(n)[:MAX_TEXT * 4].decode("utf-8", "replace")[:MAX_TEXT]

    def skip_bytes(self) -> int:
        """A ByteString (§5.2.2.7) skipped; its length (0 when null)."""
        n = self.length()
        self.take(n)
        return n

    def strings(self) -> list[str]:
        """Array of String (§5.2.5), its first MAX_ARRAY non-null elements."""
        out: list[str] = []
        for _ in range(self.length()):
            value = self.string()
            if value is not None and len(out) < MAX_ARRAY:
                out.append(value)
        return out

    def node_id(self) -> str:
        """NodeId (§5.2.2.9) in its text form (Part 6 §5.3.1.10): ``i=631``, ``ns=2;s=Tank1``."""
        return self._node_id(self.u8())[0]

    def expanded_node_id(self) -> str:
        """ExpandedNodeId (§5.2.2.10): a NodeId with flags for a namespace URI and a server index."""
        mask = self.u8()
        text, _ = self._node_id(mask & 0x3F)
        if mask & 0x80:
            text = f"nsu={self.string()};{text.split(';', 1)[-1]}"
        if mask & 0x40:
            text = f"svr={self.u32()};{text}"
        return text

    def numeric_node_id(self) -> tuple[int, int] | None:
        """(namespace, identifier) of a numeric ExpandedNodeId, None for other identifier types."""
        mask = self.u8()
        _, value = self._node_id(mask & 0x3F)
        if mask & 0x80:
            self.string()
        if mask & 0x40:
            self.u32()
        return value

    def _node_id(self, encoding: int) -> tuple[str, tuple[int, int] | None]:
        if encoding == 0x00:  # two-byte: namespace 0, identifier 0..255
            ident = self.u8()
            return f"i={ident}", (0, ident)
        if encoding == 0x01:  # four-byte: namespace 0..255, identifier 0..65535
            ns, ident = self.u8(), self.u16()
        elif encoding == 0x02:
            ns, ident = self.u16(), self.u32()
        elif encoding == 0x03:
            ns = self.u16()
            return _ns(ns, f"s={self.string() or ''}"), None
        elif encoding == 0x04:
            ns = self.u16()
            return _ns(ns, f"g={uuid.UUID(bytes_le=self.take(16))}"), None
        elif encoding == 0x05:
            ns, n = self.u16(), self.length()
            return _ns(ns, f"b={base64.b64encode(self.take(n)[:MAX_TEXT]).decode()}"), None
        else:
            raise ParseError(f"OPC UA NodeId encoding 0x{encoding:02x}")
        return _ns(ns, f"i={ident}"), (ns, ident)

    def localized_text(self) -> str | None:
        """LocalizedText (§5.2.2.14): mask, optional Locale, optional Text; the text."""
        mask = self.u8()
        if mask & 0x01:
            self.string()
        return self.string() if mask & 0x02 else None

    def diagnostic_info(self, depth: int = 0) -> None:
        """DiagnosticInfo (§5.2.2.12) skipped."""
        if depth > MAX_DEPTH:
            raise ParseError("OPC UA DiagnosticInfo nested too deep")
        mask = self.u8()
        self.take(4 * bin(mask & 0x0F).count("1"))  # symbolic id, namespace, localized text, locale
        if mask & 0x10:
            self.string()
        if mask & 0x20:
            self.u32()
        if mask & 0x40:
            self.diagnostic_info(depth + 1)

    def extension_object(self) -> str:
        """ExtensionObject (§5.2.2.15) skipped past its body; its type's NodeId."""
        type_id = self.node_id()
        if self.u8() & 0x03:  # a ByteString or XmlElement body
            self.skip_bytes()
        return type_id

    def request_header(self) -> dict[str, Any]:
        """RequestHeader (Part 4 §7.28)."""
        self.node_id()  # authenticationToken: a session secret, never reported
        self.take(8)  # timestamp
        handle = self.u32()
        self.u32()  # returnDiagnostics
        self.string()  # auditEntryId
        self.u32()  # timeoutHint
        self.extension_object()
        return {"request_handle": handle}

    def response_header(self) -> dict[str, Any]:
        """ResponseHeader (Part 4 §7.29)."""
        self.take(8)
        handle, result = self.u32(), self.u32()
        self.diagnostic_info()
        self.strings()
        self.extension_object()
        return {"request_handle": handle, "service_result": result}

    def application_description(self) -> dict[str, Any]:
        """ApplicationDescription (Part 4 §7.2): what an application says it is."""
        out: dict[str, Any] = {"application_uri": self.string(), "product_uri": self.string(),
                               "application_name": self.localized_text()}
        out["application_type"] = APPLICATION_TYPES.get(self.i32(), "unknown")
        out["gateway_server_uri"] = self.string()
        self.string()  # discoveryProfileUri
        out["discovery_urls"] = self.strings()
        return {k: v for k, v in out.items() if v not in (None, "", [])}

    def endpoint_description(self) -> dict[str, Any]:
        """EndpointDescription (Part 4 §7.14): URL, server, security mode and policy, token types."""
        out: dict[str, Any] = {"endpoint_url": self.string(), "server": self.application_description()}
        out["has_certificate"] = self.skip_bytes() > 0
        out["security_mode"] = SECURITY_MODES.get(self.i32(), "unknown")
        out["security_policy_uri"] = self.string()
        tokens = []
        for _ in range(self.length()):  # UserTokenPolicy: policyId, tokenType, issuedTokenType, url, policy
            self.string()
            token = USER_TOKEN_TYPES.get(self.i32(), "unknown")
            self.string(), self.string(), self.string()
            if token not in tokens:
                tokens.append(token)
        out["user_token_types"] = tokens
        out["transport_profile_uri"] = self.string()
        out["security_level"] = self.u8()
        return out


def _ns(ns: int, ident: str) -> str:
    return ident if ns == 0 else f"ns={ns};{ident}"


def policy_name(uri: str | None) -> str | None:
    """The short name of a SecurityPolicyUri (Part 7): the part after '#' ('None', 'Basic256Sha256')."""
    if not uri:
        return None
    return uri.rsplit("#", 1)[-1]
