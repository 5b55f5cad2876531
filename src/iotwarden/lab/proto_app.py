"""Payload builders for the application protocols of the lab: HTTP, RTSP/RTP, IPP, PJL, Telnet, MQTT,
SSH, RDP, SMB2 and HL7 v2 over MLLP, each laid out as its cited specification says.
"""

from __future__ import annotations

import base64
import hashlib
import random
import struct


# ---------------------------------------------------------------- HTTP/1.1 (RFC 9112 §3, §4)
def http_request(method: str, path: str, host: str, user_agent: str, *, body: bytes = b"",
                 content_type: str | None = None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nAccept: */*\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    if body or method in ("POST", "PUT"):
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + body


def http_response(status: int, reason: str, server: str, body: bytes, content_type: str = "text/html") -> bytes:
    head = (f"HTTP/1.1 {status} {reason}\r\nServer: {server}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


# ---------------------------------------------------------------- RTSP 1.0 (RFC 2326 §6, §7) and RTP (RFC 3550)
def rtsp_request(method: str, url: str, cseq: int, user_agent: str, extra: str = "") -> bytes:
    return f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {user_agent}\r\n{extra}\r\n".encode()


def rtsp_response(cseq: int, server: str, extra: str = "", body: bytes = b"", status: str = "200 OK") -> bytes:
    head = f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\nServer: {server}\r\n{extra}"
    if body:
        head += f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def rtsp_challenge(scheme: str, realm: str, nonce: str) -> str:
    """A 401's WWW-Authenticate value (RFC 2326 §12.44: HTTP's schemes; RFC 2617 §3.2.1 Digest, RFC 7617 §2 Basic)."""
    if scheme == "digest":
        return f'Digest realm="{realm}", nonce="{nonce}", stale="FALSE"'
    return f'Basic realm="{realm}"'


def rtsp_authorization(scheme: str, user: str, password: str, *, realm: str, nonce: str, method: str,
                       uri: str) -> str:
    """The Authorization value a client answers a challenge with: Basic is base64 of ``user:password``
    (RFC 7617 §2); Digest without qop, as camera servers ask, is
    ``MD5(MD5(user:realm:password):nonce:MD5(method:uri))`` (RFC 2617 §3.2.2.1)."""
    if scheme == "basic":
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    response = md5(f"{md5(f'{user}:{realm}:{password}')}:{nonce}:{md5(f'{method}:{uri}')}")
    return f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}"'


def sdp(origin_ip: str, session: str) -> bytes:
    """An SDP description of one H.264 video stream (RFC 4566 §5, RFC 6184 §8.2.1)."""
    return (f"v=0\r\no=- 1 1 IN IP4 {origin_ip}\r\ns={session}\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
            "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n").encode()


def rtp_packet(seq: int, timestamp: int, ssrc: int, payload: bytes, *, marker: bool = False, pt: int = 96) -> bytes:
    """RTP fixed header, version 2 (RFC 3550 §5.1)."""
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, timestamp & 0xFFFFFFFF,
                       ssrc) + payload


def h264_fu_a(rng: random.Random, size: int, *, start: bool, end: bool) -> bytes:
    """One FU-A fragment of a non-IDR slice (RFC 6184 §5.8): indicator, header, slice bytes."""
    header = (0x80 if start else 0) | (0x40 if end else 0) | 1
    return bytes([0x5C, header]) + rng.randbytes(size)


# ---------------------------------------------------------------- IPP/1.1 over HTTP (RFC 8010 §3, RFC 8011)
def _ipp_attr(tag: int, name: str, value: str, *more: str) -> bytes:
    """One attribute; ``more`` values follow as additional values, name-length 0 (RFC 8010 §3.1.4)."""
    out = b""
    for i, text in enumerate((value, *more)):
        n, v = (name.encode() if i == 0 else b""), text.encode()
        out += struct.pack("!BH", tag, len(n)) + n + struct.pack("!H", len(v)) + v
    return out


def ipp_get_printer_attributes(request_id: int, printer_uri: str, *, user: str = "",
                               requested: tuple[str, ...] = ()) -> bytes:
    """Get-Printer-Attributes request (operation 0x000B, RFC 8011 §4.2.5.1): the operation attributes,
    requesting-user-name (who asks) and requested-attributes when given."""
    body = (_ipp_attr(0x47, "attributes-charset", "utf-8") + _ipp_attr(0x48, "attributes-natural-language", "en")
            + _ipp_attr(0x45, "printer-uri", printer_uri))
    if user:
        body += _ipp_attr(0x42, "requesting-user-name", user)
    if requested:
        body += _ipp_attr(0x44, "requested-attributes", *requested)
    return struct.pack("!BBHI", 2, 0, 0x000B, request_id) + b"\x01" + body + b"\x03"


def ipp_printer_attributes(request_id: int, make_model: str, name: str, firmware: str, *, device_id: str = "",
                           uuid: str = "", location: str = "", formats: tuple[str, ...] = (),
                           features: tuple[str, ...] = ()) -> bytes:
    """Get-Printer-Attributes response, status successful-ok, printer group (RFC 8011 §4.2.5.2): make and
    model, name, location, IEEE 1284 device id, uuid, firmware (PWG 5100.13), document formats, features."""
    group = _ipp_attr(0x41, "printer-make-and-model", make_model) + _ipp_attr(0x42, "printer-name", name)
    if location:
        group += _ipp_attr(0x41, "printer-location", location)
    if device_id:
        group += _ipp_attr(0x41, "printer-device-id", device_id)
    if uuid:
        group += _ipp_attr(0x45, "printer-uuid", uuid)
    group += _ipp_attr(0x41, "printer-firmware-string-version", firmware)
    if formats:
        group += _ipp_attr(0x49, "document-format-supported", *formats)
    if features:
        group += _ipp_attr(0x44, "ipp-features-supported", *features)
    group += struct.pack("!BH", 0x23, 13) + b"printer-state" + struct.pack("!HI", 4, 3)  # idle (3)
    return (struct.pack("!BBHI", 2, 0, 0x0000, request_id) + b"\x01"
            + _ipp_attr(0x47, "attributes-charset", "utf-8") + _ipp_attr(0x48, "attributes-natural-language", "en")
            + b"\x04" + group + b"\x03")


PJL_UEL = b"\x1b%-12345X"  # Universal Exit Language (HP PJL Technical Reference, UEL command)


def pjl_job(rng: random.Random, job: str, size: int, *, queries: bool = False) -> bytes:
    """A raw-port print job: PJL UEL and header, PCL data, end of job (HP PJL Technical Reference §2); with
    ``queries`` the driver first asks the printer's model (INFO ID) and device status (USTATUS DEVICE)."""
    asked = b"@PJL INFO ID\r\n@PJL USTATUS DEVICE=ON\r\n" if queries else b""
    head = PJL_UEL + f'@PJL JOB NAME="{job}"\r\n'.encode() + asked + b"@PJL ENTER LANGUAGE=PCL\r\n\x1bE"
    return head + rng.randbytes(size) + b"\x1bE" + PJL_UEL + f'@PJL EOJ NAME="{job}"\r\n'.encode() + PJL_UEL


def pjl_status_replies(model: str) -> bytes:
    """The printer's answers to INFO ID (its model in quotes) and USTATUS DEVICE (ready), each ended by a form
    feed (HP PJL Technical Reference, status readback)."""
    return (f'@PJL INFO ID\r\n"{model}"\r\n\x0c'
            '@PJL USTATUS DEVICE\r\nCODE=10001\r\nDISPLAY="Ready"\r\nONLINE=TRUE\r\n\x0c').encode()


# ---------------------------------------------------------------- Telnet (RFC 854, options RFC 857/858/1091)
IAC, WILL, DO = 255, 251, 253
TELNET_SERVER_OPEN = bytes([IAC, DO, 24, IAC, WILL, 1, IAC, WILL, 3])  # terminal-type, echo, suppress-go-ahead
TELNET_CLIENT_OPEN = bytes([IAC, WILL, 24, IAC, DO, 1, IAC, DO, 3])


# ---------------------------------------------------------------- MQTT 3.1.1 (OASIS mqtt-v3.1.1 §2, §3)
def _mqtt_str(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("!H", len(raw)) + raw


def _mqtt_fixed(first: int, body: bytes) -> bytes:
    n, out = len(body), b""
    while True:  # remaining length, variable byte integer (§2.2.3)
        byte, n = n % 128, n // 128
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return bytes([first]) + out + body


def mqtt_connect(client_id: str, username: str | None, password: str | None, keepalive: int = 60) -> bytes:
    flags = 0x02 | (0x80 if username else 0) | (0x40 if password else 0)  # clean session (§3.1.2.4)
    body = _mqtt_str("MQTT") + struct.pack("!BBH", 4, flags, keepalive) + _mqtt_str(client_id)
    body += (_mqtt_str(username) if username else b"") + (_mqtt_str(password) if password else b"")
    return _mqtt_fixed(0x10, body)


MQTT_CONNACK = b"\x20\x02\x00\x00"  # session present 0, return code 0 accepted (§3.2)
MQTT_PINGREQ, MQTT_PINGRESP, MQTT_DISCONNECT = b"\xc0\x00", b"\xd0\x00", b"\xe0\x00"


def mqtt_publish(topic: str, payload: bytes) -> bytes:
    return _mqtt_fixed(0x30, _mqtt_str(topic) + payload)  # QoS 0, no packet identifier (§3.3)


# ---------------------------------------------------------------- SSH (RFC 4253 §4.2, §6, §7.1)
def ssh_kexinit(rng: random.Random) -> bytes:
    lists = ["curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256", "ssh-ed25519,rsa-sha2-512",
             "aes128-ctr,aes256-gcm@openssh.com", "aes128-ctr,aes256-gcm@openssh.com",
             "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""]
    payload = b"\x14" + rng.randbytes(16) + b"".join(_vec4(s.encode()) for s in lists) + b"\x00" + b"\0\0\0\0"
    pad = 8 - (len(payload) + 5) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack("!IB", len(payload) + pad + 1, pad) + payload + rng.randbytes(pad)


def _vec4(data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + data


# ---------------------------------------------------------------- RDP ([MS-RDPBCGR] 2.2.1.1, 2.2.1.2)
def rdp_connection_request(user: str) -> bytes:
    """TPKT (RFC 1006) + X.224 Connection Request with cookie and RDP_NEG_REQ (TLS|CredSSP)."""
    body = f"Cookie: mstshash={user}\r\n".encode() + struct.pack("<BBHI", 1, 0, 8, 0x3)
    x224 = bytes([6 + len(body), 0xE0, 0, 0, 0, 0, 0]) + body
    return struct.pack("!BBH", 3, 0, 4 + len(x224)) + x224


def rdp_connection_confirm() -> bytes:
    body = struct.pack("<BBHI", 2, 0x1F, 8, 0x2)  # RDP_NEG_RSP selecting PROTOCOL_HYBRID
    x224 = bytes([6 + len(body), 0xD0, 0, 0, 0x12, 0x34, 0]) + body
    return struct.pack("!BBH", 3, 0, 4 + len(x224)) + x224


# ---------------------------------------------------------------- SMB2 ([MS-SMB2] 2.2.1.2, 2.2.3, 2.2.4)
def _smb2(command: int, message_id: int, body: bytes, *, response: bool) -> bytes:
    head = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, command, 1, 1 if response else 0, 0,
                                    message_id, 0xFEFF, 0, 0, b"")
    msg = head + body
    return struct.pack("!I", len(msg)) + msg  # NetBIOS session message header (RFC 1002 §4.3.1)


def smb2_negotiate_request(rng: random.Random) -> bytes:
    dialects = [0x0202, 0x0210, 0x0300, 0x0302]
    body = struct.pack("<HHHHI16sQ", 36, len(dialects), 1, 0, 0x7F, rng.randbytes(16), 0)
    return _smb2(0, 0, body + b"".join(struct.pack("<H", d) for d in dialects), response=False)


def smb2_negotiate_response(rng: random.Random, now: float) -> bytes:
    filetime = int((now + 11644473600) * 10_000_000)  # 100 ns since 1601 ([MS-DTYP] 2.3.3)
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, 1, 0x0302, 0, rng.randbytes(16), 0x2F, 8388608, 8388608,
                       8388608, filetime, 0, 128, 0, 0)
    return _smb2(0, 0, body + b"\x00", response=True)


# ---------------------------------------------------------------- HL7 v2 over MLLP (HL7 v2.5.1 App. C.4.3)
PCD_01_PROFILE = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"  # IHE PCD TF-2 §B.1 (MSH-21)


def mllp(message: str) -> bytes:
    return b"\x0b" + message.encode() + b"\x1c\x0d"


def _msh(sender: str, receiver: str, stamp: str, message_type: str, *, control: str, profile: str = "") -> str:
    """MSH (HL7 v2.6 §2.14.9): fields 3-6 sender/receiver, 7 time, 9 type, 10 control id, 11 P, 12 2.6,
    15/16 accept/application ack, 18 character set, 21 profile."""
    app, facility = sender.split("|")
    to_app, to_facility = receiver.split("|")
    return (f"MSH|^~\\&|{app}|{facility}|{to_app}|{to_facility}|{stamp}||{message_type}|{control}|P|2.6|||NE|AL||"
            f"UNICODE UTF-8|||{profile}")


# IEEE 11073-10101 containment rows of the device kinds the lab's reporters speak for (MDS, then VMD and
# channel), each row as (code, reference name): IHE PCD TF-2 §B.8 examples and the PCD pump rosetta
PCD_DEVICE_ROWS: dict[str, tuple[tuple[int, str], ...]] = {
    "patient_monitor": ((69965, "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS"),),
    "infusion_pump": ((69985, "MDC_DEV_PUMP_INFUS_MDS"), (69986, "MDC_DEV_PUMP_INFUS_VMD"),
                      (126978, "MDC_DEV_PUMP_INFUS_CHAN_DELIVERY")),
}


def eui64(mac: str) -> str:
    """The EUI-64 of a MAC-48 as IHE PCD writes equipment identifiers: FF-FE after the OUI, hex, upper case."""
    octets = mac.replace(":", "").upper()
    return f"{octets[:6]}FFFE{octets[6:]}"


def hl7_pcd01(sender: str, receiver: str, stamp: str, control: str, *, spo2: int, heart_rate: int,
              devices: tuple[tuple[str, str], ...] = (), pump_rate: float = 0.0) -> bytes:
    """IHE PCD-01 ORU^R01: a test patient's SpO2 and heart rate with their IEEE 11073-10101 (MDC) codes.

    ``devices`` ((taxonomy type, MAC), ...) are the devices the reporter speaks for: each gets its MDS
    row (OBX-4 ``<n>.0.0.0``, OBX-18 its EUI-64 ``<id>^^<id>^EUI-64``), its VMD/channel rows, then its
    metrics (a monitor's SpO2 and heart rate, a pump's delivery rate ``pump_rate`` mL/h). Without
    devices the vital signs come bare, as from a reporter that leaves out the containment rows.
    """
    app = sender.split("|", maxsplit=1)[0]
    segments = [
        _msh(sender, receiver, stamp, "ORU^R01^ORU_R01", control=control, profile=PCD_01_PROFILE),
        "PID|||TEST0001^^^HOSP^MR||TEST^PATIENT",
        f"OBR|1|{control}^{app}||182777000^monitoring of patient^SNOMED-CT|||{stamp}",
    ]
    vitals = [f"150456^MDC_PULS_OXIM_SAT_O2^MDC|{{n}}.1.1.1|{spo2}|262688^MDC_DIM_PERCENT^MDC",
              f"147842^MDC_ECG_HEART_RATE^MDC|{{n}}.1.2.1|{heart_rate}|264864^MDC_DIM_BEAT_PER_MIN^MDC"]
    rows: list[str] = []
    if not devices:
        rows += [f"NM|{v.format(n=1)}|||||R|||{stamp}" for v in vitals]
    for n, (kind, mac) in enumerate(devices, start=1):
        if kind not in PCD_DEVICE_ROWS:
            raise ValueError(f"hl7: no IEEE 11073 device term for a {kind} (known: {', '.join(PCD_DEVICE_ROWS)})")
        ident = eui64(mac)
        for depth, (code, term) in enumerate(PCD_DEVICE_ROWS[kind]):
            sub_id = ".".join([str(n)] + ["1"] * depth + ["0"] * (3 - depth))
            equipment = f"{ident}^^{ident}^EUI-64" if depth == 0 else ""
            rows.append(f"|{code}^{term}^MDC|{sub_id}|||||||X|||{stamp}||||{equipment}")
        if kind == "patient_monitor":
            rows += [f"NM|{v.format(n=n)}|||||R|||{stamp}" for v in vitals]
        else:
            rows.append(f"NM|157784^MDC_FLOW_FLUID_PUMP^MDC|{n}.1.1.1|{pump_rate:g}|265266^MDC_DIM_MILLI_L_PER_HR^MDC"
                        f"|||||R|||{stamp}")
    segments += [f"OBX|{i}|{row}" for i, row in enumerate(rows, start=1)]
    return mllp("\r".join(segments) + "\r")


def hl7_ack(sender: str, receiver: str, stamp: str, control: str, acked: str) -> bytes:
    """The receiver's commit acknowledgement: ACK with MSA-1 AA for message ``acked`` (HL7 v2.6 §2.9.2)."""
    return mllp(_msh(sender, receiver, stamp, "ACK^R01^ACK", control=control) + f"\rMSA|AA|{acked}\r")
