"""The dissector contract: what the engine hands a dissector and what it gets back.

Contract (STYLE 10), the same for every dissector and pinned by fuzz tests:

* a dissector turns the bytes of one packet (datagram protocols) or of one direction of a TCP
  stream (stream protocols) into zero or more :class:`~iotwarden.model.Observation`;
* it never decides anything (no risk, no classification): it only describes what was on the wire;
* on malformed input it raises :class:`~iotwarden.errors.ParseError` (or returns ``[]``); the
  engine counts the error under the dissector's ``name`` and goes on. Any other exception is a bug,
  still caught and counted by the engine, and fails the fuzz tests;
* it keeps no state between packets except in the per-flow ``state`` object the engine gives it,
  and that state has a documented size limit.

Dispatch is declared, not coded in the engine: a dissector lists the ethertypes, UDP and TCP ports
it understands, and may offer ``probe`` to recognise its protocol on any other TCP/UDP port from the
first payload bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from iotwarden.model.observation import Observation, Subject


@dataclass(slots=True)
class Packet:
    """One packet as tier 2 sees it, decoded down to the transport payload.

    For non-IP frames (ARP, LLDP, CDP) ``payload`` is what follows the ethertype / LLC header (for an
    802.11 management frame, its elements) and the IP fields are ``None``. ``to_server`` is True when the
    packet goes from the flow's initiator to its responder; ``flow_state`` is the per-flow dict the engine
    keeps for this dissector; ``wlan_subtype`` says which 802.11 management frame carried the elements. ``tcp_seq``
    and ``tcp_ack`` are the segment's own numbers, also when its bytes reach a stream dissector later (reassembled),
    so a delivery of ``data`` ends at sequence number ``tcp_seq + len(payload)``.
    """

    ts: float
    payload: bytes
    src_mac: str | None = None
    dst_mac: str | None = None
    vlan: int | None = None
    ethertype: int | None = None
    src_ip: str | None = None
    dst_ip: str | None = None
    ip_proto: int | None = None
    ttl: int | None = None  # IPv4 TTL / IPv6 hop limit
    src_port: int | None = None
    dst_port: int | None = None
    tcp_flags: int | None = None
    tcp_seq: int | None = None
    to_server: bool = True
    wire_len: int = 0
    wlan_subtype: int | None = None  # an 802.11 management frame's subtype (§9.2.4.1.3 Table 9-1), else None
    vni: tuple[int, ...] | None = None  # VXLAN/Geneve VNIs crossed, outermost first (engine/decode.vni_list)
    # the TCP Acknowledgment Number (RFC 9293 §3.4) of a segment with ACK set, else None: the next byte of the
    # other direction its sender expected, so every byte before it had reached it when it sent this one, whatever
    # order a capture recorded the two directions in (a SPAN port merging two uplinks). None for 0 too: a capture
    # built without them states 0, which must tell nothing whatever the other side's sequence numbers (0 lies ahead
    # of those in the upper half of sequence space); a real one is 0 only once in 2^32 bytes of the other side's
    tcp_ack: int | None = None

    def observation(self, proto: str, kind: str, fields: dict[str, Any], subject: Subject = "src") -> Observation:
        """An Observation stamped with this packet's time and addresses."""
        return Observation(  # positional, in Observation's field order (keywords cost more, once per Observation)
            self.ts, proto, kind, self.src_mac, self.dst_mac, self.src_ip, self.dst_ip, self.src_port,
            self.dst_port, self.ip_proto, self.vlan, self.vni, subject, fields,
        )


class Dissector:
    """Base of datagram dissectors: one packet in, Observations out.

    Subclasses set ``name`` and the dispatch tables, and implement :meth:`dissect`.
    """

    name: ClassVar[str] = ""
    ethertypes: ClassVar[tuple[int, ...]] = ()  # e.g. 0x0806 ARP, 0x88CC LLDP
    llc_snap: ClassVar[tuple[tuple[int, int], ...]] = ()  # (OUI, PID) for 802.3 LLC/SNAP (CDP)
    # IEEE 802.11 management frame subtypes (4 Probe Request, 0 Association Request; engine/wlan.py MGMT_FIXED):
    # the payload is the frame's elements (§9.4.2), src_mac its transmitter, wlan_subtype the subtype
    wlan_management: ClassVar[tuple[int, ...]] = ()
    udp_ports: ClassVar[tuple[int, ...]] = ()
    tcp_ports: ClassVar[tuple[int, ...]] = ()
    # how many payload packets of one TCP/UDP flow are dispatched at most (None: all of them);
    # identity protocols need the first few, OT protocols need every request. A stream dissector that
    # declares ``max_stream_bytes`` is bounded on TCP by that budget instead (this then bounds its datagrams)
    max_packets_per_flow: ClassVar[int | None] = None
    # True when the requests this dissector reports carry model/otops.py's protocol-neutral fields
    # (ot_operation, ot_operation_name): the OT detectors and risk checks then observe its protocol
    ot_operations: ClassVar[bool] = False

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """True when ``payload``, a direction's first bytes on an unlisted port, is this protocol: a
        datagram, or a TCP direction's first in-order bytes, offered again as its next segments add to
        them until they reach the engine's PROBE_BYTES (a claim is no name: see CONFIRMED_STATE_KEY)."""
        return False

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        """Observations for one packet. ``state`` is this flow's dict for this dissector."""
        raise NotImplementedError

    # -- memo (opt-in) ---------------------------------------------------------------------------
    # A datagram dissector whose Observations depend on nothing but the UDP payload (not on the
    # flow state, ports or addresses; every Observation made by ``pkt.observation``) may declare
    # ``memo_key``. The engine then dissects each distinct key once and replays later packets with
    # that key from a bounded memo (EngineConfig.memo_entries / memo_bytes): same kinds and fields,
    # as fresh copies, stamped with the replayed packet's time and addresses. TCP packets are never
    # memoised (a stream dissector that also reads datagrams, as dns does, may declare it for those).

    def memo_key(self, payload: bytes) -> bytes | None:
        """A key such that payloads with equal keys give equal Observations up to what
        :meth:`memo_restamp` puts back; None: do not memoise this payload. Default: never."""
        return None

    def memo_restamp(self, payload: bytes, fields: dict[str, Any]) -> None:
        """Write into a replayed copy of ``fields`` the values of ``payload`` that :meth:`memo_key`
        left out of the key (a DNS transaction id). Default: nothing was left out."""


