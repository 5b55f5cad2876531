"""Attacks the lab can switch on: Mirai-style Telnet scanning and brute force, a ping sweep of another
subnet, lateral movement from a compromised IoT device to IT servers over SMB, RDP and SSH, HTTP C2
beaconing, DGA lookups and DNS tunnelling, a Mozi-like bot joining the BitTorrent DHT, SIPVicious'
SIP sweep, extension walk and password guessing (lab/sip_attacks.py), RDP password guessing and spraying
(lab/rdp_attacks.py), Kerberos password spraying and Kerberoasting (lab/krb_attacks.py), KNX reprogramming
through a KNX IP router (lab/knx_app.py), LDAP simple-bind password guessing (lab/ldap_app.py) and Mirai-style FTP
password guessing (lab/ftp_app.py). Each also
yields its ground truth (times, attacker, targets, ATT&CK technique).
"""

from __future__ import annotations

import base64
import heapq
import ipaddress
import random
import string
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from iotwarden.errors import ConfigError
from iotwarden.lab import proto_app, proto_net
from iotwarden.lab.behave_app import telnet_login
from iotwarden.lab.behave_net import RTT_LAN, RTT_WAN, arp_frame, dns_lookup
from iotwarden.lab.credentials import MIRAI_CREDENTIALS, pick_credentials
from iotwarden.lab.ftp_app import FTP_ATTACKS
from iotwarden.lab.knx_app import KNX_ATTACKS
from iotwarden.lab.krb_attacks import KRB_ATTACKS
from iotwarden.lab.ldap_app import LDAP_ATTACKS
from iotwarden.lab.params import MAX_PORT, Param
from iotwarden.lab.rdp_attacks import RDP_ATTACKS
from iotwarden.lab.rpc_attacks import RPC_ATTACKS
from iotwarden.lab.sip_attacks import SIP_ATTACKS
from iotwarden.lab.wire import (
    ACK,
    BROADCAST_MAC,
    RST,
    SYN,
    Frame,
    Host,
    TcpStream,
    icmp_echo,
    tcp_segment,
    udp_frame,
)
from iotwarden.lab.world import World

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity

