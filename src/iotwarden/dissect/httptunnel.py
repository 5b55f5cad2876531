"""HTTP CONNECT tunnels (RFC 9110 §9.3.6): after a 2xx answer to CONNECT the connection carries the client's bytes to
the target the request named and the target's back. A TLS session in it (the client speaks first, with a handshake
record, RFC 8446 §5.1) is handed to the TLS dissector: what a proxied client sends (its ``client_hello``: SNI, JA3,
JA4) is reported as from the client, with ``tunnel``, the CONNECT's target (host:port). The server's side (hello,
certificate) describes the tunnel's far end, not the proxy the connection reaches, so it is read (the handshake's end
ends the flow) but not reported. Any other tunnel (a server speaking first: SSH, SMTP; plain bytes) is not read.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.dissect.tls import CT_HANDSHAKE, TlsDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

TUNNEL = "tunnel"  # state key: the open tunnel, {"target": the CONNECT's request-target, "tls": TLS state or None}
TARGET = "connect_target"  # state key: the request-target of the last CONNECT read, which its 2xx answer opens


class Tunnel:
    """The TLS dissector a connection's CONNECT tunnel is handed to, and the rule for what of it is reported."""

    def __init__(self) -> None:
        self.tls = TlsDissector()

    @staticmethod
    def opening(state: dict[str, Any]) -> None:
        """A 2xx answer to CONNECT was read: the tunnel is open from its empty line on (RFC 9110 §9.3.6). What each
        direction holds past the HTTP read (a client that did not wait for the answer; the server's first bytes in
        the answer's segment) is kept for :meth:`start`."""
        held = {to_server: bytes(state.get(streambuf.direction_key(to_server)) or b"") for to_server in (True, False)}
        state[TUNNEL] = {"target": state.pop(TARGET, None), "tls": None, "held": held}

    def start(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        """Read the bytes :meth:`opening` kept, as sent by their own side (``pkt`` is the answer's): the client's
        first, as a TLS server never speaks first."""
        held: dict[bool, bytes] = state[TUNNEL].pop("held", {})
        out: list[Observation] = []
        for to_server in (True, False):
            if held.get(to_server) and not state.get("done"):
                out += self.feed(streambuf.oriented(pkt, from_client=to_server), held[to_server], state)
        return out

    def started(self, pkt: Packet, state: dict[str, Any], out: list[Observation],
                error: ParseError | None) -> list[Observation]:
        """``out``, what the feed of ``pkt`` that opened the tunnel read of HTTP, then what it read of the tunnel
        (:meth:`start`); raised with ``error``, that feed's malformed message, if any."""
        try:
            out += self.start(pkt, state)
        except ParseError as exc:
            raise streambuf.failed(exc, out + getattr(exc, "made", [])) from None
        if error is not None:
            raise streambuf.failed(error, out)
        return out

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        """The tunnel's bytes: the TLS dissector's while the tunnel is TLS (its first byte, the client's, a
        handshake record), else nothing more of the flow is read (``done``)."""
        tunnel: dict[str, Any] = state[TUNNEL]
        out = self.start(pkt, state) if "held" in tunnel else []  # the answer's head was read past a gap
        if state.get("done"):
            return out
        sub: dict[str, Any] | None = tunnel["tls"]
        if sub is None:
            if not data:
                return out
            if not pkt.to_server or data[0] != CT_HANDSHAKE:
                state["done"] = True
                return out
            sub = tunnel["tls"] = {}
        try:
            return out + self._reported(pkt, self.tls.feed(pkt, data, sub), tunnel["target"])
        except PartialParse as exc:
            made = out + self._reported(pkt, exc.made, tunnel["target"])
            raise streambuf.failed(ParseError(str(exc)), made) from None
        except ParseError as exc:
            raise streambuf.failed(exc, out) from None
        finally:
            if sub.get("done"):
                state["done"] = True

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """Bytes of a tunnel's direction were lost: a TLS tunnel's are the TLS dissector's (its gap); before the
        tunnel is known to be TLS, what it carries cannot be told: nothing more is read."""
        sub = state[TUNNEL]["tls"]
        if sub is None:
            state["done"] = True
        else:
            self.tls.gap(sub, to_server)

    @staticmethod
    def _reported(pkt: Packet, made: list[Observation], target: str | None) -> list[Observation]:
        """What of the TLS dissector's Observations is reported: the client's, with the tunnel's target."""
        if not pkt.to_server:
            return []
        for obs in made:
            obs.fields = {**obs.fields, "tunnel": target}  # a copy: the TLS dissector memoises its fields
        return made
