"""Kerberos attacks on the lab's domain controller from a compromised host, drawn as the tools send them (RFC 4120
messages from lab/proto_dir.py, one TCP connection per exchange as gokrb5 and impacket use them):

* ``kerberos_spray``: kerbrute passwordspray / bruteuser: for each password, an AS-REQ with PA-ENC-TIMESTAMP
  per user (no Windows host address), each refused KDC_ERR_PREAUTH_FAILED. Several ``users``: spraying (T1110.003);
  one: password guessing (T1110.001).
* ``kerberoast``: Rubeus kerberoast / impacket GetUserSPNs with a stolen password: the account's TGT (AS-REQ
  pre-authenticated, AS-REP), then a TGS-REQ for each service principal asking RC4-HMAC alone, answered with an
  RC4 ticket (service accounts without AES keys), T1558.003.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.lab import proto_dir
from iotwarden.lab.behave_net import RTT_LAN
from iotwarden.lab.params import Param, guessing_technique
from iotwarden.lab.wire import Frame, TcpStream
from iotwarden.lab.world import World

if TYPE_CHECKING:
    import random

    from iotwarden.lab.scenario import Activity

KERBEROS_PORT = 88  # IANA "kerberos" (RFC 4120 §7.2.3)
RC4_ONLY = (proto_dir.RC4_HMAC,)  # what Rubeus and GetUserSPNs ask for: the ticket cracks fastest
# service principals of user service accounts a directory typically holds (the ones Kerberoasting targets)
SERVICE_SPNS = ["MSSQLSvc/sql01.corp.example:1433", "MSSQLSvc/sql02.corp.example:1433", "HTTP/intranet.corp.example",
                "HTTP/sharepoint.corp.example", "exchangeAB/ex01.corp.example", "svc_backup/bkp01.corp.example",
                "FIMService/fim01.corp.example", "kadmin/scada-hist.corp.example"]


class _Client:
    """One host's exchanges with the KDC, each on a connection of its own."""

    def __init__(self, world: World, act: Activity, rng: random.Random) -> None:
        p = act.params
        self.world, self.rng, self.attacker = world, rng, p["attacker"]
        self.me, self.kdc = world.host(p["attacker"]), world.peer_device(p["attacker"], p["target"])
        self.realm = (p["realm"] or world.scenario.network.domain).upper()
        self.frames: list[Frame] = []

    def exchange(self, t: float, request: bytes, answer: bytes) -> float:
        conn = TcpStream(self.rng, self.me, self.world.ephemeral_port(self.rng, self.attacker), self.kdc,
                         KERBEROS_PORT, rtt=RTT_LAN)
        self.frames += conn.session(t, [(True, proto_dir.tcp_record(request)), (False, proto_dir.tcp_record(answer))],
                                    think=0.002)
        return conn.t

    def truth(self, act: Activity, technique: str, start: float, end: float) -> tuple[Iterator[Frame], dict[str, Any]]:
        self.frames.sort(key=lambda f: f[0])
        targets = [self.world.ips[act.params["target"]]]
        return iter(self.frames), self.world.attack_truth(act, technique, start=start, end=end, targets=targets)


def kerberos_spray(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    p = act.params
    client = _Client(world, act, world.rng("attack", act.key))
    t = start = world.start + p["start"]
    for _ in range(p["passwords"]):
        for user in p["users"]:
            request = proto_dir.as_req(client.rng, client.realm, user, None, preauth=True)
            answer = proto_dir.krb_error(client.rng, client.realm, user, proto_dir.KDC_ERR_PREAUTH_FAILED, t)
            t = client.exchange(t, request, answer) + 1.0 / p["rate"]
    technique = guessing_technique(p["users"])
    return client.truth(act, technique, start, t)


def kerberoast(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    p = act.params
    client = _Client(world, act, world.rng("attack", act.key))
    t = start = world.start + p["start"]
    user, realm = p["account"], client.realm
    t = client.exchange(t, proto_dir.as_req(client.rng, realm, user, None, preauth=True),
                        proto_dir.kdc_rep(client.rng, 11, realm, user, "krbtgt", realm)) + 0.05
    for spn in p["spns"]:
        parts = tuple(spn.split("/"))
        t = client.exchange(t, proto_dir.tgs_req(client.rng, realm, user, *parts, etypes=RC4_ONLY),
                            proto_dir.kdc_rep(client.rng, 13, realm, user, *parts, ticket_etype=proto_dir.RC4_HMAC,
                                              enc_etype=proto_dir.RC4_HMAC)) + 1.0 / p["rate"]
    return client.truth(act, "T1558.003 Steal or Forge Kerberos Tickets: Kerberoasting", start, t)


KRB_ATTACKS: dict[str, tuple[Any, dict[str, Param]]] = {
    "kerberos_spray": (kerberos_spray, {
        "attacker": Param("device"), "target": Param("device", help="the domain controller (KDC)"),
        "realm": Param("str", "", "the Kerberos realm (default: the network's domain, upper case)"),
        "start": Param("float", 120.0), "passwords": Param("int", 2, "passwords tried per user", minimum=1),
        "rate": Param("float", 5.0, "AS requests per second", minimum=0.01),
        "users": Param("list", ["administrator", "alice", "bob", "carol", "dave", "erin", "svc_sql", "backup"],
                       "user names (one: password guessing)", items="account")}),
    "kerberoast": (kerberoast, {
        "attacker": Param("device"), "target": Param("device", help="the domain controller (KDC)"),
        "realm": Param("str", "", "the Kerberos realm (default: the network's domain, upper case)"),
        "start": Param("float", 120.0), "account": Param("str", "jdoe", "the compromised account asking"),
        "rate": Param("float", 10.0, "TGS requests per second", minimum=0.01),
        "spns": Param("list", SERVICE_SPNS, "service principals asked for", items="str")}),
}