# A stream dissector's byte budget (StreamDissector.max_stream_bytes) comes with a packet safety net of
# budget / MIN_MEAN_SEGMENT payload packets (StreamDissector.max_stream_packets, :func:`safety_net`): a flow
# whose segments average fewer than 4 bytes stops there, before its budget. Normal stacks send segments of
# hundreds of bytes; the ones that cut a TLS ClientHello into 1-byte pieces (GoodbyeDPI, zapret) do so for its
# first few hundred bytes, far within it. What it bounds is CPU: a payload packet handed costs Python time in the
# dispatcher, the stream reassembly and the dissector whatever its size (measured: 30,000 1-byte segments cost 4.0
# us (TLS), 4.6 (Telnet) and 6.8 (HTTP) each more than the same bytes in whole segments), so a TLS flow of 1-byte
# junk stops after 32,768 packets, ~0.15-0.2 s, where its 128 KiB budget would have taken 4 times as long.
MIN_MEAN_SEGMENT = 4


def safety_net(budget: int) -> int:
    """The packets of a TCP flow handed at most to a stream dissector whose byte budget is ``budget``."""
    return budget // MIN_MEAN_SEGMENT


# A TCP direction on an unlisted port is probed on its first bytes accumulated over its first in-order
# segments until they reach this many (engine/delivery.py): what a probe decides on when a sender cut its
# first message into small segments. A probe reading a text start line should decide on a line longer
# than this from its first PROBE_BYTES (:func:`line_head`), as it must when the line comes cut.
PROBE_BYTES = 64


def line_head(payload: bytes) -> bytes | None:
    """The first PROBE_BYTES of ``payload`` when its first line does not end within them (a start line
    longer than what a probe may be offered of it), else None (the line ends there, or more may come)."""
    if len(payload) < PROBE_BYTES or b"\n" in payload[:PROBE_BYTES]:
        return None
    return payload[:PROBE_BYTES]


# A dissector that serves several applications on one port (ISO-TSAP 102 carries S7comm and MMS) names
# the flow's application (Flow.app, the inventory's served protocols) by setting this key in its flow
# state; without it the flow is named after the dissector.
APP_STATE_KEY = "app"

# Confirmation (Zeek's AnalyzerConfirmation, which its analyzers call once they parsed a valid message):
# the engine names a flow after its dissector (Flow.app, and through it conn.log's ``service``, the
# inventory's served protocols, detect's protocol checks) only once the dissector confirmed the flow.
# Returning an Observation confirms it; a dissector whose valid messages can describe nothing (a
# keep-alive, a message already described) confirms with :func:`confirm` when it parsed one. Bytes that
# a dissector only buffers, or skips without parsing, confirm nothing: a 1-byte keep-alive on a port
# names no application. A memoised datagram dissector (see ``memo_key``) confirms by its Observations.
CONFIRMED_STATE_KEY = "confirmed"


def confirm(state: dict[str, Any]) -> None:
    """Confirm the flow whose dissector ``state`` this is: it carried a valid message of the protocol."""
    state[CONFIRMED_STATE_KEY] = True


# Roles proved by the protocol (Zeek's Connection::FlipRoles, which its analyzers may call): engine/orient.py
# names a flow's initiator from its first packets and ports, but a server may answer from a port nobody
# declares (a HART-IP server continues a UDP session from a new port, its first datagram the answer). A
# dissector that parsed a message only the responder sends travelling towards the responder (``to_server``)
# sets this key with :func:`flip_roles`; the flow is then reported with its roles swapped (Flow.extra
# ``flipped`` "answer"). Read once the dissector confirmed the flow, and only its first such proof counts.
FLIP_STATE_KEY = "flip"


def flip_roles(state: dict[str, Any]) -> None:
    """The flow whose dissector ``state`` this is has its initiator and responder the wrong way round."""
    state[FLIP_STATE_KEY] = True


