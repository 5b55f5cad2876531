"""Link-Local Multicast Name Resolution (RFC 4795) on 5355/udp: names Windows hosts ask and claim.

kind ``query`` or ``response``; subject ``src``. The message format is DNS's (RFC 4795 §2.1), so
the fields are the dns fields (see dissect/dns.py) with the LLMNR header bits in their place:
``aa`` holds the C (conflict) bit and ``rd`` the T (tentative) bit (RFC 4795 §2.1.1), plus
``conflict`` and ``tentative`` under their own names. A response's answers carry the responder's
own name and address, a fact about the sender.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import dnswire
from iotwarden.dissect.base import Dissector, Packet
from iotwarden.dissect.dnswire import message_fields, parse_message
from iotwarden.model import Observation


class LlmnrDissector(Dissector):
    name: ClassVar[str] = "llmnr"
    udp_ports: ClassVar[tuple[int, ...]] = (5355,)
    max_packets_per_flow: ClassVar[int | None] = None  # each query names a different host

    def memo_key(self, payload: bytes) -> bytes | None:
        return dnswire.memo_key(payload)  # the fields depend on the datagram alone, ID apart

    def memo_restamp(self, payload: bytes, fields: dict[str, Any]) -> None:
        dnswire.restamp_id(payload, fields)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        msg = parse_message(pkt.payload)
        fields = message_fields(msg)
        fields["conflict"] = bool(msg.flags & 0x0400)  # C bit, RFC 4795 §2.1.1
        fields["tentative"] = bool(msg.flags & 0x0100)  # T bit, RFC 4795 §2.1.1
        return [pkt.observation(self.name, "response" if msg.qr else "query", fields)]
