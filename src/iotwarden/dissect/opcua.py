"""OPC UA binary dissector (opc.tcp, tcp/4840; elsewhere by a client's Hello): the UA Connection Protocol
messages and, on channels without security, the service each message carries and what servers and clients
say they are.

Sources: OPC 10000-6 (UA Part 6: Mappings) §7.1.2 UACP message header (MessageType HEL/ACK/ERR/RHE, or
OPN/MSG/CLO of the secure conversation §6.7.2; ChunkType F/C/A; MessageSize), §7.1.2.3-7.1.2.6 Hello,
Acknowledge, Error, ReverseHello, §6.7.2.3 security headers, §6.7.2.4 sequence header, §5.2 binary
encoding (dissect/uabinary.py); OPC 10000-4 (Part 4: Services) §5.4-5.11 service parameters, §7.2
ApplicationDescription, §7.14 EndpointDescription, §7.39 StatusCode; the services' binary encoding ids of
Wireshark's plugins/epan/opcua/opcua_serviceids.h (checked against tshark 4's opcua.servicenodeid values).

Kinds (subject ``src``, the sender): ``hello`` (client: ``protocol_version``, ``receive_buffer_size``,
``send_buffer_size``, ``max_message_size``, ``max_chunk_count``, ``endpoint_url``), ``acknowledge`` (server:
the same sizes), ``error`` (``error_code``, ``error`` name where known, ``reason``), ``reverse_hello`` (server:
``server_uri``, ``endpoint_url``), ``open_secure_channel`` (``secure_channel_id``, ``security_policy_uri``,
``security_policy`` ("None", "Basic256Sha256"), ``secured`` (policy other than None), ``request_id``; on a
None channel also ``service``, ``security_mode``, ``request_type`` or the response's ``channel_id``,
``token_id``, ``revised_lifetime``), ``message`` (``secure_channel_id``, ``token_id``, ``request_id``,
``chunk``, ``security``: "none" when the channel was opened with policy None, "secured" when with another,
"unknown" when its opening was not seen; on a "none" channel the first chunk of a message adds
``service_id`` and ``service`` (ReadRequest, WriteResponse...), ``is_request``, ``request_handle`` or
``service_result``, and per service what follows), ``close_secure_channel``.

Per service (Part 4): GetEndpoints and CreateSession responses add the server's ApplicationDescription
(``application_uri``, ``product_uri``, ``application_name``, ``application_type``) from its first endpoint,
``endpoint_urls``, ``security_policies`` and ``security_modes`` offered and ``user_token_types``; a
CreateSession request the client's own ApplicationDescription (``client_application_uri``,
``client_product_uri``, ``client_application_name``, ``client_application_type``: a client's software is no
product of the host running it), ``server_uri``, ``endpoint_url``, ``session_name``; a FindServers response
``servers`` (descriptions that an LDS may give of other hosts: not the sender's identity); an ActivateSession
request ``user_token_type``
(never the user's name or secret); a Write request ``write_count``, ``node``, ``attribute_id`` of the first
value and model/otops.py's ``ot_operation`` "write"; a Call request ``method_count``, ``object_id``,
``method_id`` (unmarked: a method may do anything from a read to a restart, no class says which).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector, confirm
from iotwarden.dissect.otstream import collect, direction_key
from iotwarden.dissect.uabinary import MAX_ARRAY, SECURITY_MODES, UaReader, policy_name
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import NAME, OPERATION

PORT = 4840  # IANA opc-ua-tcp
HEADER = 8  # MessageType (3), ChunkType (1), MessageSize (UInt32)
MIN_SIZE = {b"HEL": 32, b"ACK": 28, b"ERR": 16, b"RHE": 16, b"OPN": 24, b"MSG": 24, b"CLO": 24}
MAX_CHUNK_SIZE = 64 * 1024 * 1024  # a MessageSize beyond this is no chunk header (the stream lost sync)
MAX_CHUNK_KEPT = 65_560  # a chunk this size or smaller is buffered whole; of a larger one only its head
CHUNK_HEAD = 8192  # bytes read of a larger chunk (Part 6 §7.1.2.3: the least ReceiveBufferSize allowed)
MAX_OPEN_MESSAGES = 16  # request ids per direction whose message has intermediate chunks pending
MAX_ENDPOINT_URL = 4096  # Part 6 §7.1.2.3: EndpointUrl of a Hello is at most 4096 bytes
NONE_POLICY = "http://opcfoundation.org/UA/SecurityPolicy#None"

SERVICES = {  # binary encoding ids of the service messages (namespace 0)
    397: "ServiceFault", 422: "FindServersRequest", 425: "FindServersResponse",
    12208: "FindServersOnNetworkRequest", 12209: "FindServersOnNetworkResponse",
    428: "GetEndpointsRequest", 431: "GetEndpointsResponse", 437: "RegisterServerRequest",
    440: "RegisterServerResponse", 12211: "RegisterServer2Request", 12212: "RegisterServer2Response",
    446: "OpenSecureChannelRequest", 449: "OpenSecureChannelResponse", 452: "CloseSecureChannelRequest",
    455: "CloseSecureChannelResponse", 461: "CreateSessionRequest", 464: "CreateSessionResponse",
    467: "ActivateSessionRequest", 470: "ActivateSessionResponse", 473: "CloseSessionRequest",
    476: "CloseSessionResponse", 479: "CancelRequest", 482: "CancelResponse", 488: "AddNodesRequest",
    491: "AddNodesResponse", 494: "AddReferencesRequest", 497: "AddReferencesResponse",
    500: "DeleteNodesRequest", 503: "DeleteNodesResponse", 506: "DeleteReferencesRequest",
    509: "DeleteReferencesResponse", 527: "BrowseRequest", 530: "BrowseResponse", 533: "BrowseNextRequest",
    536: "BrowseNextResponse", 554: "TranslateBrowsePathsToNodeIdsRequest",
    557: "TranslateBrowsePathsToNodeIdsResponse", 560: "RegisterNodesRequest", 563: "RegisterNodesResponse",
    566: "UnregisterNodesRequest", 569: "UnregisterNodesResponse", 615: "QueryFirstRequest",
    618: "QueryFirstResponse", 621: "QueryNextRequest", 624: "QueryNextResponse", 631: "ReadRequest",
    634: "ReadResponse", 664: "HistoryReadRequest", 667: "HistoryReadResponse", 673: "WriteRequest",
    676: "WriteResponse", 700: "HistoryUpdateRequest", 703: "HistoryUpdateResponse", 712: "CallRequest",
    715: "CallResponse", 751: "CreateMonitoredItemsRequest", 754: "CreateMonitoredItemsResponse",
    763: "ModifyMonitoredItemsRequest", 766: "ModifyMonitoredItemsResponse", 769: "SetMonitoringModeRequest",
    772: "SetMonitoringModeResponse", 775: "SetTriggeringRequest", 778: "SetTriggeringResponse",
    781: "DeleteMonitoredItemsRequest", 784: "DeleteMonitoredItemsResponse", 787: "CreateSubscriptionRequest",
    790: "CreateSubscriptionResponse", 793: "ModifySubscriptionRequest", 796: "ModifySubscriptionResponse",
    799: "SetPublishingModeRequest", 802: "SetPublishingModeResponse", 826: "PublishRequest",
    829: "PublishResponse", 832: "RepublishRequest", 835: "RepublishResponse",
    841: "TransferSubscriptionsRequest", 844: "TransferSubscriptionsResponse",
    847: "DeleteSubscriptionsRequest", 850: "DeleteSubscriptionsResponse",
}
STATUS_CODES = {  # Part 4 §7.39 / Part 6 §7.1.5 (OPC Foundation StatusCode.csv)
    0x00000000: "Good", 0x80010000: "BadUnexpectedError", 0x80020000: "BadInternalError",
    0x80030000: "BadOutOfMemory", 0x80040000: "BadResourceUnavailable", 0x80050000: "BadCommunicationError",
    0x80060000: "BadEncodingError", 0x80070000: "BadDecodingError", 0x80080000: "BadEncodingLimitsExceeded",
    0x80130000: "BadSecurityChecksFailed", 0x80220000: "BadSecureChannelIdInvalid",
    0x807E0000: "BadTcpServerTooBusy", 0x807F0000: "BadTcpMessageTypeInvalid",
    0x80800000: "BadTcpSecureChannelUnknown", 0x80810000: "BadTcpMessageTooLarge",
    0x80820000: "BadTcpNotEnoughResources", 0x80830000: "BadTcpInternalError",
    0x80840000: "BadTcpEndpointUrlInvalid",
}
USER_TOKENS = {321: "anonymous", 324: "username", 327: "certificate", 940: "issued_token"}  # *IdentityToken


def chunk_length(buf: bytes) -> int | None:
    """Size of the UACP chunk at the head of ``buf`` (Part 6 §7.1.2.2); ParseError when it is no header."""
    if len(buf) < HEADER:
        return None
    kind = bytes(buf[:3])
    size = int.from_bytes(buf[4:8], "little")
    if kind not in MIN_SIZE or buf[3] not in b"FCA" or not MIN_SIZE[kind] <= size <= MAX_CHUNK_SIZE:
        raise ParseError(f"not an OPC UA chunk header ({bytes(buf[:4])!r}, size {size})")
    return size


def chunks(state: dict[str, Any], to_server: bool, data: bytes) -> tuple[list[tuple[bytes, bool]], str | None]:
    """(chunk, whole) pairs of one direction after ``data``: chunks up to MAX_CHUNK_KEPT whole, of larger
    ones their first CHUNK_HEAD bytes (the rest is skipped); the framing error if any (buffer dropped)."""
    key, skip_key = direction_key(to_server), f"skip_{direction_key(to_server)}"
    buf = state.get(key, b"") + data
    skip = state.get(skip_key, 0)
    if skip:
        dropped = min(skip, len(buf))
        buf, skip = buf[dropped:], skip - dropped
    out: list[tuple[bytes, bool]] = []
    error: str | None = None
    pos = 0
    while not skip and len(buf) - pos >= HEADER:
        try:
            size = chunk_length(buf[pos : pos + HEADER])
        except ParseError as exc:
            error, pos = str(exc), len(buf)
            break
        assert size is not None
        if size <= MAX_CHUNK_KEPT:
            if pos + size > len(buf):
                break
            out.append((buf[pos : pos + size], True))
            pos += size
        else:
            if len(buf) - pos < CHUNK_HEAD:
                break
            out.append((buf[pos : pos + CHUNK_HEAD], False))
            taken = min(size, len(buf) - pos)
            skip, pos = size - taken, pos + taken
    state[key], state[skip_key] = buf[pos:], skip
    return out, error


def _sizes(r: UaReader) -> dict[str, Any]:
    return {"protocol_version": r.u32(), "receive_buffer_size": r.u32(), "send_buffer_size": r.u32(),
            "max_message_size": r.u32(), "max_chunk_count": r.u32()}


def _endpoints(r: UaReader, fields: dict[str, Any]) -> None:
    """An array of EndpointDescription: the server's description (first endpoint) and what it offers."""
    urls: list[str] = []
    policies: list[str] = []
    modes: list[str] = []
    tokens: list[str] = []
    for index in range(r.length()):
        endpoint = r.endpoint_description()
        if index == 0:
            fields.update(endpoint["server"])
        if index >= MAX_ARRAY:
            continue
        for value, seen in ((endpoint["endpoint_url"], urls), (policy_name(endpoint["security_policy_uri"]), policies),
                            (endpoint["security_mode"], modes), *((t, tokens) for t in endpoint["user_token_types"])):
            if value and value not in seen:
                seen.append(value)
    fields.update(endpoint_urls=urls, security_policies=policies, security_modes=modes, user_token_types=tokens)