_ts = itemgetter(0)
Attack = Callable[[World, "Activity"], tuple[Iterator[Frame], dict[str, Any]]]
MAX_SCAN_PROBES = 200_000  # SYNs one scan may send, whatever its rate and duration
MAX_BEACONS = 10_000  # C2 check-ins one beaconing attack may send, whatever its period and duration
MAX_DNS_QUERIES = 10_000  # queries one DGA or tunnelling attack may send
DNS_NXDOMAIN = 0x8183  # response, RD+RA, RCODE 3 Name Error (RFC 1035 §4.1.1)
DNS_NOERROR = 0x8180  # response, RD+RA, RCODE 0
# the identification string a lateral movement target's sshd answers with (RFC 4253 §4.2), as the OS in the scenario
# ships it: the first entry naming a word of the device's `os` (or, for a name of several words, its start) wins. One
# sshd for every OS made a Windows DC answer as Ubuntu; one for every other OS made a router or a NAS Ubuntu too
SSH_SERVER_BY_OS: tuple[tuple[str, bytes], ...] = (
    # Win32-OpenSSH, the optional feature of Windows 10/11 and Server 2019+ (8.1p1 in Windows 11 and Server 2022):
    # 'OpenSSH_for_Windows_<version>' (PowerShell/openssh-portable, contrib/win32)
    ("windows", b"SSH-2.0-OpenSSH_for_Windows_8.1\r\n"),
    # Cisco IOS and IOS XE's own SSH server, 'Cisco-1.25' (Nmap nmap-service-probes, NULL probe:
    # match ssh m|^SSH-([\d.]+)-Cisco-([\d.]+)\r?\n| p/Cisco SSH/ ... o/IOS/)
    ("ios", b"SSH-2.0-Cisco-1.25\r\n"),
    # Ubuntu 22.04's package (packages.ubuntu.com jammy openssh 1:8.9p1-3ubuntu0.6, debian/patches/package-versioning)
    ("ubuntu", b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n"),
    # Raspberry Pi OS 12 is Debian 12's package (packages.debian.org bookworm openssh 1:9.2p1-2+deb12u3)
    ("raspberry pi os", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"),
    ("debian", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"),
    # Synology DSM builds OpenSSH from upstream's portable source, which adds no distro suffix (openssh-portable
    # version.h: SSH_VERSION 'OpenSSH_<v>' + SSH_PORTABLE 'p1'); 8.2p1 is the lab's choice of version for DSM 7
    ("dsm", b"SSH-2.0-OpenSSH_8.2p1\r\n"),
    # a bare 'Linux' in the lab is an embedded device's firmware (a DVR's, a camera's), which runs Dropbear (Nmap
    # nmap-service-probes: match ssh m|^SSH-2\.0-dropbear_([-\w.]+)\r?\n| p/Dropbear sshd/ ... o/Linux/)
    ("linux", b"SSH-2.0-dropbear_2020.81\r\n"),
)
# an OS the table does not know: upstream portable OpenSSH, no distro suffix (openssh-portable version.h)
SSH_SERVER_OTHER = b"SSH-2.0-OpenSSH_9.6p1\r\n"


def _telnet_open(world: World, device_id: str) -> tuple[str, str] | None:
    for beh in world.devices[device_id].behaviours:
        if beh.kind == "telnet_admin":
            return beh.params["username"], beh.params["password"]
    return None


def _mirai_scan(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """SYNs to 23 (9 in 10) or 2323 with seq = target address, as Mirai's raw-socket scanner sends."""
    p = act.params
    rng = world.rng("attack", act.key)
    me = world.host(p["attacker"])
    subnet = world.scenario.network.subnets[world.devices[p["attacker"]].subnet].network
    addresses = [str(a) for a in subnet.hosts() if str(a) != me.ip]
    rng.shuffle(addresses)
    start = world.start + p["start"]
    count = min(MAX_SCAN_PROBES, int(p["duration"] * p["rate"]))
    times = [start + i / p["rate"] for i in range(count)]
    end = times[-1] if times else start

    def probes() -> Iterator[Frame]:
        arp_known: set[str] = set()
        for i, t in enumerate(times):
            dst = addresses[i % len(addresses)]
            owner = world.by_ip.get(dst)
            out: list[Frame] = []
            if dst not in arp_known:  # the kernel resolves each local target first (RFC 826)
                arp_known.add(dst)
                out.append((t, arp_frame(me.mac, BROADCAST_MAC, proto_net.arp(1, me.mac, me.ip, "00:00:00:00:00:00",
                                                                               dst))))
                if owner is None:
                    yield from out
                    continue
                target_mac = world.devices[owner].mac
                out.append((t + 0.0003, arp_frame(target_mac, me.mac, proto_net.arp(2, target_mac, dst, me.mac,
                                                                                      me.ip))))
                t += 0.0005
            if owner is None:
                continue
            target = world.host(owner)
            dport = 2323 if rng.random() < 0.1 else 23
            sport = rng.randint(1024, 65535)
            seq = int(ipaddress.IPv4Address(dst))
            out.append((t, tcp_segment(me, target, b"", sport=sport, dport=dport, seq=seq, ack=0, flags=SYN,
                                       window=rng.randint(1024, 65535))))
            if dport == 23 and _telnet_open(world, owner):
                isn = rng.getrandbits(32)
                out.append((t + 0.0004, tcp_segment(target, me, b"", sport=dport, dport=sport, seq=isn, ack=seq + 1,
                                                    flags=SYN | ACK, window=29200)))
                out.append((t + 0.0006, tcp_segment(me, target, b"", sport=sport, dport=dport, seq=seq + 1, ack=0,
                                                    flags=RST, window=0)))
            else:
                out.append((t + 0.0003, tcp_segment(target, me, b"", sport=dport, dport=sport, seq=0, ack=seq + 1,
                                                    flags=RST | ACK, window=0)))
            yield from sorted(out, key=_ts)

    live = sorted({a for a in addresses if a in world.by_ip})
    return probes(), world.attack_truth(act, "T1046 Network Service Discovery", start=start, end=end, targets=live)


MIRAI_AFTER_LOGIN = (("enable", ""), ("system", ""), ("shell", ""), ("sh", ""),
                     ("/bin/busybox MIRAI", "MIRAI: applet not found"))


def _telnet_bruteforce(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """One credential per connection, drawn by Mirai's weights; the target's real one succeeds."""
    p = act.params
    rng = world.rng("attack", act.key)
    start = t = world.start + p["start"]
    frames: list[Iterator[Frame]] = []
    for target_id in p["targets"]:
        real = _telnet_open(world, target_id)
        tries = pick_credentials(rng, p["attempts"])
        if real and real not in tries and real in {(u, pw) for u, pw, _ in MIRAI_CREDENTIALS}:
            tries[-1] = real
        session: list[Frame] = []
        for user, password in tries:
            me, target = world.host(p["attacker"]), world.peer_device(p["attacker"], target_id)
            conn = TcpStream(rng, me, world.ephemeral_port(rng, p["attacker"]), target, 23, rtt=RTT_LAN)
            session += conn.handshake(t)
            ok = (user, password) == real
            session += telnet_login(conn, conn.t + 0.01, user, password, success=ok, banner="",
                                    commands=MIRAI_AFTER_LOGIN if ok else ())
            session += conn.close(conn.t + 0.05)
            t = conn.t + p["interval"]
            if ok:
                break
        frames.append(iter(sorted(session, key=_ts)))
    end = t
    targets = [world.ips[d] for d in p["targets"]]
    return heapq.merge(*frames, key=_ts), world.attack_truth(act, "T1110.001 Brute Force: Password Guessing",
                                                 start=start, end=end, targets=targets)


def _ping_sweep(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """ICMP echo requests to every address of another subnet, through the router, ``rate`` a second (nmap
    -sn -PE's host discovery before lateral movement, ATT&CK T1018); the hosts that exist answer."""
    p = act.params
    rng = world.rng("attack", act.key)
    dev = world.devices[p["attacker"]]
    subnets = world.scenario.network.subnets
    name = p["subnet"] or next((n for n in subnets if n != dev.subnet), "")
    if name not in subnets or name == dev.subnet:
        raise ConfigError(f"{act.path}.subnet: {name!r} is not another subnet of the scenario "
                          f"(known: {', '.join(sorted(subnets))}; the attacker is on {dev.subnet})")
    addresses = [str(a) for a in subnets[name].network.hosts() if str(a) != subnets[name].gateway]
    addresses = addresses[:MAX_SCAN_PROBES]
    me = world.host(dev.id)
    start = world.start + p["start"]
    ident, data = rng.getrandbits(16), bytes(range(0x10, 0x38))  # a Linux ping's 48-byte pattern, as nmap pads
    out: list[Frame] = []
    for seq, dst in enumerate(addresses):
        t = start + seq / p["rate"]
        out.append((t, icmp_echo(me, world.gateway_mac(), dst, reply=False, ident=ident, seq=seq, data=data)))
        if dst in world.by_ip:
            peer = world.peer(dev.id, dst)
            out.append((t + RTT_LAN, icmp_echo(peer, me.mac, me.ip, reply=True, ident=ident, seq=seq, data=data)))
    end = start + max(len(addresses) - 1, 0) / p["rate"]
    return iter(out), world.attack_truth(act, "T1018 Remote System Discovery (ICMP echo sweep)", start=start,
                                         end=end, targets=[str(subnets[name].network)])


def ssh_server_identification(world: World, device_id: str) -> bytes:
    """The identification string the device's sshd sends: the first of :data:`SSH_SERVER_BY_OS` naming its ``os``
    ('IOS XE' is ios, 'Windows Server 2022' windows, 'DSM 7' dsm), else :data:`SSH_SERVER_OTHER`."""
    os_name = " ".join(world.devices[device_id].os.lower().split())
    words = os_name.split()
    for name, banner in SSH_SERVER_BY_OS:
        if name in words or (" " in name and os_name.startswith(name)):
            return banner
    return SSH_SERVER_OTHER


def _lateral_movement(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """Connections to SMB 445, RDP 3389 and SSH 22 of each target, each with the protocol's opening."""
    p = act.params
    rng = world.rng("attack", act.key)
    start = t = world.start + p["start"]
    out: list[Frame] = []
    for target_id in p["targets"]:
        for port in p["ports"]:
            me: Host = world.host(p["attacker"])
            conn = TcpStream(rng, me, world.ephemeral_port(rng, p["attacker"]),
                             world.peer_device(p["attacker"], target_id), port, rtt=RTT_LAN)
            out += conn.handshake(t)
            if port == 445:  # SMB2 NEGOTIATE ([MS-SMB2] 3.2.4.2.2)
                out += conn.send(conn.t + 0.001, True, proto_app.smb2_negotiate_request(rng))
                out += conn.send(conn.t + 0.001, False, proto_app.smb2_negotiate_response(rng, conn.t))
            elif port == 3389:  # X.224 connection request/confirm ([MS-RDPBCGR] 1.3.1.1)
                out += conn.send(conn.t + 0.001, True, proto_app.rdp_connection_request("administrator"))
                out += conn.send(conn.t + 0.001, False, proto_app.rdp_connection_confirm())
            elif port == 22:  # identification strings then KEXINIT both ways (RFC 4253 §4.2, §7.1)
                out += conn.send(conn.t + 0.001, False, ssh_server_identification(world, target_id))
                out += conn.send(conn.t + 0.001, True, b"SSH-2.0-libssh2_1.10.0\r\n")
                out += conn.send(conn.t + 0.001, False, proto_app.ssh_kexinit(rng))
                out += conn.send(conn.t + 0.001, True, proto_app.ssh_kexinit(rng))
            out += conn.close(conn.t + 0.05)
            t = conn.t + p["interval"]
    targets = [world.ips[d] for d in p["targets"]]
    return iter(sorted(out, key=_ts)), world.attack_truth(act, "T1021 Remote Services (SMB T1021.002, RDP T1021.001, "
                                              "SSH T1021.004)", start=start, end=t, targets=targets)


def _c2_beacon(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """HTTP check-ins to a C2 server every ``every`` s (± ``jitter`` of it), each a small POST and a
    small tasking answer: the pattern of IoT bots and commodity RATs (ATT&CK T1071.001, T1029)."""
    p = act.params
    rng = world.rng("attack", act.key)
    dev = world.devices[p["attacker"]]
    server = world.peer(dev.id, world.cloud_ip(p["c2_host"]))
    start = world.start + p["start"]
    stop = min(world.end, start + p["duration"]) if p["duration"] else world.end
    times: list[float] = []
    t = start
    while t < stop and len(times) < MAX_BEACONS:
        times.append(t)
        t += p["every"] * (1 + rng.uniform(-p["jitter"], p["jitter"]))

    def beacons() -> Iterator[Frame]:
        bot = f"{rng.getrandbits(64):016x}"  # a bot identifier: 16 hex digits
        for k, tk in enumerate(times):
            out = dns_lookup(world, dev, rng, tk, p["c2_host"]) if k % p["resolve_every"] == 0 else []
            conn = TcpStream(rng, world.host(dev.id), world.ephemeral_port(rng, dev.id), server, p["port"],
                             rtt=RTT_WAN)
            body = f"id={bot}&seq={k}&st=idle".encode()
            req = proto_app.http_request("POST", p["path"], p["c2_host"], p["user_agent"], body=body,
                                         content_type="application/x-www-form-urlencoded")
            rep = proto_app.http_response(200, "OK", "nginx", b"{\"task\":\"sleep\"}", "application/json")
            out += conn.session(tk + 0.01, [(True, req), (False, rep)])
            yield from sorted(out, key=_ts)

    end = times[-1] if times else start
    return beacons(), world.attack_truth(act, "T1071.001 Application Layer Protocol: Web Protocols (C2 beaconing)",
                             start=start, end=end, targets=[p["c2_host"]])


def _krpc(kind: bytes, tid: bytes, node: bytes, method: bytes = b"", target: bytes = b"") -> bytes:
    """A BitTorrent DHT message (BEP 5 KRPC, BEP 3 bencoding): a find_node query or its answer."""
    if kind == b"q":
        args = b"d2:id20:" + node + b"6:target20:" + target + b"e"
        return b"d1:a" + args + b"1:q" + str(len(method)).encode() + b":" + method + b"1:t2:" + tid + b"1:y1:qe"
    return b"d1:rd2:id20:" + node + b"5:nodes0:e1:t2:" + tid + b"1:y1:re"


def _p2p_dht(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """A Mozi-like bot joining the Mainline DHT: find_node queries to ``peers`` outside nodes, each answered
    (Netlab 360, "Mozi, Another Botnet Using DHT", 2019: the bots find each other and their config there)."""
    p = act.params
    rng = world.rng("attack", act.key)
    me = world.host(p["attacker"])
    node_id = rng.randbytes(20)
    sport = world.ephemeral_port(rng, p["attacker"])
    start = t = world.start + p["start"]
    out: list[Frame] = []
    targets = []
    for i in range(min(p["peers"], MAX_DNS_QUERIES)):
        ip = world.cloud_ip(f"dht-node-{act.key}-{i}")
        targets.append(ip)
        peer = world.peer(p["attacker"], ip)
        dport = rng.randint(1025, 65535)
        tid = rng.randbytes(2)
        query = _krpc(b"q", tid, node_id, b"find_node", rng.randbytes(20))
        out.append((t, udp_frame(me, peer.mac, ip, query, sport=sport, dport=dport)))
        back = world.host(p["attacker"])
        out.append((t + RTT_WAN, udp_frame(Host(world.gateway_mac(), ip, 50), back.mac, back.ip,
                                           _krpc(b"r", tid, rng.randbytes(20)), sport=dport, dport=sport)))
        t += 1.0 / p["rate"]
    return iter(sorted(out, key=_ts)), world.attack_truth(act, "T1071 Application Layer Protocol (P2P C2 over the "
                                                          "BitTorrent DHT)", start=start, end=t, targets=targets)


def _dns_exchange(world: World, device_id: str, rng: random.Random, t: float, name: str, *, qtype: int,
                  answer: bytes | None) -> list[Frame]:
    """One query to the site resolver and its answer: NXDOMAIN when ``answer`` is None (RFC 1035 §4.1.1)."""
    host = world.host(device_id)
    server = world.peer(device_id, world.scenario.network.dns_server)
    sport, ident = world.ephemeral_port(rng, device_id), rng.getrandbits(16)
    question = [(name, qtype, proto_net.CLASS_IN)]
    q = proto_net.dns_message(ident, 0x0100, question)
    answers = [] if answer is None else [(name, qtype, proto_net.CLASS_IN, 0, answer)]
    r = proto_net.dns_message(ident, DNS_NXDOMAIN if answer is None else DNS_NOERROR, question, answers)
    return [(t, udp_frame(host, server.mac, server.ip, q, sport=sport, dport=53)),
            (t + 0.02, udp_frame(server, host.mac, host.ip, r, sport=53, dport=sport))]


def dga_names(seed: int, count: int, tlds: list[str]) -> list[str]:
    """``count`` pseudo-random domains of 12 to 20 letters and digits, as seeded DGAs (Conficker,
    Necurs, Mirai variants) derive them from a seed; most are unregistered (NXDOMAIN)."""
    rng = random.Random(seed)  # noqa: S311 - simulation, not crypto
    alphabet = string.ascii_lowercase + string.digits
    return [f"{''.join(rng.choice(alphabet) for _ in range(rng.randint(12, 20)))}.{rng.choice(tlds)}"
            for _ in range(count)]


def _dns_dga(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """Lookups of generated domains, ``rate`` per second, until one resolves (the last of the list)."""
    p = act.params
    rng = world.rng("attack", act.key)
    start = world.start + p["start"]
    names = dga_names(rng.getrandbits(32), min(MAX_DNS_QUERIES, p["count"]), p["tlds"])
    times = [start + i / p["rate"] for i in range(len(names))]
    out: list[Frame] = []
    for i, (t, name) in enumerate(zip(times, names, strict=True)):
        found = proto_net.rdata_a(world.cloud_ip(name)) if i == len(names) - 1 else None
        out += _dns_exchange(world, p["attacker"], rng, t, name, qtype=proto_net.TYPE_A, answer=found)
    end = times[-1] if times else start
    return iter(sorted(out, key=_ts)), world.attack_truth(act, "T1568.002 Dynamic Resolution: Domain Generation "
                                              "Algorithms", start=start, end=end, targets=names[-1:])


def _dns_tunnel(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """Data exfiltrated in base32 subdomain labels of TXT queries under one domain (iodine/dnscat2 style)."""
    p = act.params
    rng = world.rng("attack", act.key)
    start = world.start + p["start"]
    count = min(MAX_DNS_QUERIES, p["count"])
    times = [start + i / p["rate"] for i in range(count)]
    out: list[Frame] = []
    for seq, t in enumerate(times):
        chunk = seq.to_bytes(2, "big") + rng.randbytes(p["chunk_bytes"])
        label = base64.b32encode(chunk).decode().rstrip("=").lower()
        labels = ".".join(label[i : i + 63] for i in range(0, len(label), 63))  # labels <= 63 (RFC 1035 §2.3.4)
        answer = proto_net.rdata_txt({"r": base64.b32encode(rng.randbytes(8)).decode().rstrip("=").lower()})
        out += _dns_exchange(world, p["attacker"], rng, t, f"{labels}.{p['domain']}", qtype=proto_net.TYPE_TXT,
                             answer=answer)
    end = times[-1] if times else start
    return iter(sorted(out, key=_ts)), world.attack_truth(act, "T1071.004 Application Layer Protocol: DNS (T1572 "
                                              "Protocol Tunneling)", start=start, end=end, targets=[p["domain"]])


ATTACKS: dict[str, tuple[Attack, dict[str, Param]]] = {
    "mirai_scan": (_mirai_scan, {"attacker": Param("device"), "start": Param("float", 60.0),
                                 "duration": Param("float", 60.0),
                                 "rate": Param("float", 20.0, "SYNs per second", minimum=0.1)}),
    "telnet_bruteforce": (_telnet_bruteforce, {"attacker": Param("device"), "targets": Param("list", items="device"),
                                               "start": Param("float", 120.0), "attempts": Param("int", 6, minimum=1),
                                               "interval": Param("float", 1.0)}),
    "ping_sweep": (_ping_sweep, {"attacker": Param("device"), "start": Param("float", 60.0),
                                 "subnet": Param("str", "", "the subnet swept (default: the first other one)"),
                                 "rate": Param("float", 50.0, "echo requests per second", minimum=0.1)}),
    "lateral_movement": (_lateral_movement, {"attacker": Param("device"), "targets": Param("list", items="device"),
                                             "ports": Param("list", [445, 3389, 22], items="int"),
                                             "start": Param("float", 180.0), "interval": Param("float", 0.5)}),
    "c2_beacon": (_c2_beacon, {"attacker": Param("device"), "c2_host": Param("str", help="the C2 server's name"),
                               "start": Param("float", 3700.0, "after the device's first hour: a compromise, "
                                              "not its normal"), "duration": Param("float", 0.0, "0: to the end"),
                               "every": Param("float", 60.0, "check-in period (s)", minimum=1.0),
                               "jitter": Param("float", 0.1, "± share of the period", minimum=0.0),
                               "port": Param("int", 80, maximum=MAX_PORT), "path": Param("str", "/gate.php"),
                               "user_agent": Param("str", "Mozilla/5.0"),
                               "resolve_every": Param("int", 10, "check-ins per DNS lookup", minimum=1)}),
    "dns_dga": (_dns_dga, {"attacker": Param("device"), "start": Param("float", 60.0),
                           "count": Param("int", 40, "generated names looked up", minimum=1),
                           "rate": Param("float", 2.0, "queries per second", minimum=0.01),
                           "tlds": Param("list", ["com", "net", "org", "info"], items="str")}),
    "dns_tunnel": (_dns_tunnel, {"attacker": Param("device"), "domain": Param("str", help="the tunnel's domain"),
                                 "start": Param("float", 60.0), "count": Param("int", 60, minimum=1),
                                 "rate": Param("float", 1.0, "queries per second", minimum=0.01),
                                 "chunk_bytes": Param("int", 30, "data bytes per query", minimum=20)}),
    "p2p_dht": (_p2p_dht, {"attacker": Param("device"), "start": Param("float", 60.0),
                           "peers": Param("int", 30, "outside DHT nodes queried", minimum=1),
                           "rate": Param("float", 2.0, "queries per second", minimum=0.01)}),
    **SIP_ATTACKS,
    **RPC_ATTACKS,
    **RDP_ATTACKS,
    **KNX_ATTACKS,
    **KRB_ATTACKS,
    **LDAP_ATTACKS,
    **FTP_ATTACKS,
}
