"""LDAP in the lab: a multifunction printer's address-book and scan-to-folder lookups in Active Directory (tcp/389:
a simple bind as its service account, a search for a user's mail and home folder, unbind; with ``tls`` StartTLS and a
TLS handshake come first, so the bind is inside TLS), and a domain controller answering its members' CLDAP "LDAP
pings" (udp/389, [MS-ADTS] §6.3.3) with a NETLOGON_SAM_LOGON_RESPONSE_EX naming itself, its domain and site.
The ``ldap_bruteforce`` attack guesses passwords with simple binds as Hydra's ldap3 module does (one connection per
guess, each refused invalidCredentials); several ``users`` is spraying (ATT&CK T1110.001, T1110.003).
Messages from lab/proto_ldap.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.lab import proto_ldap, proto_tls
from iotwarden.lab.behave_net import RTT_LAN, Behaviour
from iotwarden.lab.params import Param, guessing_params, guessing_technique
from iotwarden.lab.wire import Frame, TcpStream, udp_frame
from iotwarden.lab.world import World, periodic

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

PORT = 389  # IANA ldap, tcp and udp
# what a Windows DC says with invalidCredentials for a wrong password (AcceptSecurityContext error 0x52e)
DATA_52E = "80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 52e, v4563"


def base_dn(domain: str) -> str:
    """The naming context of a DNS domain (RFC 2247 §2: one dc= per label)."""
    return ",".join(f"DC={label}" for label in domain.split("."))


def _lookup(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """Each lookup on its own connection, as HP and Ricoh MFPs make them: bind, search, unbind."""
    p = act.params
    rng = world.rng(dev.id, "ldap_lookup")
    domain = world.scenario.network.domain
    base = p["base"] or base_dn(domain)
    server_dev = world.devices[p["server"]]
    users = iter(range(1 << 30))

    def session(t: float) -> list[Frame]:
        user = p["users"][next(users) % len(p["users"])]
        conn = TcpStream(rng, world.host(dev.id), world.ephemeral_port(rng, dev.id),
                         world.peer_device(dev.id, p["server"]), PORT, rtt=RTT_LAN)
        search = proto_ldap.search(2, base, proto_ldap.equality("sAMAccountName", user), ("mail", "homeDirectory"))
        entry = proto_ldap.entry(2, f"CN={user},CN=Users,{base}", {
            "mail": [f"{user}@{domain}".encode()], "homeDirectory": [f"\\\\FS01\\home\\{user}".encode()]})
        ldap = [(True, proto_ldap.bind_simple(1, p["bind_dn"], p["password"])), (False, proto_ldap.bind_response(1, 0)),
                (True, search), (False, entry + proto_ldap.search_done(2)), (True, proto_ldap.unbind(3))]
        if not p["tls"]:
            return conn.session(t, ldap, think=0.003)
        name = f"{server_dev.hostname}.{domain}"
        chain = proto_tls.certificate_chain(name, domain, p["issuer"], world.start, world.seed)
        # RFC 4511 §4.14: StartTLS answered, then the TLS handshake; the LDAP that follows is encrypted
        return conn.session(t, [(True, proto_ldap.start_tls(1)), (False, proto_ldap.start_tls_response(1)),
                                (True, proto_tls.client_hello(rng, name)),
                                (False, proto_tls.server_flight(rng, chain, name, world.seed)),
                                (True, proto_tls.client_finish(rng)), (False, proto_tls.server_finish(rng)),
                                *((c, proto_tls.application_data(rng, len(m) + 29)) for c, m in ldap)], think=0.003)

    return periodic(world, rng, p["every"], session)


def _dc_locator(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """Each member's DC locator ping (DsGetDcName: a rootDSE search over CLDAP), answered by this DC."""
    p = act.params
    domain = world.scenario.network.domain
    guid = uuid.UUID(bytes=world.rng(dev.id, "domain-guid").randbytes(16), version=4)
    response = proto_ldap.logon_response_ex(
        forest=domain, domain=domain, host=f"{dev.hostname}.{domain}", netbios_domain=p["netbios_domain"]
        or domain.split(".")[0].upper(), netbios_name=dev.hostname.upper(), site=p["site"], client_site=p["site"],
        domain_guid=guid)

    def member(client_id: str) -> Iterator[Frame]:
        rng = world.rng(dev.id, "dc_locator", client_id)
        client, me = world.host(client_id), world.peer_device(client_id, dev.id)
        ids = iter(range(1, 1 << 30))
        host_name = (world.devices[client_id].hostname or client_id).upper()

        def ping(t: float) -> list[Frame]:
            port, message_id = world.ephemeral_port(rng, client_id), next(ids)
            question = proto_ldap.netlogon_ping(message_id, domain, host_name)
            answer = proto_ldap.netlogon_answer(message_id, response)
            return [(t, udp_frame(client, me.mac, me.ip, question, sport=port, dport=PORT)),
                    (t + RTT_LAN, udp_frame(world.host(dev.id), client.mac, client.ip, answer, sport=PORT,
                                            dport=port))]

        return periodic(world, rng, p["every"], ping)

    streams = [f for c in p["clients"] for f in member(c)]
    return iter(sorted(streams, key=lambda f: f[0]))


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "ldap_lookup": (_lookup, {
        "server": Param("device", help="the domain controller (or LDAP server) it binds to"),
        "bind_dn": Param("str", help="the service account's DN the device binds as"),
        "password": Param("str", help="the service account's password (sent in the simple bind)"),
        "users": Param("list", ["jdoe"], "sAMAccountNames it looks up in turn", items="account"),
        "base": Param("str", "", "search base ('' for the network domain's naming context)"),
        "tls": Param("bool", False, "StartTLS before the bind (RFC 4513 §3)"),
        "issuer": Param("str", "Corp Issuing CA", "the DC certificate's issuer organisation when tls", max_bytes=64),
        "every": Param("float", 300.0, minimum=1.0)}),
    "dc_locator": (_dc_locator, {
        "clients": Param("list", help="domain members sending the LDAP ping", items="device"),
        "netbios_domain": Param("str", "", "the domain's NetBIOS name ('' for its first DNS label, upper case)"),
        "site": Param("str", "Default-First-Site-Name", "the AD site of the DC and its members"),
        "every": Param("float", 900.0, minimum=1.0)}),
}


