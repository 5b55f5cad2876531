"""SIP attacks the lab can switch on, drawn as SIPVicious OSS sends them (sipvicious/libs/svhelper.py
``makeRequest``: ``User-Agent: friendly-scanner`` unless told otherwise, source port 5060).

* ``sip_scan``: svmap's sweep (an OPTIONS to every address of the attacker's subnet; SIP devices answer 200
  with their own User-Agent or Server, others are silent), then svwar's extension walk against a registrar
  (a REGISTER per extension of a range, no credentials: the PBX challenges the extensions that exist, 401,
  RFC 3261 §22.2, and answers 404 Not Found for the others, §21.4.5). ATT&CK T1046, T1087.
* ``sip_bruteforce``: svcrack against one extension: a REGISTER to get a challenge, then one REGISTER per
  guessed password with its Digest answer (RFC 2617 §3.2.2), each refused with a fresh challenge (401)
  or 403 Forbidden. The phone's real password is never among the guesses. ATT&CK T1110.001.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.errors import ConfigError
from iotwarden.lab import proto_net
from iotwarden.lab.behave_net import arp_frame
from iotwarden.lab.params import Param
from iotwarden.lab.sip_app import HOP, SIP_PORT, _challenge, _Dialog, digest_response
from iotwarden.lab.wire import BROADCAST_MAC, Frame, Host, udp_frame
from iotwarden.lab.world import World

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity

MAX_PROBES = 10_000  # OPTIONS or REGISTERs one attack may send, whatever its range


def _sip_role(world: World, device_id: str) -> tuple[str, dict[str, Any]] | None:
    for beh in world.devices[device_id].behaviours:
        if beh.kind in ("sip_pbx", "sip_phone"):
            return beh.kind, beh.params
    return None


def _registrar(world: World, act: Activity) -> str:
    named = act.params["registrar"]
    if named:
        if (_sip_role(world, named) or ("", {}))[0] != "sip_pbx":
            raise ConfigError(f"{act.path}: registrar {named!r} has no sip_pbx behaviour")
        return str(named)
    for device_id in world.devices:
        role = _sip_role(world, device_id)
        if role and role[0] == "sip_pbx":
            return device_id
    raise ConfigError(f"{act.path}: the scenario has no device with a sip_pbx behaviour to attack")


def _extensions(world: World, registrar: str) -> dict[str, str]:
    """extension -> device id of every phone registered with ``registrar``."""
    out = {}
    for device_id in world.devices:
        role = _sip_role(world, device_id)
        if role and role[0] == "sip_phone" and role[1]["registrar"] == registrar:
            out[str(role[1]["extension"])] = device_id
    return out


def _send(t: float, src: Host, dst: Host, data: bytes) -> Frame:
    return t, udp_frame(src, dst.mac, dst.ip, data, sport=SIP_PORT, dport=SIP_PORT)


def sip_scan(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    p = act.params
    rng = world.rng("attack", act.key)
    me, agent = world.host(p["attacker"]), p["user_agent"]
    registrar = _registrar(world, act)
    server = _sip_role(world, registrar)[1]  # type: ignore[index]  # _registrar checked it
    step = 1.0 / p["rate"]
    t = start = world.start + p["start"]
    out: list[Frame] = []
    subnet = world.scenario.network.subnets[world.devices[p["attacker"]].subnet].network
    found = []
    for address in list(subnet.hosts())[:MAX_PROBES]:
        ip = str(address)
        if ip == me.ip:
            continue
        # the kernel resolves each local address first (RFC 826): a silent one is only asked for
        out.append((t, arp_frame(me.mac, BROADCAST_MAC, proto_net.arp(1, me.mac, me.ip, "00:00:00:00:00:00", ip))))
        device_id = world.by_ip.get(ip)
        if device_id is not None:
            peer = world.host(device_id)
            out.append((t + 0.0003, arp_frame(peer.mac, me.mac, proto_net.arp(2, peer.mac, ip, me.mac, me.ip))))
            dialog = _Dialog(rng, me, peer, user="100", target="100", agent=agent)
            ask = dialog.request("OPTIONS", f"sip:100@{ip}")
            out.append(_send(t + 0.0005, me, peer, ask))
            role = _sip_role(world, device_id)
            if role is not None:
                found.append(ip)
                own = (f"Server: {role[1]['server_header']}" if role[0] == "sip_pbx"
                       else f"User-Agent: {role[1]['user_agent']}")
                out.append(_send(t + 0.0005 + HOP, peer, me, dialog.answer(ask, "200 OK", own,
                                                                            to_tag=f"{rng.getrandbits(32):08x}")))
        t += step
    pbx, pbx_me = world.peer_device(p["attacker"], registrar), world.host(registrar)
    known = _extensions(world, registrar)
    first = p["first_extension"]
    for number in range(first, first + min(p["extensions"], MAX_PROBES)):
        extension = str(number)
        dialog = _Dialog(rng, me, pbx, user=extension, target=extension, agent=agent)
        ask = dialog.request("REGISTER", f"sip:{world.ips[registrar]}")
        back = world.peer(registrar, me.ip)
        if extension in known:
            answer = dialog.answer(ask, "401 Unauthorized", f"Server: {server['server_header']}",
                                   _challenge(server["realm"], f"{int(t)}/{rng.getrandbits(128):032x}") + "\r\n",
                                   to_tag=f"{rng.getrandbits(32):08x}")
        else:
            answer = dialog.answer(ask, "404 Not Found", f"Server: {server['server_header']}",
                                   to_tag=f"{rng.getrandbits(32):08x}")
        out += [_send(t, me, pbx, ask), _send(t + HOP, pbx_me, back, answer)]
        t += step
    out.sort(key=lambda f: f[0])
    return iter(out), world.attack_truth(act, "T1046 Network Service Discovery; T1087 Account Discovery", start=start,
                             end=t, targets=[*found, world.ips[registrar]])


def sip_bruteforce(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    p = act.params
    rng = world.rng("attack", act.key)
    registrar = _registrar(world, act)
    server = _sip_role(world, registrar)[1]  # type: ignore[index]  # _registrar checked it
    role = _sip_role(world, p["target"])
    if role is None or role[0] != "sip_phone" or role[1]["registrar"] != registrar:
        raise ConfigError(f"{act.path}: target {p['target']!r} is no sip_phone of registrar {registrar!r}")
    extension, real = str(role[1]["extension"]), str(role[1]["password"])
    me, pbx = world.host(p["attacker"]), world.peer_device(p["attacker"], registrar)
    pbx_me, back = world.host(registrar), world.peer(registrar, me.ip)
    uri, realm, header = f"sip:{world.ips[registrar]}", server["realm"], f"Server: {server['server_header']}"
    dialog = _Dialog(rng, me, pbx, user=extension, target=extension, agent=p["user_agent"])
    t = start = world.start + p["start"]
    nonce = f"{int(t)}/{rng.getrandbits(128):032x}"
    first = dialog.request("REGISTER", uri)
    out = [_send(t, me, pbx, first),
           _send(t + HOP, pbx_me, back, dialog.answer(first, "401 Unauthorized", header,
                                                      _challenge(realm, nonce) + "\r\n", to_tag="a1"))]
    guesses = [g for g in (f"{n}" for n in range(100, 100 + 2 * p["attempts"])) if g != real][: p["attempts"]]
    for i, guess in enumerate(guesses):
        t += 1.0 / p["rate"]
        dialog.cseq += 1
        cnonce = f"{rng.getrandbits(32):08x}"
        response = digest_response(extension, realm, guess, "REGISTER", uri, nonce=nonce, cnonce=cnonce)
        credentials = (f'Authorization: Digest username="{extension}",realm="{realm}",nonce="{nonce}",uri="{uri}",'
                       f'response="{response}",algorithm=MD5,cnonce="{cnonce}",qop=auth,nc=00000001\r\n')
        ask = dialog.request("REGISTER", uri, credentials)
        if i % 5 == 4:
            answer = dialog.answer(ask, "403 Forbidden", header, to_tag="a1")
        else:
            nonce = f"{int(t)}/{rng.getrandbits(128):032x}"
            answer = dialog.answer(ask, "401 Unauthorized", header, _challenge(realm, nonce) + "\r\n", to_tag="a1")
        out += [_send(t, me, pbx, ask), _send(t + HOP, pbx_me, back, answer)]
    return iter(out), world.attack_truth(act, "T1110.001 Brute Force: Password Guessing", start=start, end=t,
                               targets=[world.ips[registrar]])


def _rate(default: float) -> Param:
    return Param("float", default, "requests per second", minimum=0.1)


SIP_ATTACKS: dict[str, tuple[Any, dict[str, Param]]] = {
    "sip_scan": (sip_scan, {
        "attacker": Param("device"), "start": Param("float", 60.0), "rate": _rate(50.0),
        "registrar": Param("device", "", "the PBX whose extensions are walked (none: the scenario's first)"),
        "first_extension": Param("int", 2000, "the walk's first extension", minimum=0),
        "extensions": Param("int", 60, "extensions walked", minimum=1),
        "user_agent": Param("str", "friendly-scanner", "svmap/svwar's default User-Agent")}),
    "sip_bruteforce": (sip_bruteforce, {
        "attacker": Param("device"), "target": Param("device", help="the phone whose extension is guessed"),
        "registrar": Param("device", "", "its PBX (none: the scenario's first)"), "start": Param("float", 120.0),
        "attempts": Param("int", 40, "passwords guessed", minimum=1), "rate": _rate(20.0),
        "user_agent": Param("str", "friendly-scanner", "svcrack's default User-Agent")}),
}
