"""RDP's UDP transport ([MS-RDPEUDP]): the SYN and SYN+ACK datagrams that open an RDP-UDP connection on udp/3389,
the flow named ``rdp`` as its TCP connection is.

An RDP client that negotiated multitransport on its TCP connection ([MS-RDPBCGR] §2.2.15.1 Initiate Multitransport
Request, [MS-RDPEMT] §1.3) opens a UDP connection to the server: a SYN datagram (§3.1.5.1.1), the server's SYN+ACK
(§3.1.5.1.2), then TLS (reliable, RDP-UDP-R) or DTLS (lossy, RDP-UDP-L, §1.3.1) carrying MS-RDPEMT's tunnel PDUs,
whose RDP_TUNNEL_CREATEREQUEST (the RequestID and SecurityCookie tying it to the TCP connection) travel encrypted.
So only the handshake is read; what follows is counted as the flow's bytes.

Kinds and fields (subject ``src``; proto ``rdp``, the flow's app ``rdp``):

* ``udp_syn`` (the client): ``receive_window`` (uReceiveWindowSize, §2.2.2.1), ``up_mtu``, ``down_mtu``
  (RDPUDP_SYNDATA_PAYLOAD, §2.2.2.5), ``lossy`` (RDPUDP_FLAG_SYNLOSSY: RDP-UDP-L, DTLS), ``correlation_id``
  (RDPUDP_CORRELATION_ID_PAYLOAD, §2.2.2.8, hex; None without one), ``udp_version`` (the highest version the client
  offers in RDPUDP_SYNDATAEX_PAYLOAD, §2.2.2.9: 1, 2 or 3 for RDPUDP_PROTOCOL_VERSION_1, _2, _3, the last handing
  the connection to [MS-RDPEUDP2], Wireshark's "UDPv2"; 1 without one),
  ``padded`` (the datagram is the 1232 bytes §3.1.5.1.1 pads a SYN to).
* ``udp_syn_ack`` (the server): ``receive_window``, ``up_mtu``, ``down_mtu``, ``lossy``, ``udp_version`` (the
  version both use, §3.1.5.1.2).

A SYN is recognised only by its whole layout (:func:`parse_syn`, also the probe on other ports): snSourceAck -1,
uFlags with RDPUDP_FLAG_SYN and nothing beyond the flags §3.1.5.1.1 allows a SYN, both MTUs within 1132-1232, and
each optional payload its flag announces present. Checked against Wireshark's rdpudp dissector (packet-rdpudp.c,
``tshark -V``) and Zeek's RDPEUDP analyzer (src/analyzer/protocol/rdp/rdpeudp-analyzer.pac: SYN with snSourceAck
0xffffffff, then SYN+ACK). A capture joined after the handshake names nothing (the datagrams after it carry no
header that tells RDP-UDP from other traffic without the handshake's sequence numbers).
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect.base import APP_STATE_KEY, Dissector, Packet
from iotwarden.model import Observation

PORT = 3389  # IANA ms-wbt-server, udp as tcp ([MS-RDPBCGR] §2.2.15.1: the server's RDP port)
APP = "rdp"
MAX_PACKETS = 8  # datagrams of a flow read: the SYN, its retransmissions (§1.3.2.1 "persistent retransmits"), SYN+ACK

SOURCE_ACK_SYN = 0xFFFFFFFF  # §3.1.5.1.1: a SYN's snSourceAck is -1
FLAG_SYN, FLAG_FIN, FLAG_ACK, FLAG_DATA = 0x0001, 0x0002, 0x0004, 0x0008  # §2.2.2.1 uFlags
FLAG_SYNLOSSY, FLAG_CORRELATION_ID, FLAG_SYNEX = 0x0200, 0x0800, 0x1000
SYN_FLAGS = FLAG_SYN | FLAG_SYNLOSSY | FLAG_CORRELATION_ID | FLAG_SYNEX  # the only flags §3.1.5.1.1 lets a SYN carry
SYN_ACK_FLAGS = SYN_FLAGS | FLAG_ACK  # §3.1.5.1.2: a SYN packet with RDPUDP_FLAG_ACK
MIN_MTU, MAX_MTU = 1132, 1232  # §3.1.5.1.1: uUpStreamMtu and uDownStreamMtu
SYN_SIZE = 1232  # §3.1.5.1.1: the SYN datagram is zero-padded to 1232 bytes
HEADER = 8  # RDPUDP_FEC_HEADER (§2.2.2.1): snSourceAck, uReceiveWindowSize, uFlags, network byte order
SYNDATA = 8  # RDPUDP_SYNDATA_PAYLOAD (§2.2.2.5): snInitialSequenceNumber, uUpStreamMtu, uDownStreamMtu
CORRELATION_ID = 32  # RDPUDP_CORRELATION_ID_PAYLOAD (§2.2.2.8): uCorrelationId (16), uReserved (16)
VERSION_INFO_VALID = 0x0001  # §2.2.2.9 uSynExFlags
VERSION_3 = 0x0101  # §2.2.2.9 RDPUDP_PROTOCOL_VERSION_3, followed by a 32-byte cookieHash
VERSIONS = {0x0001: 1, 0x0002: 2, VERSION_3: 3}  # RDPUDP_PROTOCOL_VERSION_1, _2, _3
COOKIE_HASH = 32


def parse_syn(data: bytes, *, ack: bool) -> dict[str, Any] | None:
    """The fields of a SYN (``ack`` False) or SYN+ACK datagram (§3.1.5.1.1-2), with ``isn`` and ``source_ack``; None
    when ``data`` is not one (any layout rule broken). Never raises."""
    if len(data) < HEADER + SYNDATA:
        return None
    source_ack = int.from_bytes(data[0:4], "big")
    window, flags = int.from_bytes(data[4:6], "big"), int.from_bytes(data[6:8], "big")
    if not flags & FLAG_SYN or bool(flags & FLAG_ACK) != ack or flags & ~(SYN_ACK_FLAGS if ack else SYN_FLAGS):
        return None
    if not ack and source_ack != SOURCE_ACK_SYN:
        return None
    isn = int.from_bytes(data[8:12], "big")
    up, down = int.from_bytes(data[12:14], "big"), int.from_bytes(data[14:16], "big")
    if not (MIN_MTU <= up <= MAX_MTU and MIN_MTU <= down <= MAX_MTU):
        return None
    pos = HEADER + SYNDATA
    correlation = None
    if flags & FLAG_CORRELATION_ID:
        if len(data) < pos + CORRELATION_ID:
            return None
        correlation = data[pos : pos + 16].hex()
        pos += CORRELATION_ID
    version = 1
    if flags & FLAG_SYNEX:
        if len(data) < pos + 2:
            return None
        if int.from_bytes(data[pos : pos + 2], "big") & VERSION_INFO_VALID:
            raw = int.from_bytes(data[pos + 2 : pos + 4], "big") if len(data) >= pos + 4 else None
            if raw not in VERSIONS or (raw == VERSION_3 and len(data) < pos + 4 + COOKIE_HASH):
                return None
            version = VERSIONS[raw]
    fields: dict[str, Any] = {"receive_window": window, "up_mtu": up, "down_mtu": down,
                              "lossy": bool(flags & FLAG_SYNLOSSY), "udp_version": version,
                              "isn": isn, "source_ack": source_ack}
    if not ack:
        fields["correlation_id"] = correlation
        fields["padded"] = len(data) >= SYN_SIZE
    return fields


class RdpUdpDissector(Dissector):
    """The RDP-UDP handshake. Flow state: the client's initial sequence number, whether the SYN+ACK was read."""

    name: ClassVar[str] = "rdpudp"
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_packets_per_flow: ClassVar[int | None] = MAX_PACKETS

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A client's whole SYN datagram (:func:`parse_syn`)."""
        return to_server and parse_syn(payload, ack=False) is not None

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto != 17 or state.get("done"):
            return []
        if pkt.to_server:
            if "isn" in state:
                return []  # a retransmitted SYN, or the datagrams after the handshake
            fields = parse_syn(pkt.payload, ack=False)
            if fields is None:
                return []  # joined mid-connection, or not RDP-UDP: no header to judge it by (module docstring)
            state["isn"] = fields.pop("isn")
            del fields["source_ack"]
            state[APP_STATE_KEY] = APP
            return [pkt.observation(APP, "udp_syn", fields)]
        if "isn" not in state:
            return []
        fields = parse_syn(pkt.payload, ack=True)
        state["done"] = True  # the server's first datagram: its SYN+ACK, or one after a SYN+ACK the capture lost
        if fields is None or fields["source_ack"] != state["isn"]:  # §3.1.5.1.2: it acknowledges the SYN's ISN
            return []
        for key in ("isn", "source_ack"):
            del fields[key]
        return [pkt.observation(APP, "udp_syn_ack", fields)]