def _service(r: UaReader, service: str, fields: dict[str, Any]) -> None:
    """The parameters of ``service`` the dissector reports (module docstring), after its header."""
    if service == "GetEndpointsResponse":
        _endpoints(r, fields)
    elif service == "GetEndpointsRequest":
        fields["endpoint_url"] = r.string()
    elif service == "CreateSessionRequest":
        client = r.application_description()
        fields.update((f"client_{k}" if k.startswith("application_") or k == "product_uri" else k, v)
                      for k, v in client.items() if k != "discovery_urls")
        fields.update(server_uri=r.string(), endpoint_url=r.string(), session_name=r.string())
    elif service == "CreateSessionResponse":
        r.node_id(), r.node_id()  # sessionId, authenticationToken
        r.f64()
        r.skip_bytes(), r.skip_bytes()  # serverNonce, serverCertificate
        _endpoints(r, fields)
    elif service == "FindServersResponse":
        fields["servers"] = [r.application_description() for _ in range(r.length())][:MAX_ARRAY]
    elif service == "ActivateSessionRequest":
        r.string(), r.skip_bytes()  # clientSignature: algorithm, signature
        for _ in range(r.length()):  # clientSoftwareCertificates: certificateData, signature
            r.skip_bytes(), r.skip_bytes()
        r.strings()  # localeIds
        fields["user_token_type"] = USER_TOKENS.get(_numeric(r.node_id()), "unknown")
    elif service == "WriteRequest":
        fields[OPERATION], fields[NAME] = "write", "write"
        fields["write_count"] = count = r.length()
        if count:
            fields["node"], fields["attribute_id"] = r.node_id(), r.u32()
    elif service == "CallRequest":
        fields["method_count"] = count = r.length()
        if count:
            fields["object_id"] = r.node_id()
            fields["method_id"] = r.node_id()
    elif service == "OpenSecureChannelRequest":
        r.u32()
        fields["request_type"] = "renew" if r.u32() == 1 else "issue"
        fields["security_mode"] = SECURITY_MODES.get(r.u32(), "unknown")
    elif service == "OpenSecureChannelResponse":
        r.u32()
        fields["channel_id"], fields["token_id"] = r.u32(), r.u32()
        r.take(8)
        fields["revised_lifetime"] = r.u32()


