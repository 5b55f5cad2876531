"""HTTP CONNECT tunnels (RFC 9110 §9.3.6): after a 2xx answer to CONNECT the connection carries the client's bytes to
the target the request named and the target's back. What the client sends first tells what the tunnel carries: a TLS
handshake record (RFC 8446 §5.1) is handed to the TLS dissector, an HTTP request (a CONNECT to port 80, any cleartext
HTTP; dissect/httpstart.py) to an HTTP reader of its own. What a proxied client sends (its ``client_hello``: SNI,
JA3, JA4; its ``request``: Host, User-Agent, Basic credentials; an ``ipp_request``) is reported as from the client,
with ``tunnel``, the CONNECT's target (host:port; an inner tunnel's own, the innermost, where a CONNECT in the tunnel
opens another). The server's side (TLS hello and certificate, HTTP responses) describes the tunnel's far end, not the
proxy the connection reaches, so it is read (the TLS handshake's end ends the flow; HTTP answers frame the requests)
but not reported, not even to the target where it is an IP literal, which names the origin exactly: a TLS-intercepting
proxy (Squid's ssl_bump, a cloud web gateway) answers the CONNECT itself and ends the client's TLS with its own
hello (its TLS stack's JA4S) and a certificate it mints (the origin's names, its own CA and key), and nothing in the
tunnel tells a spliced session from a bumped one, so every origin reached through such a proxy would take the proxy's
JA4S and CA (a false identity is worse than none: the origin's own connections, seen elsewhere, say who it is).
Tunnels nest at most MAX_TUNNEL_DEPTH deep (a CONNECT through a chain of proxies); any other tunnel
(a server speaking first: SSH, SMTP; plain bytes) is not read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iotwarden.dissect import httpstart, streambuf
from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.dissect.tls import CT_HANDSHAKE, TlsDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

TUNNEL = "tunnel"  # state key: the open tunnel, {"target": the CONNECT's request-target, "tls" or "http": its state}
TARGET = "connect_target"  # state key: the request-target of the last CONNECT read, which its 2xx answer opens
DEPTH = "tunnel_depth"  # state key: how many tunnels the connection's HTTP is inside (0: none, absent)
# tunnels read inside one another: an HTTP tunnel's CONNECT opens another (a client chaining proxies); one deeper is
# not read. Each level keeps one HTTP reader's state, bounded as any connection's
MAX_TUNNEL_DEPTH = 3
# what an HTTP reader reports of the client (dissect/http.py kinds): a tunnel's answers are its far end's
CLIENT_KINDS = frozenset({"request", "ipp_request", "rdp_gateway_channel"})


class Tunnel:
    """The TLS dissector or HTTP reader a connection's CONNECT tunnel is handed to, and the rule for what of it is
    reported. ``reader`` makes the HTTP reader (dissect/http.py's dissector, which holds this), once one is needed."""

    def __init__(self, reader: Callable[[], StreamDissector]) -> None:
        self.tls = TlsDissector()
        self._reader = reader
        self._http: StreamDissector | None = None

    @property
    def http(self) -> StreamDissector:
        """The HTTP reader of tunnels that carry HTTP, made on first use (each holds a Tunnel: made eagerly, they
        would never end)."""
        if self._http is None:
            self._http = self._reader()
        return self._http

    @staticmethod
    def opening(state: dict[str, Any]) -> None:
        """A 2xx answer to CONNECT was read: the tunnel is open from its empty line on (RFC 9110 §9.3.6). What each
        direction holds past the HTTP read (a client that did not wait for the answer; the server's first bytes in
        the answer's segment) is kept for :meth:`start`."""
        held = {to_server: bytes(state.get(streambuf.direction_key(to_server)) or b"") for to_server in (True, False)}
        state[TUNNEL] = {"target": state.pop(TARGET, None), "tls": None, "http": None, "held": held}

    def start(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        """Read the bytes :meth:`opening` kept, as sent by their own side (``pkt`` is the answer's): the client's
        first, as neither a TLS server nor an HTTP one speaks first."""
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
        handshake record), the HTTP reader's while it is HTTP (its first bytes, the client's, may begin a request,
        and the tunnel is within MAX_TUNNEL_DEPTH), else nothing more of the flow is read (``done``)."""
        tunnel: dict[str, Any] = state[TUNNEL]
        out = self.start(pkt, state) if "held" in tunnel else []  # the answer's head was read past a gap
        if state.get("done"):
            return out
        kind = "tls" if tunnel["tls"] is not None else "http" if tunnel["http"] is not None else None
        if kind is None:
            if not data:
                return out
            if pkt.to_server and data[0] == CT_HANDSHAKE:
                kind, tunnel["tls"] = "tls", {}
            elif pkt.to_server and state.get(DEPTH, 0) < MAX_TUNNEL_DEPTH and httpstart.may_start(data):
                kind, tunnel["http"] = "http", {DEPTH: state.get(DEPTH, 0) + 1}
            else:
                state["done"] = True
                return out
        sub: dict[str, Any] = tunnel[kind]
        reader: StreamDissector = self.tls if kind == "tls" else self.http
        try:
            return out + self._reported(pkt, reader.feed(pkt, data, sub), tunnel["target"], kind)
        except PartialParse as exc:
            made = out + self._reported(pkt, exc.made, tunnel["target"], kind)
            raise streambuf.failed(ParseError(str(exc)), made) from None
        except ParseError as exc:
            raise streambuf.failed(exc, out) from None
        finally:
            if sub.get("done"):
                state["done"] = True

    def gap(self, state: dict[str, Any], to_server: bool) -> list[Observation]:
        """Bytes of a tunnel's direction were lost: a TLS tunnel's are the TLS dissector's, an HTTP tunnel's the
        HTTP reader's (its gap: what it reports of the client); before what the tunnel carries is known, it cannot
        be told: nothing more is read."""
        tunnel: dict[str, Any] = state[TUNNEL]
        if tunnel["tls"] is not None:
            self.tls.gap(tunnel["tls"], to_server)
            return []
        if tunnel["http"] is not None:
            made = self.http.gap(tunnel["http"], to_server) or []
            if tunnel["http"].get("done"):
                state["done"] = True
            return self._reported(None, made, tunnel["target"], "http")
        state["done"] = True
        return []

    @staticmethod
    def _reported(pkt: Packet | None, made: list[Observation], target: str | None,
                  kind: str) -> list[Observation]:
        """What of the tunnel reader's Observations is reported: the client's (TLS: those its packets made; HTTP:
        CLIENT_KINDS, and what an inner tunnel reported), with the tunnel's target, or an inner tunnel's (the
        innermost: where the bytes go)."""
        if kind == "tls" and pkt is not None and not pkt.to_server:
            return []
        kept = [obs for obs in made if kind == "tls" or obs.kind in CLIENT_KINDS or TUNNEL in obs.fields]
        for obs in kept:
            obs.fields = {TUNNEL: target, **obs.fields}  # a copy: the TLS dissector memoises its fields
        return kept
