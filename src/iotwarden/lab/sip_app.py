"""SIP in the lab: desk phones register with their PBX and call each other through it (RFC 3261, over UDP 5060).

A phone (``sip_phone``) REGISTERs, is challenged with a Digest 401 (RFC 3261 §22.2; the realm and
``algorithm=md5, qop="auth"`` as Asterisk's res_pjsip sends them) and registers again with its credentials
(RFC 2617 §3.2.2: qop auth, nc, cnonce), answered 200 with the binding's expiry (RFC 3665 §2.1). The PBX
(``sip_pbx``, a B2BUA) then asks each registered phone OPTIONS every ``qualify`` seconds (res_pjsip
qualify_frequency) and each phone answers 200 with its own User-Agent. With ``call``, a phone INVITEs
another extension with an SDP offer (RFC 3264), is challenged again, and the PBX bridges it to the callee's
phone (RFC 3665 §3.2 style: 100, 180, 200 with the answer, ACK, later BYE on both legs). No RTP is drawn.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.errors import ConfigError
from iotwarden.lab.behave_net import Behaviour
from iotwarden.lab.params import Param
from iotwarden.lab.wire import Frame, Host, udp_frame
from iotwarden.lab.world import World, periodic

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

SIP_PORT = 5060
HOP = 0.004  # seconds between a message and its answer on the LAN


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digest_response(user: str, realm: str, password: str, method: str, uri: str, *, nonce: str, cnonce: str,
                    nc: str = "00000001") -> str:
    """RFC 2617 §3.2.2.1 request-digest with qop=auth: MD5(HA1:nonce:nc:cnonce:auth:HA2) (RFC 3261 §22.4)."""
    ha1, ha2 = _md5(f"{user}:{realm}:{password}"), _md5(f"{method}:{uri}")
    return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")


class _Dialog:
    """The headers one side keeps for one Call-ID: addresses, tags, its Via branch and CSeq (RFC 3261 §8.1.1)."""

    def __init__(self, rng: random.Random, me: Host, peer: Host, *, user: str, target: str, agent: str) -> None:
        self.rng, self.me, self.peer, self.user, self.target, self.agent = rng, me, peer, user, target, agent
        self.call_id = f"{rng.getrandbits(64):016x}@{me.ip}"
        self.tag = f"{rng.getrandbits(32):08x}"
        self.cseq = rng.randint(1, 9000)

    def request(self, method: str, uri: str, extra: str = "", body: bytes = b"", *, to_tag: str = "") -> bytes:
        branch = f"z9hG4bK{self.rng.getrandbits(40):010x}"  # RFC 3261 §8.1.1.7 magic cookie
        self.via = f"SIP/2.0/UDP {self.me.ip}:{SIP_PORT};rport;branch={branch}"
        to = f"<sip:{self.target}@{self.peer.ip}>" + (f";tag={to_tag}" if to_tag else "")
        head = (f"{method} {uri} SIP/2.0\r\nVia: {self.via}\r\nMax-Forwards: 70\r\n"
                f"From: <sip:{self.user}@{self.peer.ip}>;tag={self.tag}\r\nTo: {to}\r\nCall-ID: {self.call_id}\r\n"
                f"CSeq: {self.cseq} {method}\r\nContact: <sip:{self.user}@{self.me.ip}:{SIP_PORT}>\r\n"
                f"User-Agent: {self.agent}\r\n{extra}")
        return _finish(head, body)

    def answer(self, raw: bytes, status: str, agent_header: str, extra: str = "", *, body: bytes = b"",
               to_tag: str = "") -> bytes:
        """The response to ``raw`` (a request the peer sent): its Via, From, To, Call-ID and CSeq copied (§8.2.6.2)."""
        lines = raw.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
        kept = [ln for ln in lines[1:] if ln.split(":", 1)[0] in ("Via", "From", "Call-ID", "CSeq")]
        to = next(ln for ln in lines if ln.startswith("To:"))
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        head = f"SIP/2.0 {status}\r\n" + "\r\n".join([*kept, to]) + f"\r\n{agent_header}\r\n{extra}"
        return _finish(head, body)


def _finish(head: str, body: bytes) -> bytes:
    if body:
        head += "Content-Type: application/sdp\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def offer(ip: str, session: int, port: int) -> bytes:
    """An audio offer or answer (RFC 3264 §5; RFC 8866): PCMU, PCMA, G722 and RFC 4733 telephone-event."""
    return (f"v=0\r\no=- {session} {session} IN IP4 {ip}\r\ns=SIP Call\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 8 9 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
            "a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n").encode()


def _pbx_params(world: World, pbx_id: str) -> dict[str, Any]:
    for act in world.devices[pbx_id].behaviours:
        if act.kind == "sip_pbx":
            return act.params
    raise ConfigError(f"device {pbx_id!r} is named a registrar but has no sip_pbx behaviour")


def _phone_params(world: World, phone_id: str) -> dict[str, Any]:
    for act in world.devices[phone_id].behaviours:
        if act.kind == "sip_phone":
            return act.params
    raise ConfigError(f"device {phone_id!r} is called but has no sip_phone behaviour")


def _challenge(realm: str, nonce: str) -> str:
    return f'WWW-Authenticate: Digest realm="{realm}",nonce="{nonce}",algorithm=md5,qop="auth"'


def _authorization(p: dict[str, Any], realm: str, method: str, uri: str, *, nonce: str, rng: random.Random) -> str:
    cnonce = f"{rng.getrandbits(32):08x}"
    response = digest_response(p["extension"], realm, p["password"], method, uri, nonce=nonce, cnonce=cnonce)
    return (f'Authorization: Digest username="{p["extension"]}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", algorithm=MD5, cnonce="{cnonce}", qop=auth, nc=00000001\r\n')


def _phone(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """The phone's registration, the PBX's qualify OPTIONS to it, and its call when it places one."""
    p = act.params
    pbx_p = _pbx_params(world, p["registrar"])
    rng = world.rng(dev.id, "sip")
    phone, pbx = world.host(dev.id), world.peer_device(dev.id, p["registrar"])
    server = f"Server: {pbx_p['server_header']}"
    realm, uri = pbx_p["realm"], f"sip:{world.ips[p['registrar']]}"

    def send(t: float, src: Host, dst: Host, data: bytes) -> Frame:
        return t, udp_frame(src, dst.mac, dst.ip, data, sport=SIP_PORT, dport=SIP_PORT)

    def register(t: float) -> list[Frame]:
        dialog = _Dialog(rng, phone, pbx, user=p["extension"], target=p["extension"], agent=p["user_agent"])
        nonce = f"{int(t)}/{rng.getrandbits(128):032x}"
        expires = f"Expires: {p['expires']}\r\n"
        first = dialog.request("REGISTER", uri, expires)
        out = [send(t, phone, pbx, first),
               send(t + HOP, pbx, phone, dialog.answer(first, "401 Unauthorized", server, _challenge(realm, nonce) +
                                                        "\r\n", to_tag=f"{rng.getrandbits(32):08x}"))]
        dialog.cseq += 1
        credentials = _authorization(p, realm, "REGISTER", uri, nonce=nonce, rng=rng)
        retry = dialog.request("REGISTER", uri, expires + credentials)
        contact = f"Contact: <sip:{p['extension']}@{phone.ip}:{SIP_PORT}>;expires={p['expires']}\r\n"
        out += [send(t + 2 * HOP, phone, pbx, retry),
                send(t + 3 * HOP, pbx, phone, dialog.answer(retry, "200 OK", server, contact,
                                                            to_tag=f"{rng.getrandbits(32):08x}"))]
        return out

    def qualify(t: float) -> list[Frame]:
        dialog = _Dialog(rng, pbx, phone, user="asterisk", target=p["extension"], agent=pbx_p["server_header"])
        ask = dialog.request("OPTIONS", f"sip:{p['extension']}@{phone.ip}:{SIP_PORT}")
        return [send(t, pbx, phone, ask), send(t + HOP, phone, pbx, dialog.answer(
            ask, "200 OK", f"User-Agent: {p['user_agent']}", "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY\r\n",
            to_tag=f"{rng.getrandbits(32):08x}"))]

    t0 = world.start + p["at"]
    frames = register(t0)
    if p["call"]:
        frames += _call(world, dev, p, rng=rng, t=t0 + p["call_at"], send=send)
    frames.sort(key=lambda f: f[0])
    qualifies = periodic(world, rng, pbx_p["qualify"], qualify, first=t0 + 1.0) if pbx_p["qualify"] else iter(())
    return _merge(iter(frames), qualifies)


def _call(world: World, dev: DeviceSpec, p: dict[str, Any], *, rng: random.Random, t: float,
          send: Any) -> list[Frame]:
    """Caller -> PBX (challenged, then authorised) and PBX -> callee, answered; both legs hung up after the call."""
    callee_p = _phone_params(world, p["call"])
    pbx_p = _pbx_params(world, p["registrar"])
    caller, pbx_c = world.host(dev.id), world.peer_device(dev.id, p["registrar"])
    callee, pbx_e = world.host(p["call"]), world.peer_device(p["call"], p["registrar"])
    server = f"Server: {pbx_p['server_header']}"
    realm, target = pbx_p["realm"], callee_p["extension"]
    uri = f"sip:{target}@{world.ips[p['registrar']]}"
    leg_a = _Dialog(rng, caller, pbx_c, user=p["extension"], target=target, agent=p["user_agent"])
    leg_b = _Dialog(rng, pbx_e, callee, user=p["extension"], target=target, agent=pbx_p["server_header"])
    nonce = f"{int(t)}/{rng.getrandbits(128):032x}"
    sdp_a, sdp_b = offer(caller.ip, rng.randint(1, 99999), 10000 + 2 * rng.randint(0, 4999)), None
    first = leg_a.request("INVITE", uri, body=sdp_a)
    a_tag, b_tag = f"{rng.getrandbits(32):08x}", f"{rng.getrandbits(32):08x}"
    out = [send(t, caller, pbx_c, first),
           send(t + HOP, pbx_c, caller, leg_a.answer(first, "401 Unauthorized", server,
                                                     _challenge(realm, nonce) + "\r\n", to_tag=a_tag))]
    out.append(send(t + 2 * HOP, caller, pbx_c, leg_a.request("ACK", uri, to_tag=a_tag)))
    leg_a.cseq += 1
    invite = leg_a.request("INVITE", uri, _authorization(p, realm, "INVITE", uri, nonce=nonce, rng=rng), sdp_a)
    out += [send(t + 3 * HOP, caller, pbx_c, invite),
            send(t + 4 * HOP, pbx_c, caller, leg_a.answer(invite, "100 Trying", server))]
    sdp_pbx = offer(world.ips[p["registrar"]], rng.randint(1, 99999), 10000 + 2 * rng.randint(0, 4999))
    bridged = leg_b.request("INVITE", f"sip:{target}@{callee.ip}:{SIP_PORT}", body=sdp_pbx)
    sdp_b = offer(callee.ip, rng.randint(1, 99999), 10000 + 2 * rng.randint(0, 4999))
    ring = f"User-Agent: {callee_p['user_agent']}"
    out += [send(t + 5 * HOP, pbx_e, callee, bridged),
            send(t + 6 * HOP, callee, pbx_e, leg_b.answer(bridged, "180 Ringing", ring, to_tag=b_tag)),
            send(t + 3.0, callee, pbx_e, leg_b.answer(bridged, "200 OK", ring, body=sdp_b, to_tag=b_tag))]
    out.append(send(t + 3.0 + HOP, pbx_e, callee, leg_b.request("ACK", f"sip:{target}@{callee.ip}:{SIP_PORT}",
                                                                to_tag=b_tag)))
    out += [send(t + 3.0 + 2 * HOP, pbx_c, caller, leg_a.answer(invite, "200 OK", server, body=sdp_pbx, to_tag=a_tag)),
            send(t + 3.0 + 3 * HOP, caller, pbx_c, leg_a.request("ACK", uri, to_tag=a_tag))]
    end = t + 3.0 + p["call_length"]
    leg_a.cseq += 1
    bye_a = leg_a.request("BYE", uri, to_tag=a_tag)
    leg_b.cseq += 1
    bye_b = leg_b.request("BYE", f"sip:{target}@{callee.ip}:{SIP_PORT}", to_tag=b_tag)
    out += [send(end, caller, pbx_c, bye_a), send(end + HOP, pbx_c, caller, leg_a.answer(bye_a, "200 OK", server)),
            send(end + 2 * HOP, pbx_e, callee, bye_b), send(end + 3 * HOP, callee, pbx_e, leg_b.answer(bye_b, "200 OK",
                                                                                                      ring))]
    return out


def _merge(*streams: Iterator[Frame]) -> Iterator[Frame]:
    return heapq.merge(*streams, key=lambda f: f[0])


def _pbx(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """The PBX's traffic is drawn by its phones' behaviours (registration, qualify, calls): nothing of its own."""
    return iter(())


# a SIP message's start line and each header end with CRLF (RFC 3261 §7): a text that goes into one is one line;
# the extension, a request URI's user part (§7.1, §25.1), is one word (lab/params.py form "word")
BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "sip_pbx": (_pbx, {
        "server_header": Param("str", help="its User-Agent and Server: 'Asterisk PBX <version>' (res_pjsip)",
                               form="line"),
        "realm": Param("str", "asterisk", "the Digest realm it challenges with (res_pjsip default_realm)",
                       form="line"),
        "qualify": Param("float", 60.0, "seconds between OPTIONS to each registered phone (0: none)", minimum=0.0)}),
    "sip_phone": (_phone, {
        "registrar": Param("device", help="the PBX the phone registers with"),
        "user_agent": Param("str", help="the phone's SIP User-Agent, as its firmware writes it", form="line"),
        "extension": Param("str", form="word"), "password": Param("str"),
        "expires": Param("int", 3600, "seconds of the registration asked for", minimum=1),
        "at": Param("float", 2.0),
        "call": Param("device", "", "a phone to call through the registrar (none: no call)"),
        "call_at": Param("float", 120.0, "seconds after registering the call is placed"),
        "call_length": Param("float", 30.0, "seconds the call lasts after it is answered")}),
}