def _numeric(node: str) -> int:
    return int(node[2:]) if node.startswith("i=") else -1


def _body(r: UaReader, fields: dict[str, Any]) -> None:
    """The service message at ``r`` (Part 6 §6.7.2.1: its type's encoding id, then the structure)."""
    type_id = r.numeric_node_id()
    number = type_id[1] if type_id is not None and type_id[0] == 0 else -1
    service = SERVICES.get(number, "unknown")
    fields.update(service_id=number, service=service, is_request=service.endswith("Request"))
    if service == "unknown":
        return
    try:
        fields.update(r.response_header() if not fields["is_request"] else r.request_header())
        _service(r, service, fields)
    except ParseError:  # a message cut short (a larger chunk's head) or malformed past its header
        fields["truncated"] = True


class OpcuaDissector(StreamDissector):
    name: ClassVar[str] = "opcua"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_packets_per_flow: ClassVar[int | None] = None
    ot_operations: ClassVar[bool] = True

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A client's whole Hello header: "HELF", a sane size, buffer sizes Part 6 allows, an opc.tcp URL."""
        if len(payload) < 42 or not payload.startswith(b"HELF"):
            return False
        size = int.from_bytes(payload[4:8], "little")
        url_length = int.from_bytes(payload[28:32], "little", signed=True)
        receive, send = int.from_bytes(payload[12:16], "little"), int.from_bytes(payload[16:20], "little")
        return (url_length == size - 32 and 10 <= url_length <= MAX_ENDPOINT_URL and receive >= 8192
                and send >= 8192 and payload[32:42].lower() == b"opc.tcp://")

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """Lost bytes: the direction's partial chunk and pending skip are dropped, framing restarts."""
        key = direction_key(to_server)
        state.pop(key, None)
        state.pop(f"skip_{key}", None)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        found, error = chunks(state, pkt.to_server, data)
        return collect([c for c, _ in found], [error] if error else [],
                       lambda chunk: self._chunk(pkt, chunk, state))

    def _chunk(self, pkt: Packet, chunk: bytes, state: dict[str, Any]) -> Iterator[Observation]:
        kind, r = chunk[:3], UaReader(chunk, HEADER)
        fields: dict[str, Any]
        if kind == b"HEL":
            fields = _sizes(r)
            fields["endpoint_url"] = r.string()
            yield pkt.observation(self.name, "hello", fields)
        elif kind == b"ACK":
            yield pkt.observation(self.name, "acknowledge", _sizes(r))
        elif kind == b"ERR":
            code = r.u32()
            yield pkt.observation(self.name, "error", {"error_code": code, "error": STATUS_CODES.get(code, "unknown"),
                                                       "reason": r.string()})
        elif kind == b"RHE":
            yield pkt.observation(self.name, "reverse_hello", {"server_uri": r.string(), "endpoint_url": r.string()})
        elif kind == b"OPN":
            yield from self._open(pkt, r, state)
        else:
            yield from self._symmetric(pkt, chunk, r, state)

    def _open(self, pkt: Packet, r: UaReader, state: dict[str, Any]) -> Iterator[Observation]:
        """OpenSecureChannel (Part 6 §6.7.2.3 asymmetric security header): its policy decides the channel."""
        fields: dict[str, Any] = {"secure_channel_id": r.u32(), "security_policy_uri": r.string()}
        fields["security_policy"] = policy_name(fields["security_policy_uri"])
        fields["secured"] = fields["security_policy_uri"] != NONE_POLICY
        fields["has_sender_certificate"] = r.skip_bytes() > 0
        r.skip_bytes()  # receiverCertificateThumbprint
        r.u32()
        fields["request_id"] = r.u32()
        state["policy"] = fields["security_policy_uri"]
        if not fields["secured"]:
            _body(r, fields)
        yield pkt.observation(self.name, "open_secure_channel", fields)

    def _symmetric(self, pkt: Packet, chunk: bytes, r: UaReader, state: dict[str, Any]) -> Iterator[Observation]:
        """MSG and CLO chunks (Part 6 §6.7.2.2 symmetric security header, §6.7.2.4 sequence header)."""
        policy = state.get("policy")
        security = "unknown" if policy is None else "none" if policy == NONE_POLICY else "secured"
        fields: dict[str, Any] = {"secure_channel_id": r.u32(), "token_id": r.u32(), "chunk": chr(chunk[3]),
                                  "security": security}
        r.u32()  # sequence number
        fields["request_id"] = request_id = r.u32()
        if chunk[:3] == b"CLO":
            yield pkt.observation(self.name, "close_secure_channel", fields)
            return
        open_key = f"open_{direction_key(pkt.to_server)}"
        pending: list[int] = state.setdefault(open_key, [])
        continued = request_id in pending
        if chunk[3:4] == b"C" and not continued:
            if len(pending) >= MAX_OPEN_MESSAGES:
                pending.pop(0)
            pending.append(request_id)
        elif chunk[3:4] != b"C" and continued:
            pending.remove(request_id)
        if continued:  # a later chunk of a message already described
            confirm(state)
            return
        if chunk[3:4] == b"A":  # Part 6 §6.7.3: an aborted message carries an error and a reason
            code = r.u32()
            fields.update(error_code=code, error=STATUS_CODES.get(code, "unknown"), reason=r.string())
        elif security == "none":
            _body(r, fields)
        yield pkt.observation(self.name, "message", fields)
