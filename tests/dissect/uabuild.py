"""OPC UA binary messages built from OPC 10000-6 §5.2 and §7.1 for the OPC UA dissector tests."""

from __future__ import annotations

import struct

NONE_POLICY = b"http://opcfoundation.org/UA/SecurityPolicy#None"


def ua_string(value: bytes | None) -> bytes:
    return struct.pack("<i", -1) if value is None else struct.pack("<i", len(value)) + value


def chunk(kind: bytes, body: bytes, chunk_type: bytes = b"F") -> bytes:
    return kind + chunk_type + struct.pack("<I", 8 + len(body)) + body


def hello(url: bytes = b"opc.tcp://plc1:4840", receive: int = 65535) -> bytes:
    return chunk(b"HEL", struct.pack("<IIIII", 0, receive, 65535, 0, 0) + ua_string(url))


def node(ident: int) -> bytes:
    """A four-byte numeric NodeId in namespace 0 (§5.2.2.9)."""
    return struct.pack("<BBH", 0x01, 0, ident)


def request_header() -> bytes:
    """RequestHeader (Part 4 §7.28): token, timestamp, handle 7, diagnostics, audit id, timeout, no header."""
    return b"\x00\x00" + bytes(8) + struct.pack("<II", 7, 0) + ua_string(None) + struct.pack("<I", 0) + b"\x00\x00\x00"


def response_header(result: int = 0) -> bytes:
    """ResponseHeader (Part 4 §7.29): timestamp, handle 7, result, no diagnostics, no strings, no header."""
    return bytes(8) + struct.pack("<II", 7, result) + b"\x00" + struct.pack("<i", -1) + b"\x00\x00\x00"


def application(uri: bytes, product: bytes | None, name: bytes, app_type: int = 0) -> bytes:
    """ApplicationDescription (Part 4 §7.2)."""
    return (ua_string(uri) + ua_string(product) + b"\x02" + ua_string(name) + struct.pack("<i", app_type)
            + ua_string(None) + ua_string(None) + struct.pack("<i", 1) + ua_string(b"opc.tcp://plc1:4840"))


def endpoint(server: bytes, mode: int, policy: bytes, token: int = 0) -> bytes:
    """EndpointDescription (Part 4 §7.14) with one UserTokenPolicy."""
    return (ua_string(b"opc.tcp://plc1:4840") + server + ua_string(b"\x30\x82") + struct.pack("<i", mode)
            + ua_string(policy) + struct.pack("<i", 1) + ua_string(b"p") + struct.pack("<i", token)
            + ua_string(None) * 3 + ua_string(b"http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary")
            + b"\x00")


def opn(body: bytes, policy: bytes = NONE_POLICY, channel: int = 0) -> bytes:
    """OPN: channel id, asymmetric security header (policy, certificate, thumbprint), sequence header, body."""
    return chunk(b"OPN", struct.pack("<I", channel) + ua_string(policy) + ua_string(None) * 2
                 + struct.pack("<II", 1, 1) + body)


def msg(service: int, body: bytes, request_id: int = 2, chunk_type: bytes = b"F") -> bytes:
    """MSG: channel id, token id, sequence number, request id, the service's encoding id, its body."""
    return chunk(b"MSG", struct.pack("<IIII", 5, 1, 2, request_id) + node(service) + body, chunk_type)


def open_request() -> bytes:
    body = request_header() + struct.pack("<III", 0, 0, 1) + ua_string(None) + struct.pack("<I", 600000)
    return opn(node(446) + body)
