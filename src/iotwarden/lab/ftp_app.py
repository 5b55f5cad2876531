"""FTP in the lab: a camera's or MFP's event upload to a site FTP server (Axis, Hikvision and Dahua "FTP upload"
event actions, an MFP's scan-to-FTP), and Mirai-family FTP password guessing from an infected device.

An upload is one control connection to tcp/21 (RFC 959 §5.4): the server's greeting, USER/PASS in cleartext, TYPE I,
PASV (§4.1.2) or EPSV (RFC 2428 §3), STOR, QUIT; and the data connection the passive reply names, which carries the
file and which the client closes to end it (§3.4 stream mode). The replies are vsftpd's (its default texts). The
``ftp_bruteforce`` attack opens one connection per guessed pair from lab/credentials.py's Mirai list, each refused
with 530 unless the pair is an account an ``ftp_upload`` of the scenario logs into on that server (ATT&CK T1110.001).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.errors import ConfigError
from iotwarden.lab.behave_net import RTT_LAN, Behaviour
from iotwarden.lab.credentials import pick_credentials
from iotwarden.lab.params import MAX_PORT, Param
from iotwarden.lab.wire import Frame, TcpStream
from iotwarden.lab.world import World, periodic

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

PORT = 21  # IANA ftp (control)
PASSIVE_MODES = ("pasv", "epsv")
# vsftpd's reply texts (vsftpd 3.0 ftpcodes.h / postlogin.c), each line ended by CRLF (RFC 959 §4.2)
LOGIN_FAILED = "530 Login incorrect."
VSFTPD_BANNER = "(vsFTPd 3.0.5)"  # vsftpd's greeting, '220 (vsFTPd <version>)' (Ubuntu 22.04 ships 3.0.5)
# vsftpd's delay_failed_login (vsftpd.conf(5): 1 s by default) before it answers a refused PASS
FAILED_LOGIN_DELAY = 1.0


def _line(text: str) -> bytes:
    return text.encode() + b"\r\n"


def passive_reply(mode: str, ip: str, port: int) -> bytes:
    """The server's answer to PASV (227 with h1,h2,h3,h4,p1,p2, RFC 959 §4.1.2 and §4.2) or EPSV (229 with the port
    between |||...|, RFC 2428 §3)."""
    if mode == "epsv":
        return _line(f"229 Entering Extended Passive Mode (|||{port}|)")
    return _line(f"227 Entering Passive Mode ({ip.replace('.', ',')},{port >> 8},{port & 0xFF}).")


def login(conn: TcpStream, t: float, banner: str, user: str, password: str, *, success: bool) -> list[Frame]:
    """The greeting and one USER/PASS login on an open control connection (RFC 959 §5.4's sequence)."""
    out = conn.send(t, False, _line(f"220 {banner}"))
    out += conn.send(conn.t + 0.004, True, _line(f"USER {user}"))
    out += conn.send(conn.t + conn.rtt, False, _line("331 Please specify the password."))
    out += conn.send(conn.t + 0.004, True, _line(f"PASS {password}"))
    if success:
        return out + conn.send(conn.t + 0.01, False, _line("230 Login successful."))
    return out + conn.send(conn.t + FAILED_LOGIN_DELAY, False, _line(LOGIN_FAILED))


def quit_and_close(conn: TcpStream, t: float) -> list[Frame]:
    out = conn.send(t, True, _line("QUIT"))
    out += conn.send(conn.t + conn.rtt, False, _line("221 Goodbye."))
    return out + conn.close(conn.t + 0.0005, from_client=False)  # vsftpd closes after 221


def jpeg(rng: random.Random, size: int) -> bytes:
    """A snapshot-sized body with JPEG's SOI/APP0 head and EOI tail (ITU T.81 B.1.1.3, JFIF 1.02)."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00"
    return head + rng.randbytes(max(size - len(head) - 2, 0)) + b"\xff\xd9"


def _upload(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    if p["passive"] not in PASSIVE_MODES:
        raise ConfigError(f"{act.path}.passive: one of {', '.join(PASSIVE_MODES)}, got {p['passive']!r}")
    if p["pasv_min_port"] > p["pasv_max_port"]:
        raise ConfigError(f"{act.path}: pasv_min_port {p['pasv_min_port']} is above pasv_max_port "
                          f"{p['pasv_max_port']}")
    rng = world.rng(dev.id, "ftp_upload")
    me, server = world.host(dev.id), world.peer_device(dev.id, p["server"])
    server_ip = world.ips[p["server"]]
    count = iter(range(1 << 30))

    def session(t: float) -> list[Frame]:
        ctrl = TcpStream(rng, me, world.ephemeral_port(rng, dev.id), server, PORT, rtt=RTT_LAN)
        out = ctrl.handshake(t)
        out += login(ctrl, ctrl.t + ctrl.rtt, p["banner"], p["username"], p["password"], success=True)
        out += ctrl.send(ctrl.t + 0.004, True, _line("TYPE I"))
        out += ctrl.send(ctrl.t + ctrl.rtt, False, _line("200 Switching to Binary mode."))
        port = rng.randint(p["pasv_min_port"], p["pasv_max_port"])
        out += ctrl.send(ctrl.t + 0.004, True, _line(p["passive"].upper()))
        out += ctrl.send(ctrl.t + ctrl.rtt, False, passive_reply(p["passive"], server_ip, port))
        data = TcpStream(rng, me, world.ephemeral_port(rng, dev.id), server, port, rtt=RTT_LAN)
        out += data.handshake(ctrl.t + 0.002)
        name = f"{p['directory'].rstrip('/')}/{p['prefix']}{next(count):06d}.jpg".lstrip("/")
        out += ctrl.send(data.t + 0.001, True, _line(f"STOR {name}"))
        out += ctrl.send(ctrl.t + ctrl.rtt, False, _line("150 Ok to send data."))
        out += data.send(ctrl.t + 0.001, True, jpeg(rng, int(p["file_bytes"] * rng.uniform(0.8, 1.2))))
        out += data.close(data.t + 0.001)  # the end of the file in stream mode (RFC 959 §3.4.1)
        out += ctrl.send(data.t + 0.001, False, _line("226 Transfer complete."))
        return out + quit_and_close(ctrl, ctrl.t + 0.004)

    return periodic(world, rng, p["every"], session, first=world.start + p["at"])


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "ftp_upload": (_upload, {
        "server": Param("device", help="the site FTP server the device uploads to"),
        "username": Param("str", help="the FTP account set in the device's upload settings (sent in USER)",
                          form="line"),
        "password": Param("str", help="its password (sent in PASS, in cleartext)", form="line"),
        "banner": Param("str", VSFTPD_BANNER, "the server's 220 greeting text (vsftpd's form: its version)",
                        form="line"),
        "passive": Param("str", "pasv", "pasv (RFC 959) | epsv (RFC 2428): how the data connection is opened"),
        "pasv_min_port": Param("int", 40000, "the server's passive port range (vsftpd pasv_min_port)",
                               minimum=1024, maximum=MAX_PORT),
        "pasv_max_port": Param("int", 40100, "its top (vsftpd pasv_max_port)", minimum=1024, maximum=MAX_PORT),
        "directory": Param("str", "", "the upload folder, relative to the account's home", form="line"),
        "prefix": Param("str", "snapshot_", "file names: prefix + a six-digit count + .jpg", form="line"),
        "file_bytes": Param("int", 60000, "a file's size (± 20 %)", minimum=64),
        "at": Param("float", 20.0), "every": Param("float", 150.0, "seconds between uploads", minimum=1.0)}),
}


def _server(world: World, server_id: str) -> tuple[set[tuple[str, str]], str | None]:
    """The (user, password) pairs the scenario's ``ftp_upload`` behaviours log into ``server_id`` with, and the
    greeting they give it (None when no upload goes there)."""
    uploads = [b.params for d in world.scenario.devices for b in d.behaviours
               if b.kind == "ftp_upload" and b.params["server"] == server_id]
    return {(u["username"], u["password"]) for u in uploads}, uploads[0]["banner"] if uploads else None


def ftp_bruteforce(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    """One connection per pair of Mirai's list (drawn by its weights), each a greeting, USER, PASS, the verdict and
    QUIT; it stops at a pair that works (module docstring)."""
    p = act.params
    rng = world.rng("attack", act.key)
    me, target = world.host(p["attacker"]), world.peer_device(p["attacker"], p["target"])
    accounts, banner = _server(world, p["target"])
    t = start = world.start + p["start"]
    out: list[Frame] = []
    for user, password in pick_credentials(rng, p["attempts"]):
        conn = TcpStream(rng, me, world.ephemeral_port(rng, p["attacker"]), target, PORT, rtt=RTT_LAN)
        out += conn.handshake(t)
        ok = (user, password) in accounts
        out += login(conn, conn.t + conn.rtt, p["banner"] or banner or VSFTPD_BANNER, user, password,
                     success=ok)
        out += quit_and_close(conn, conn.t + 0.002)
        t = conn.t + 1.0 / p["rate"]
        if ok:
            break
    out.sort(key=lambda f: f[0])
    return iter(out), world.attack_truth(act, "T1110.001 Brute Force: Password Guessing", start=start, end=t,
                                         targets=[world.ips[p["target"]]])


FTP_ATTACKS: dict[str, tuple[Any, dict[str, Param]]] = {
    "ftp_bruteforce": (ftp_bruteforce, {
        "attacker": Param("device"), "target": Param("device", help="the FTP server whose logins are guessed"),
        "start": Param("float", 120.0), "attempts": Param("int", 10, "pairs of Mirai's list tried", minimum=1),
        "rate": Param("float", 0.5, "connections per second", minimum=0.01),
        "banner": Param("str", "", "the target's 220 greeting text ('': its uploads' banner, else vsftpd's)",
                        form="line")}),
}
