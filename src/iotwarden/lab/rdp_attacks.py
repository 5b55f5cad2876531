"""RDP password guessing the lab can switch on, drawn as FreeRDP-based tools (Hydra's rdp module, Crowbar, ncrack)
send it: one connection per guess ([MS-RDPBCGR] §1.3.1.1) with ``Cookie: mstshash=<user>`` and an RDP_NEG_REQ
offering TLS and CredSSP, the server's confirm selecting HYBRID, the TLS handshake with the server's self-signed
certificate (its CN the target's name, as Windows makes it), then CredSSP's NTLM exchange inside TLS ([MS-CSSP]
§3.1.5: TSRequest NEGOTIATE, CHALLENGE, AUTHENTICATE), refused: the server closes. ``users`` longer than one is
spraying (the names rotate over the guesses). ATT&CK T1110.001, T1110.003.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.lab import proto_app, proto_tls
from iotwarden.lab.behave_net import RTT_LAN
from iotwarden.lab.params import Param, guessing_params, guessing_technique
from iotwarden.lab.wire import Frame, TcpStream
from iotwarden.lab.world import World

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity

RDP_PORT = 3389
# CredSSP TSRequest sizes inside TLS records: NTLM NEGOTIATE, the server's CHALLENGE, AUTHENTICATE with its
# NTLMv2 response, the server's error answer (STATUS_LOGON_FAILURE in TSRequest.errorCode, version 6)
NEGOTIATE_BYTES, CHALLENGE_BYTES, AUTHENTICATE_BYTES, ERROR_BYTES = 70, 250, 560, 30


def rdp_bruteforce(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    p = act.params
    rng = world.rng("attack", act.key)
    me, target = world.host(p["attacker"]), world.peer_device(p["attacker"], p["target"])
    name = p["target"].upper()[:15]  # a NetBIOS computer name (15 characters)
    chain = proto_tls.certificate_chain(name, name, None, world.start, world.seed)
    t = start = world.start + p["start"]
    out: list[Frame] = []
    for i in range(p["attempts"]):
        user = p["users"][i % len(p["users"])]
        conn = TcpStream(rng, me, world.ephemeral_port(rng, p["attacker"]), target, RDP_PORT, rtt=RTT_LAN)
        out += conn.handshake(t)
        for from_client, data in (
                (True, proto_app.rdp_connection_request(user)), (False, proto_app.rdp_connection_confirm()),
                (True, proto_tls.client_hello(rng, "", "openssl")),
                (False, proto_tls.server_flight(rng, chain, name, world.seed)),
                (True, proto_tls.client_finish(rng)), (False, proto_tls.server_finish(rng)),
                (True, proto_tls.application_data(rng, NEGOTIATE_BYTES)),
                (False, proto_tls.application_data(rng, CHALLENGE_BYTES)),
                (True, proto_tls.application_data(rng, AUTHENTICATE_BYTES)),
                (False, proto_tls.application_data(rng, ERROR_BYTES))):
            out += conn.send(conn.t + 0.002, from_client, data)
        out += conn.close(conn.t + 0.01, from_client=False)
        t = conn.t + 1.0 / p["rate"]
    out.sort(key=lambda f: f[0])
    technique = guessing_technique(p["users"])
    return iter(out), world.attack_truth(act, technique, start=start, end=t, targets=[world.ips[p["target"]]])


RDP_ATTACKS: dict[str, tuple[Any, dict[str, Param]]] = {
    "rdp_bruteforce": (rdp_bruteforce, guessing_params("the host whose RDP logon is guessed",
                                                       "user names tried in turn (several: spraying)",
                                                       "administrator")),
}