def ldap_bruteforce(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """Simple binds with guessed passwords, one connection each, every one refused (module docstring)."""
    p = act.params
    rng = world.rng("attack", act.key)
    me, target = world.host(p["attacker"]), world.peer_device(p["attacker"], p["target"])
    base = base_dn(world.scenario.network.domain)
    t = start = world.start + p["start"]
    out: list[Frame] = []
    for i in range(p["attempts"]):
        dn = f"CN={p['users'][i % len(p['users'])]},CN=Users,{base}"
        conn = TcpStream(rng, me, world.ephemeral_port(rng, p["attacker"]), target, PORT, rtt=RTT_LAN)
        out += conn.session(t, [(True, proto_ldap.bind_simple(1, dn, f"guess-{rng.randrange(10**6)}")),
                                (False, proto_ldap.bind_response(1, proto_ldap.INVALID_CREDENTIALS, DATA_52E)),
                                (True, proto_ldap.unbind(2))], think=0.002)
        t = conn.t + 1.0 / p["rate"]
    out.sort(key=lambda f: f[0])
    technique = guessing_technique(p["users"])
    return iter(out), world.attack_truth(act, technique, start=start, end=t, targets=[world.ips[p["target"]]])


LDAP_ATTACKS: dict[str, tuple[Any, dict[str, Param]]] = {
    "ldap_bruteforce": (ldap_bruteforce, guessing_params("the directory server whose binds are guessed",
                                                         "account names tried in turn (several: spraying)",
                                                         "Administrator")),
}