# Passing over bytes (issues #3/#4): a stream dissector that will not read the next bytes of a direction (an SMB
# WRITE's file data, a message's body it does not parse) keeps their count in its state under PASS_KEYS[to_server]
# (:func:`pass_key`), counted from the end of the bytes it was fed, when nothing of that direction is left in its
# buffer, and passes over them itself when it is fed them (the dissector fed directly, in tests). The engine takes
# the count over when a feed returns (engine/streamfeed.py ``StreamDelivery._pass``): it sets it to 0 and moves the
# direction's reassembly past those bytes (engine/reassembly.py ``StreamDirection.pass_over``), so a segment wholly
# inside them is neither copied nor handed (a hole among them is no gap: nothing was to be read there), and the first
# bytes after them, a straddling segment's tail, are the next fed. A dissector must therefore count nothing on being
# fed them; what it measures of them (SMB's ``read``) it counts when it sets the count.
PASS_KEYS = ("pass_s2c", "pass_c2s")  # indexed by to_server


def pass_key(to_server: bool) -> str:
    """The state key of the count of ``to_server``'s next bytes the dissector passes over (:data:`PASS_KEYS`)."""
    return PASS_KEYS[to_server]


class StreamDissector(Dissector):
    """Base of TCP dissectors that need the byte stream, not single segments.

    The engine reassembles each direction in sequence order (dropping retransmissions, buffering a
    bounded number of out-of-order segments) and calls :meth:`feed` with the newly contiguous bytes.
    The dissector keeps its buffers in ``state``; it sets ``state["done"] = True`` when it has seen
    all it needs, and the engine stops feeding that flow.
    """

    # unconsumed bytes (an incomplete message) a direction may hold between feeds before giving up;
    # never a bound on one delivery, which may be a 64 KiB GRO/TSO super-packet (dissect/streambuf.py)
    max_buffer: ClassVar[int] = 64 * 1024
    # The per-flow budget of a TCP flow: bytes of its reassembled stream handed to :meth:`feed` at most, both
    # directions together, in the order they became contiguous (None: no budget; ``max_packets_per_flow`` then
    # bounds its TCP flows too). The engine cuts the delivery that reaches it, so exactly the flow's first
    # ``max_stream_bytes`` are read however the sender cut the stream into segments (issues #3/#4: a ClientHello
    # in 1-byte segments used to exhaust a 40-packet cap before it was whole). Per flow, not per direction: the
    # dissectors pair the directions (a request with its response, a prompt with what is typed), so one
    # direction read on after the other stopped would be paired wrong; and a spent flow drops its buffers and
    # state at once, as the packet caps did. ``max_stream_packets`` is its packet safety net (:func:`safety_net`).
    max_stream_bytes: ClassVar[int | None] = None
    max_stream_packets: ClassVar[int | None] = None
    # set by a dissector whose own :meth:`gap` still ends the flow (it only says what the hole cost it): as for the
    # default's, its holes are told once the buffer overflows or the flow ends, not as soon as the peer acknowledges
    # past them (engine/dispatch.py ``ack_gaps``), which would stop it before the other direction's later messages
    gap_ends_flow: ClassVar[bool] = False

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        """Observations made possible by ``data``, the next in-order bytes of ``pkt``'s direction."""
        raise NotImplementedError

    def gap(self, state: dict[str, Any], to_server: bool) -> list[Observation] | None:
        """Bytes of ``to_server``'s direction were lost (the capture never had them, or its snap length cut
        them); the next :meth:`feed` of that direction starts after the hole. The default ends dissection of
        the flow; a dissector that can find its next message boundary drops its partial buffer instead. It
        may return Observations of what the hole cost it (an answer it will never read: dissect/ldap.py's
        ``bind_response_cut``); the engine adds them to the flow's output."""
        state["done"] = True
        return None

    def closing(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        """A segment of ``pkt``'s side without payload that closes or resets the connection (FIN or RST, RFC 9293
        §3.6, §3.10.7): its ``tcp_seq`` is where that side's bytes end (a FIN's own number after them), its
        ``tcp_ack`` what it had of the other side's, bytes the capture may never have held. Handed after the
        batch's payload (engine/streamfeed.py), only to a dissector that overrides this, while it reads the flow;
        the default reads nothing."""
        return []

    def ending(self, state: dict[str, Any]) -> list[Observation]:
        """The flow ends while this dissector still reads it (neither its messages nor its :meth:`gap` or
        :meth:`closing` finished it): idle past its timeout, evicted for room in the flow table, at the end of input,
        or closed after its FIN/RST (engine/dispatch.py ``close``, after what waited behind holes was fed), or, sooner,
        its byte budget (:attr:`max_stream_bytes`) spent or its packet safety net (:attr:`max_stream_packets`) reached
        (engine/streamfeed.py ``_spent``). Called once per such flow, only for a dissector that overrides this: what it
        still held awaiting more (a login's verdict) is said now; the engine hands its Observations on after the
        batch's. The default says nothing."""
        return []

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        return self.feed(pkt, pkt.payload, state)
