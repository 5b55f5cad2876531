"""Application and OT behaviours of lab devices, declared on the serving device: RTSP/RTP camera
streams, IPP and raw-port printing, SNMP polls, a Telnet admin login, MQTT, Modbus/TCP and BACnet/IP.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Iterator
from operator import itemgetter
from typing import TYPE_CHECKING

from iotwarden.errors import ConfigError
from iotwarden.lab import proto_app, proto_net, proto_ot
from iotwarden.lab.behave_net import RTT_LAN, Behaviour
from iotwarden.lab.params import MAX_PORT, Param
from iotwarden.lab.wire import BROADCAST_MAC, Frame, Host, TcpStream, udp_frame
from iotwarden.lab.world import World, periodic

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

_ts = itemgetter(0)
RTP_FRAGMENT = 1400  # H.264 FU-A fragment size, below the Ethernet MTU with IP/UDP/RTP headers


def _client_view(world: World, server: DeviceSpec, client_id: str) -> tuple[Host, Host]:
    """(client, server) as seen on the client's subnet."""
    return world.host(client_id), world.peer_device(client_id, server.id)


RTSP_AUTH = ("none", "basic", "digest")  # how a camera asks for credentials (RFC 2326 §12.5, §12.44: HTTP's schemes)


def _rtsp(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    if p["auth"] not in RTSP_AUTH:
        raise ConfigError(f"{act.path}.auth: one of {', '.join(RTSP_AUTH)}, got {p['auth']!r}")
    if p["auth"] != "none" and not (p["username"] and p["password"] and p["realm"]):
        raise ConfigError(f"{act.path}: auth {p['auth']} needs username, password and realm")
    rng = world.rng(dev.id, "rtsp")
    client, server = _client_view(world, dev, p["client"])
    ua = p["user_agent"]
    url = f"rtsp://{world.ips[dev.id]}:554{p['path']}"
    cport = 50000 + rng.randrange(0, 10000, 2)
    t0 = world.start + p["at"]
    stop = world.end if not p["length"] else min(world.end, t0 + p["length"])
    conn = TcpStream(rng, client, world.ephemeral_port(rng, p["client"]), server, 554, rtt=RTT_LAN)
    session = f"{rng.getrandbits(32):08X}"
    nonce = f"{rng.getrandbits(64):016x}"
    cseq = 0

    def request(method: str, uri: str, extra: str = "") -> bytes:
        # like LIVE555's RTSPClient: no credentials until challenged, then on every request
        nonlocal cseq
        cseq += 1
        if p["auth"] != "none" and cseq > 2:
            extra = "Authorization: " + proto_app.rtsp_authorization(
                p["auth"], p["username"], p["password"], realm=p["realm"], nonce=nonce, method=method,
                uri=uri) + "\r\n" + extra
        return proto_app.rtsp_request(method, uri, cseq, ua, extra)

    def answer(extra: str = "", body: bytes = b"") -> bytes:
        return proto_app.rtsp_response(cseq, p["server_header"], extra, body)

    steps = [(request("OPTIONS", url), answer("Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n"))]
    if p["auth"] != "none":  # the first DESCRIBE is challenged (401, RFC 2326 §7.1.1); the client retries
        challenge = proto_app.rtsp_challenge(p["auth"], p["realm"], nonce)
        steps.append((request("DESCRIBE", url, "Accept: application/sdp\r\n"), proto_app.rtsp_response(
            cseq, p["server_header"], f"WWW-Authenticate: {challenge}\r\n", status="401 Unauthorized")))
    steps += [
        (request("DESCRIBE", url, "Accept: application/sdp\r\n"),
         answer(f"Content-Base: {url}/\r\n", proto_app.sdp(world.ips[dev.id], dev.model))),
        (request("SETUP", f"{url}/trackID=1", f"Transport: RTP/AVP;unicast;client_port={cport}-{cport + 1}\r\n"),
         answer(f"Session: {session};timeout=60\r\nTransport: RTP/AVP;"
                f"unicast;client_port={cport}-{cport + 1};server_port=50000-50001\r\n")),
        (request("PLAY", url, f"Session: {session}\r\nRange: npt=0.000-\r\n"),
         answer(f"Session: {session}\r\nRange: npt=0.000-\r\n")),
    ]
    control = conn.handshake(t0)
    for req, rep in steps:
        control += conn.send(conn.t + 0.002, True, req)
        control += conn.send(conn.t + 0.003, False, rep)
    play_at = conn.t + 0.01
    teardown = request("TEARDOWN", url, f"Session: {session}\r\n")
    tail = conn.send(max(stop, play_at) + 0.01, True, teardown)
    tail += conn.send(conn.t + 0.002, False, answer())
    tail += conn.close(conn.t + 0.01)

    def rtp() -> Iterator[Frame]:
        # camera -> client, addressed as the client's subnet sees it
        cam = server
        seq, ssrc = rng.getrandbits(16), rng.getrandbits(32)
        frame_no = 0
        t = play_at
        while t < stop:
            size = max(200, int(p["frame_bytes"] * rng.uniform(0.6, 1.4)))
            parts = -(-size // RTP_FRAGMENT)
            for k in range(parts):
                chunk = min(RTP_FRAGMENT, size - k * RTP_FRAGMENT)
                payload = proto_app.h264_fu_a(rng, chunk, start=k == 0, end=k == parts - 1)
                pkt = proto_app.rtp_packet(seq, frame_no * 90000 // p["fps"], ssrc, payload, marker=k == parts - 1)
                yield t + k * 0.0002, udp_frame(cam, client.mac, client.ip, pkt, sport=50000, dport=cport)
                seq += 1
            frame_no += 1
            t = play_at + frame_no / p["fps"]

    return heapq.merge(iter(sorted(control, key=_ts)), rtp(), iter(sorted(tail, key=_ts)), key=_ts)


def _ipp(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """A client's Get-Printer-Attributes (RFC 8011 §4.2.5) and the printer's answer, over HTTP on tcp/631."""
    p = act.params
    rng = world.rng(dev.id, "ipp")
    client, server = _client_view(world, dev, p["client"])
    uri = f"ipp://{dev.hostname}.local:631/ipp/print"
    printer_uuid = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'ipp:' + dev.mac)}"  # RFC 4122 §4.3: stable per device

    def session(t: float) -> list[Frame]:
        rid = rng.randint(1, 10000)
        body = proto_app.ipp_get_printer_attributes(rid, uri, user=p["user"], requested=tuple(p["requested"]))
        req = proto_app.http_request("POST", "/ipp/print", f"{world.ips[dev.id]}:631", p["user_agent"],
                                     body=body, content_type="application/ipp")
        answer = proto_app.ipp_printer_attributes(
            rid, f"{dev.vendor} {dev.model}", dev.hostname, dev.firmware, device_id=p["device_id"],
            uuid=printer_uuid, location=p["location"], formats=tuple(p["formats"]), features=tuple(p["features"]))
        rep = proto_app.http_response(200, "OK", p["server_header"], answer, "application/ipp")
        conn = TcpStream(rng, client, world.ephemeral_port(rng, p["client"]), server, 631, rtt=RTT_LAN)
        return conn.session(t, [(True, req), (False, rep)])

    return periodic(world, rng, p["every"], session)


def _raw_print(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """A job sent to the raw printing port (JetDirect tcp/9100); with ``queries`` the driver asks the printer's
    model and status in PJL first and the printer answers (bidirectional drivers)."""
    p = act.params
    rng = world.rng(dev.id, "raw_print")
    client, server = _client_view(world, dev, p["client"])

    def job(t: float) -> list[Frame]:
        conn = TcpStream(rng, client, world.ephemeral_port(rng, p["client"]), server, 9100, rtt=RTT_LAN)
        data = proto_app.pjl_job(rng, f"job{rng.randint(100, 999)}", int(p["job_bytes"] * rng.uniform(0.5, 1.5)),
                                 queries=p["queries"])
        if not p["queries"]:
            return conn.session(t, [(True, data)])
        cut = data.index(b"@PJL ENTER LANGUAGE")  # the driver waits for the answers before it sends the job
        replies = proto_app.pjl_status_replies(f"{dev.vendor} {dev.model}")
        return conn.session(t, [(True, data[:cut]), (False, replies), (True, data[cut:])])

    return periodic(world, rng, p["every"], job)


def _snmp(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    rng = world.rng(dev.id, "snmp")
    client, server = _client_view(world, dev, p["poller"])
    oids = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"]  # RFC 3418 system

    def poll(t: float) -> list[Frame]:
        rid, sport = rng.randint(1, 2**31 - 1), world.ephemeral_port(rng, p["poller"])
        req = proto_net.snmp_message(proto_net.SNMP_GET, p["community"], rid, [(o, None) for o in oids])
        values: list[proto_net.SnmpValue] = [p["sys_descr"], ("oid", p["sys_object_id"]),
                                             int((t - world.start + 86400) * 100), dev.hostname]
        rep = proto_net.snmp_message(proto_net.SNMP_RESPONSE, p["community"], rid, list(zip(oids, values, strict=True)))
        return [(t, udp_frame(client, server.mac, server.ip, req, sport=sport, dport=161)),
                (t + 0.003, udp_frame(server, client.mac, client.ip, rep, sport=161, dport=sport))]

    return periodic(world, rng, p["every"], poll)


def telnet_login(conn: TcpStream, t: float, username: str, password: str, *, success: bool, banner: str,
                 commands: tuple[tuple[str, str], ...] = ()) -> list[Frame]:
    """A Telnet login (RFC 854 with option negotiation) on an open connection; one attempt."""
    out = conn.send(t, False, proto_app.TELNET_SERVER_OPEN)
    out += conn.send(conn.t + 0.003, True, proto_app.TELNET_CLIENT_OPEN)
    out += conn.send(conn.t + 0.003, False, f"\r\n{banner}\r\nlogin: ".encode())
    out += conn.send(conn.t + 0.05, True, f"{username}\r\n".encode())
    out += conn.send(conn.t + 0.002, False, b"Password: ")
    out += conn.send(conn.t + 0.05, True, f"{password}\r\n".encode())
    if not success:
        return out + conn.send(conn.t + 0.4, False, b"\r\nLogin incorrect\r\n")
    out += conn.send(conn.t + 0.02, False, b"\r\n\r\nBusyBox v1.31.1 built-in shell (ash)\r\n\r\n# ")
    for cmd, answer in commands:
        out += conn.send(conn.t + 0.3, True, f"{cmd}\r\n".encode())
        out += conn.send(conn.t + 0.01, False, f"{answer}\r\n# ".encode())
    return out


def _telnet_admin(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    rng = world.rng(dev.id, "telnet")
    client, server = _client_view(world, dev, p["client"])

    def login(t: float) -> list[Frame]:
        conn = TcpStream(rng, client, world.ephemeral_port(rng, p["client"]), server, 23, rtt=RTT_LAN)
        out = conn.handshake(t)
        out += telnet_login(conn, conn.t + 0.01, p["username"], p["password"], success=True, banner=p["banner"],
                            commands=(("uname -a", f"Linux {dev.hostname} 3.10.0 armv7l GNU/Linux"),))
        out += conn.send(conn.t + 0.5, True, b"exit\r\n")
        return out + conn.close(conn.t + 0.01, from_client=False)

    return periodic(world, rng, p["every"] or world.scenario.duration * 2, login, first=world.start + p["at"])


def _mqtt(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    rng = world.rng(dev.id, "mqtt")
    conn = TcpStream(rng, world.host(dev.id), world.ephemeral_port(rng, dev.id), world.peer_device(dev.id, p["broker"]),
                     p["port"], rtt=RTT_LAN)

    def stream() -> Iterator[Frame]:
        t = world.start + p["at"]
        out = conn.handshake(t)
        out += conn.send(conn.t + 0.002, True, proto_app.mqtt_connect(p["client_id"], p["username"] or None,
                                                                      p["password"] or None))
        out += conn.send(conn.t + 0.001, False, proto_app.MQTT_CONNACK)
        yield from sorted(out, key=_ts)
        t, n = conn.t, 0
        while t + p["publish_every"] < world.end - 1:
            t += p["publish_every"] * rng.uniform(0.9, 1.1)
            n += 1
            reading = f'{{"seq":{n},"value":{rng.uniform(18, 26):.2f}}}'.encode()
            msg = proto_app.MQTT_PINGREQ if n % 4 == 0 else proto_app.mqtt_publish(p["topic"], reading)
            out = conn.send(t, True, msg)
            if msg == proto_app.MQTT_PINGREQ:
                out += conn.send(conn.t + 0.001, False, proto_app.MQTT_PINGRESP)
            yield from sorted(out, key=_ts)
        bye = conn.send(world.end - 0.5, True, proto_app.MQTT_DISCONNECT)
        yield from sorted(bye + conn.close(world.end - 0.49), key=_ts)

    return stream()


def _modbus(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    rng = world.rng(dev.id, "modbus")
    regs = [rng.randint(0, 4000) for _ in range(p["registers"])]
    ident = proto_ot.modbus_device_id_response(p["vendor"], p["product_code"], p["revision"])

    def exchange(conn: TcpStream, t: float, tid: int, req: bytes, rep: bytes) -> list[Frame]:
        out = conn.send(t, True, proto_ot.mbap(tid, p["unit"], req))
        return out + conn.send(conn.t + 0.0015, False, proto_ot.mbap(tid, p["unit"], rep))

    def poller() -> Iterator[Frame]:
        client, server = _client_view(world, dev, p["master"])
        conn = TcpStream(rng, client, world.ephemeral_port(rng, p["master"]), server, 502, rtt=RTT_LAN)
        t = world.start + p["at"]
        opening = conn.handshake(t) + exchange(conn, t + 0.01, 1, proto_ot.MODBUS_READ_DEVICE_ID, ident)
        yield from sorted(opening, key=_ts)
        tid = 1
        while t + p["every"] < world.end:
            t += p["every"]
            tid += 1
            fc = 0x03 if tid % 2 else 0x01
            regs[tid % len(regs)] = (regs[tid % len(regs)] + rng.randint(-5, 5)) & 0xFFFF
            req = proto_ot.modbus_read_request(fc, 0, len(regs) if fc == 3 else 16)
            rep = proto_ot.modbus_read_response(fc, len(regs) if fc == 3 else 16,
                                                regs if fc == 3 else [rng.getrandbits(1) for _ in range(16)])
            yield from sorted(exchange(conn, t, tid, req, rep), key=_ts)

    def writer(t: float) -> list[Frame]:
        client, server = _client_view(world, dev, p["writer"])
        conn = TcpStream(rng, client, world.ephemeral_port(rng, p["writer"]), server, 502, rtt=RTT_LAN)
        out = conn.handshake(t)
        out += exchange(conn, conn.t + 0.01, 1, proto_ot.MODBUS_READ_DEVICE_ID, ident)
        addr, value = rng.randrange(len(regs)), rng.randint(0, 1000)
        out += exchange(conn, conn.t + 0.2, 2, proto_ot.modbus_write_single(addr, value),
                        proto_ot.modbus_write_single(addr, value))
        values = [rng.randint(0, 1000) for _ in range(4)]
        out += exchange(conn, conn.t + 0.2, 3, proto_ot.modbus_write_multiple_request(10, values),
                        proto_ot.modbus_write_multiple_response(10, len(values)))
        return out + conn.close(conn.t + 0.05)

    streams = [poller()]
    if p["writer"]:
        streams.append(periodic(world, world.rng(dev.id, "modbus-writer"), p["write_every"], writer))
    return heapq.merge(*streams, key=_ts)


def _bacnet(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    rng = world.rng(dev.id, "bacnet")
    client, server = _client_view(world, dev, p["client"])
    same = world.devices[p["client"]].subnet == dev.subnet
    bcast = str(world.scenario.network.subnets[dev.subnet].network.broadcast_address)
    props = [(proto_ot.PROP_OBJECT_NAME, p["object_name"]), (proto_ot.PROP_MODEL_NAME, dev.model),
             (proto_ot.PROP_VENDOR_NAME, dev.vendor), (proto_ot.PROP_FIRMWARE_REVISION, dev.firmware)]

    def discover(t: float) -> list[Frame]:
        port = 47808  # 0xBAC0 (Annex J.1)
        who = proto_ot.bacnet_who_is()
        out = [(t, udp_frame(client, BROADCAST_MAC if same else server.mac, bcast if same else server.ip, who,
                             sport=port, dport=port))]
        iam = proto_ot.bacnet_i_am(p["instance"], p["vendor_id"])
        out.append((t + 0.02, udp_frame(server, BROADCAST_MAC if same else client.mac, bcast if same else client.ip,
                                        iam, sport=port, dport=port)))
        for k, (prop, value) in enumerate(props):
            invoke = rng.randint(0, 255)
            tk = t + 0.1 + k * 0.05
            out.append((tk, udp_frame(client, server.mac, server.ip, proto_ot.bacnet_read_property(
                invoke, p["instance"], prop), sport=port, dport=port)))
            out.append((tk + 0.01, udp_frame(server, client.mac, client.ip, proto_ot.bacnet_read_property_ack(
                invoke, p["instance"], prop, value), sport=port, dport=port)))
        return out

    return periodic(world, rng, p["every"], discover)


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    # RTSP's request line and headers each end with CRLF (RFC 2326 §4, §6, §7): its texts are one line each, the
    # path one word of the request line (§6.1, form "word")
    "rtsp": (_rtsp, {"client": Param("device", help="the NVR/VMS pulling the stream"),
                     "path": Param("str", "/axis-media/media.amp", form="word"),
                     "server_header": Param("str", form="line"),
                     "user_agent": Param("str", "LIVE555 Streaming Media v2020.08.19", form="line"),
                     "fps": Param("int", 15, minimum=1),
                     "frame_bytes": Param("int", 6000, minimum=200), "at": Param("float", 3.0),
                     "length": Param("float", 0.0, "seconds of streaming (0: to the end)"),
                     "auth": Param("str", "digest", "none | basic | digest: the camera's RTSP authentication "
                                   "(a 401 challenge, then the client's authorised retry)"),
                     "username": Param("str", "", "the client's account (basic, digest)", form="line"),
                     "password": Param("str", "", "its password (basic, digest)", form="line"),
                     "realm": Param("str", "", "the challenge's realm (basic, digest)", form="line")}),
    "ipp": (_ipp, {"client": Param("device"), "server_header": Param("str", "CUPS/2.4 IPP/2.1"),
                   "user_agent": Param("str", "CUPS/2.4.2 (Linux 6.1; x86_64) IPP/2.0", "the client's User-Agent"),
                   "user": Param("str", "", "requesting-user-name (who asks; never kept by the dissector)"),
                   "requested": Param("list", [], "requested-attributes keywords", items="str"),
                   "device_id": Param("str", "", "printer-device-id, an IEEE 1284 device id ('MFG:HP;MDL:...;')"),
                   "location": Param("str", "", "printer-location, set by the operator (never kept)"),
                   "formats": Param("list", [], "document-format-supported MIME types", items="str"),
                   "features": Param("list", [], "ipp-features-supported keywords ('scan', 'faxout')", items="str"),
                   "every": Param("float", 300.0, minimum=0.5)}),
    "raw_print": (_raw_print, {"client": Param("device"), "job_bytes": Param("int", 150000),
                               "queries": Param("bool", False, "the driver asks @PJL INFO ID and USTATUS DEVICE "
                                                "first and the printer answers"),
                               "every": Param("float", 600.0, minimum=0.5)}),
    "snmp": (_snmp, {"poller": Param("device"), "community": Param("str", "public"), "sys_descr": Param("str"),
                     "sys_object_id": Param("str", form="oid"), "every": Param("float", 300.0, minimum=0.5)}),
    # the login dialogue's answers each end with CRLF (RFC 854, NVT end of line): one line each
    "telnet_admin": (_telnet_admin, {"client": Param("device"), "username": Param("str", form="line"),
                                     "password": Param("str", form="line"), "banner": Param("str", ""),
                                     "at": Param("float", 30.0), "every": Param("float", 0.0, "0: once")}),
    "mqtt": (_mqtt, {"broker": Param("device"), "client_id": Param("str"), "username": Param("str", ""),
                     "password": Param("str", ""), "topic": Param("str"),
                     "publish_every": Param("float", 30.0, minimum=0.5),
                     "port": Param("int", 1883, maximum=MAX_PORT), "at": Param("float", 2.0)}),
    "modbus": (_modbus, {"master": Param("device", help="the HMI/SCADA polling"), "unit": Param("int", 1, maximum=255),
                         "every": Param("float", 1.0, minimum=0.5), "registers": Param("int", 10, minimum=1),
                         "writer": Param("device", "", "engineering station writing now and then"),
                         "write_every": Param("float", 120.0, minimum=0.5), "vendor": Param("str"),
                         "product_code": Param("str"), "revision": Param("str"), "at": Param("float", 1.0)}),
    "bacnet": (_bacnet, {"client": Param("device"), "instance": Param("int", maximum=4_194_303),  # 22 bits (§20.2.14)
                         "vendor_id": Param("int", maximum=65_535),
                         "object_name": Param("str"), "every": Param("float", 300.0, minimum=0.5)}),
}
