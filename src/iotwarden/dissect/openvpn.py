"""OpenVPN over TCP: the hard-reset exchange that opens every OpenVPN session.

Wire format (OpenVPN ``src/openvpn/ssl_pkt.h`` and the protocol notes of ``ssl.h``; Wireshark's
``packet-openvpn.c``): over TCP each packet is preceded by its length (16 bits, big-endian); its
first byte holds the opcode (high 5 bits) and the key id (low 3 bits); a control packet then carries
the sender's 64-bit session id. A session opens with the client's P_CONTROL_HARD_RESET_CLIENT_V2 (7)
or _V3 (10, tls-crypt-v2), key id 0, answered by the server's P_CONTROL_HARD_RESET_SERVER_V2 (8).

Kind ``hard_reset`` (subject ``src``: the endpoint that sent it): ``role`` ("client"/"server"),
``opcode`` (ssl_pkt.h's name), ``key_id``, ``session_id`` (hex), ``packet_length``. Both are made
once the server's answer is seen (one packet alone is not a session: Zeek's OpenVPN package enables
its analyzer only on the server's signature after the client's); dissection then ends, as what
follows is the TLS control channel and encrypted data. The probe recognises the client's packet.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect.opening import OpeningExchange
from iotwarden.errors import ParseError

# opcodes (ssl_pkt.h)
P_CONTROL_HARD_RESET_CLIENT_V2 = 7
P_CONTROL_HARD_RESET_SERVER_V2 = 8
P_CONTROL_HARD_RESET_CLIENT_V3 = 10
OPCODE_NAMES = {
    P_CONTROL_HARD_RESET_CLIENT_V2: "P_CONTROL_HARD_RESET_CLIENT_V2",
    P_CONTROL_HARD_RESET_SERVER_V2: "P_CONTROL_HARD_RESET_SERVER_V2",
    P_CONTROL_HARD_RESET_CLIENT_V3: "P_CONTROL_HARD_RESET_CLIENT_V3",
}
CLIENT_RESETS = (P_CONTROL_HARD_RESET_CLIENT_V2, P_CONTROL_HARD_RESET_CLIENT_V3)
P_OPCODE_SHIFT = 3  # ssl_pkt.h
P_KEY_ID_MASK = 0x07
# the smallest hard reset: opcode/key id, session id (8), ack array length (1), message packet id (4);
# tls-auth and tls-crypt only add to it
MIN_HARD_RESET = 14
# the largest hard reset accepted: control packets fit OpenVPN's TLS MTU (1250 bytes by default), a
# V3 reset adds the tls-crypt-v2 wrapped client key (at most 1024 bytes); well above both
MAX_HARD_RESET = 4096


def parse_hard_reset(data: bytes | bytearray, to_server: bool) -> dict[str, Any] | None:
    """Fields of the hard reset at the start of ``data`` (length prefix included); None while it is
    incomplete; ParseError when it is not the hard reset that direction opens with."""
    if len(data) < 2:
        return None
    length = int.from_bytes(data[:2], "big")
    if not MIN_HARD_RESET <= length <= MAX_HARD_RESET:
        raise ParseError(f"OpenVPN packet length {length} out of a hard reset's range")
    if len(data) < 2 + length:
        return None
    opcode, key_id = data[2] >> P_OPCODE_SHIFT, data[2] & P_KEY_ID_MASK
    wanted = CLIENT_RESETS if to_server else (P_CONTROL_HARD_RESET_SERVER_V2,)
    if opcode not in wanted or key_id != 0:
        raise ParseError(f"not an OpenVPN {'client' if to_server else 'server'} hard reset: opcode {opcode}, "
                         f"key id {key_id}")
    return {"role": "client" if to_server else "server", "opcode": OPCODE_NAMES[opcode], "key_id": key_id,
            "session_id": bytes(data[3:11]).hex(), "packet_length": length}


class OpenvpnDissector(OpeningExchange):
    name: ClassVar[str] = "openvpn"
    kind: ClassVar[str] = "hard_reset"
    tcp_ports: ClassVar[tuple[int, ...]] = (1194,)  # IANA "openvpn" 1194/tcp
    max_buffer: ClassVar[int] = 2 + MAX_HARD_RESET

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """The flow's first payload is exactly one client hard reset (a client sends it alone and waits
        for the answer): its length prefix names the rest of the payload, so random bytes, or a
        datagram on an unlisted UDP port, hardly ever pass."""
        if not to_server or len(payload) < 2 or int.from_bytes(payload[:2], "big") != len(payload) - 2:
            return False
        try:
            return parse_hard_reset(payload, True) is not None
        except ParseError:
            return False

    def opening(self, buf: bytearray, to_server: bool) -> dict[str, Any] | None:
        return parse_hard_reset(buf, to_server)
