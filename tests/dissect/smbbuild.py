"""Builders of SMB1, SMB2 and NTLMSSP messages laid out as [MS-CIFS], [MS-SMB], [MS-SMB2] and [MS-NLMP]
describe them, for the SMB dissector tests: every offset below is the specification's."""

from __future__ import annotations

import struct
import uuid

NTLM_OID = bytes.fromhex("2b0601040182370202 0a".replace(" ", ""))  # 1.3.6.1.4.1.311.2.2.10
KRB5_OID = bytes.fromhex("2a864886f712010202")  # 1.2.840.113554.1.2.2
MSKRB5_OID = bytes.fromhex("2a864882f712010202")  # 1.2.840.48018.1.2.2
SPNEGO_OID = bytes.fromhex("2b0601050502")  # 1.3.6.1.5.5.2
FLAGS_UNICODE, FLAGS_VERSION, FLAGS_ANONYMOUS = 0x00000001, 0x02000000, 0x00000800
SERVER_GUID = uuid.UUID("4e1a2b3c-0d0e-4f10-8a11-121314151617")
CLIENT_GUID = uuid.UUID("c0ffee00-1111-4222-8333-444455556666")
FILETIME_2024 = 133_540_164_000_000_000  # 2024-03-04T09:00:00Z as 100 ns intervals since 1601 (T0 of the lab)


def tlv(tag: int, value: bytes) -> bytes:
    """A DER TLV (X.690 §8.1.3: short or long definite length)."""
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + value


def version(major: int, minor: int, build: int) -> bytes:
    """VERSION, [MS-NLMP] §2.2.2.10: major, minor, build, 3 reserved bytes, NTLMRevisionCurrent 15."""
    return struct.pack("<BBH3sB", major, minor, build, b"\0\0\0", 15)


def ntlm_negotiate(ver: tuple[int, int, int] | None = (10, 0, 19041)) -> bytes:
    """NEGOTIATE_MESSAGE, §2.2.1.1: no domain or workstation supplied."""
    flags = 0xE2088297 if ver else 0xE0088297 & ~FLAGS_VERSION
    head = b"NTLMSSP\0" + struct.pack("<II", 1, flags) + struct.pack("<HHI", 0, 0, 0) * 2
    return head + (version(*ver) if ver else b"")


def av_pairs(names: dict[int, str], timestamp: int | None = FILETIME_2024) -> bytes:
    encoded = {av: v.encode("utf-16-le") for av, v in names.items()}
    out = b"".join(struct.pack("<HH", av, len(v)) + v for av, v in encoded.items())
    if timestamp is not None:
        out += struct.pack("<HHQ", 7, 8, timestamp)
    return out + struct.pack("<HH", 0, 0)


def ntlm_challenge(target: str = "FILESRV", ver: tuple[int, int, int] = (10, 0, 20348),
                   names: dict[int, str] | None = None) -> bytes:
    """CHALLENGE_MESSAGE, §2.2.1.2: 56 fixed bytes (version included), then TargetName, then TargetInfo."""
    names = names if names is not None else {2: "CORP", 1: "FILESRV", 4: "corp.example", 3: "filesrv.corp.example",
                                             5: "corp.example"}
    name = target.encode("utf-16-le")
    info = av_pairs(names)
    flags = 0xE28A8215 | FLAGS_VERSION
    fixed = (b"NTLMSSP\0" + struct.pack("<I", 2) + struct.pack("<HHI", len(name), len(name), 56)
             + struct.pack("<I", flags) + b"\x01\x23\x45\x67\x89\xab\xcd\xef" + b"\0" * 8
             + struct.pack("<HHI", len(info), len(info), 56 + len(name)) + version(*ver))
    return fixed + name + info


def ntlm_authenticate(*, user: str = "alice", domain: str = "CORP", workstation: str = "PC-0042",
                      ver: tuple[int, int, int] = (10, 0, 22631), nt_response: bytes = b"\x11" * 24,
                      flags: int = 0xE2888215) -> bytes:
    """AUTHENTICATE_MESSAGE, §2.2.1.3: 88 fixed bytes (version and MIC), then the payload fields."""
    lm = b"\0" * 24
    parts = [lm, nt_response, domain.encode("utf-16-le"), user.encode("utf-16-le"),
             workstation.encode("utf-16-le"), b"\x22" * 16]
    offset, descriptors = 88, b""
    for part in parts:
        descriptors += struct.pack("<HHI", len(part), len(part), offset)
        offset += len(part)
    return (b"NTLMSSP\0" + struct.pack("<I", 3) + descriptors + struct.pack("<I", flags) + version(*ver)
            + b"\x33" * 16 + b"".join(parts))


def spnego_init(token: bytes, mechs: tuple[bytes, ...] = (NTLM_OID,)) -> bytes:
    """GSS-API InitialContextToken (RFC 2743 §3.1) holding a NegTokenInit (RFC 4178 §4.2.1)."""
    mech_list = tlv(0xA0, tlv(0x30, b"".join(tlv(0x06, m) for m in mechs)))
    body = mech_list + (tlv(0xA2, tlv(0x04, token)) if token else b"")
    return tlv(0x60, tlv(0x06, SPNEGO_OID) + tlv(0xA0, tlv(0x30, body)))


def spnego_resp(token: bytes, state: int = 1) -> bytes:
    """NegTokenResp (RFC 4178 §4.2.2): negState, supportedMech NTLMSSP, responseToken."""
    body = tlv(0xA0, tlv(0x0A, bytes([state]))) + tlv(0xA1, tlv(0x06, NTLM_OID)) + tlv(0xA2, tlv(0x04, token))
    return tlv(0xA1, tlv(0x30, body))


# ---------------------------------------------------------------- SMB2 ([MS-SMB2] §2.2)
def smb2(command: int, body: bytes, *, response: bool = False, status: int = 0, next_command: int = 0,
         message_id: int = 0) -> bytes:
    """A 64-byte SYNC header (§2.2.1.2) and ``body``."""
    head = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 1, status, command, 1, 1 if response else 0,
                                    next_command, message_id, 0, 0, 0x1000 if command else 0, b"\0" * 16)
    return head + body


def negotiate_request(dialects: tuple[int, ...] = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311),
                      ciphers: tuple[int, ...] = (2, 1)) -> bytes:
    """§2.2.3 with, for 3.1.1, PREAUTH_INTEGRITY and ENCRYPTION contexts (§2.2.3.1) after the dialects."""
    fixed = 64 + 36 + 2 * len(dialects)
    context_at = fixed + (-fixed % 8)
    contexts = b""
    if 0x0311 in dialects:
        preauth = struct.pack("<HHH", 1, 32, 1) + b"\x44" * 32
        enc = struct.pack("<H", len(ciphers)) + b"".join(struct.pack("<H", c) for c in ciphers)
        sign = struct.pack("<HHH", 2, 1, 0)
        first = struct.pack("<HHI", 1, len(preauth), 0) + preauth
        first += b"\0" * (-len(first) % 8)
        second = struct.pack("<HHI", 2, len(enc), 0) + enc
        second += b"\0" * (-len(second) % 8)
        contexts = first + second + struct.pack("<HHI", 8, len(sign), 0) + sign
    body = struct.pack("<HHHHI16sIHH", 36, len(dialects), 0x01, 0, 0x7F, CLIENT_GUID.bytes_le,
                       context_at if contexts else 0, 3 if contexts else 0, 0)
    body += b"".join(struct.pack("<H", d) for d in dialects)
    body += b"\0" * ((context_at - 64 - len(body)) if contexts else 0)
    return smb2(0, body + contexts)


def negotiate_response(dialect: int = 0x0311, blob: bytes = b"", mode: int = 0x03, cipher: int = 2) -> bytes:
    """§2.2.4: the security buffer at offset 128, then (3.1.1) the chosen cipher context, 8-byte aligned."""
    contexts = b""
    context_at = 0
    if dialect == 0x0311:
        context_at = 128 + len(blob) + (-(128 + len(blob)) % 8)
        enc = struct.pack("<HH", 1, cipher)
        contexts = b"\0" * (context_at - 128 - len(blob)) + struct.pack("<HHI", 2, len(enc), 0) + enc
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, mode, dialect, 1 if contexts else 0, SERVER_GUID.bytes_le, 0x2F,
                       8 << 20, 8 << 20, 8 << 20, FILETIME_2024, 0, 128 if blob else 0, len(blob), context_at)
    return smb2(0, body + blob + contexts, response=True)


def session_setup_request(blob: bytes) -> bytes:
    """§2.2.5: the security buffer at offset 88."""
    return smb2(1, struct.pack("<HBBIIHHQ", 25, 0, 0x01, 1, 0, 88, len(blob), 0) + blob)


def session_setup_response(blob: bytes, status: int = 0xC0000016, session_flags: int = 0) -> bytes:
    """§2.2.6: the security buffer at offset 72."""
    return smb2(1, struct.pack("<HHHH", 9, session_flags, 72 if blob else 0, len(blob)) + blob, response=True,
                status=status)


def error_response(command: int, status: int) -> bytes:
    """§2.2.2 ERROR Response."""
    return smb2(command, struct.pack("<HBBI", 9, 0, 0, 0) + b"\0", response=True, status=status)


def tree_connect(path: str) -> bytes:
    """§2.2.9: the UTF-16LE path at offset 72."""
    raw = path.encode("utf-16-le")
    return smb2(3, struct.pack("<HHHH", 9, 0, 72, len(raw)) + raw)


def direct(*messages: bytes) -> bytes:
    """Direct TCP transport ([MS-SMB2] §2.1): a zero byte and a 24-bit length before each message."""
    return b"".join(b"\0" + len(m).to_bytes(3, "big") + m for m in messages)


# ---------------------------------------------------------------- SMB1 ([MS-CIFS] §2.2, [MS-SMB] §2.2)
def smb1(command: int, words: bytes, data: bytes, *, response: bool = False, status: int = 0,
         unicode: bool = True, extended: bool = True) -> bytes:
    """The 32-byte header (§2.2.3.1), WordCount and words, ByteCount and bytes."""
    flags2 = (0x8000 if unicode else 0) | (0x0800 if extended else 0) | 0x4001
    head = b"\xffSMB" + struct.pack("<BIBHH8sHHHHH", command, status, 0x98 if response else 0x18, flags2, 0,
                                    b"\0" * 8, 0, 0, 0xFEFF, 0, 1)
    return head + bytes([len(words) // 2]) + words + struct.pack("<H", len(data)) + data


def smb1_negotiate_request(dialects: tuple[str, ...] = ("NT LM 0.12", "SMB 2.002", "SMB 2.???")) -> bytes:
    return smb1(0x72, b"", b"".join(b"\x02" + d.encode() + b"\0" for d in dialects))


def smb1_negotiate_response(index: int = 0, blob: bytes = b"", extended: bool = True,
                            names: tuple[str, str] = ("WORKGROUP", "NAS01"), mode: int = 0x0F) -> bytes:
    """NT LM 0.12 answer (17 words, §2.2.4.52.2; [MS-SMB] §2.2.4.5.2.1 with extended security); SecurityMode
    0x0F: user security, encrypted passwords, signatures enabled and required."""
    caps = 0x8000F3FD if extended else 0x0000F3FD
    words = struct.pack("<HBHHIIII QhB", index, mode, 50, 1, 16644, 65536, 0, caps, FILETIME_2024, 0,
                        0 if extended else 8)
    if extended:
        data = SERVER_GUID.bytes_le + blob
    else:
        data = b"\x55" * 8 + b"".join(n.encode("utf-16-le") + b"\0\0" for n in names)
    return smb1(0x72, words, data, response=True, extended=extended)


def _unicode_strings(offset: int, *texts: str) -> bytes:
    """Null-terminated UTF-16LE strings starting at ``offset`` from the header, with the alignment pad."""
    out = b"\0" if offset % 2 else b""
    return out + b"".join(t.encode("utf-16-le") + b"\0\0" for t in texts)


def smb1_session_setup_request(blob: bytes, native_os: str = "Windows 5.1",
                               native_lanman: str = "Windows 2000 LAN Manager") -> bytes:
    """[MS-SMB] §2.2.4.6.1: 12 words, the blob, NativeOS and NativeLanMan."""
    words = struct.pack("<BBHHHHIHII", 0xFF, 0, 0, 16644, 50, 0, 0, len(blob), 0, 0x800000D4)
    data_at = 32 + 1 + len(words) + 2
    data = blob + _unicode_strings(data_at + len(blob), native_os, native_lanman)
    return smb1(0x73, words, data)


def smb1_session_setup_response(blob: bytes, *, native_os: str = "Unix", native_lanman: str = "Samba 3.6.25",
                                domain: str = "WORKGROUP", status: int = 0xC0000016, action: int = 0) -> bytes:
    """[MS-SMB] §2.2.4.6.2: 4 words (AndX, Action, SecurityBlobLength), the blob and three strings."""
    words = struct.pack("<BBHHH", 0xFF, 0, 0, action, len(blob))
    data_at = 32 + 1 + len(words) + 2
    data = blob + _unicode_strings(data_at + len(blob), native_os, native_lanman, domain)
    return smb1(0x73, words, data, response=True, status=status)


def smb1_session_setup_plain(account: str, native_os: str = "Windows 4.0", native_lanman: str = "Windows 4.0",
                             password: bytes = b"\x99" * 24) -> bytes:
    """NT LM 0.12 without extended security (§2.2.4.53.1, 13 words), chained to a TREE_CONNECT_ANDX of IPC$."""
    words = struct.pack("<BBHHHHIHHII", 0x75, 0, 0, 16644, 50, 0, 0, 0, len(password), 0, 0xD4)
    data_at = 32 + 1 + len(words) + 2
    data = password + _unicode_strings(data_at + len(password), account, "CORP", native_os, native_lanman)
    first = smb1(0x73, words, data, extended=False)
    tree_at = len(first)
    tree_words = struct.pack("<BBHHH", 0xFF, 0, 0, 0, 1)
    tree_data = b"\0" + _unicode_strings(tree_at + 1 + len(tree_words) + 2 + 1, "\\\\SRV\\IPC$") + b"?????\0"
    first = first[:33] + struct.pack("<BBH", 0x75, 0, tree_at) + first[37:]
    return first + bytes([len(tree_words) // 2]) + tree_words + struct.pack("<H", len(tree_data)) + tree_data


def smb1_tree_connect(path: str) -> bytes:
    """§2.2.4.55.1: 4 words (AndX, Flags, PasswordLength 1), the password byte, Path, Service."""
    words = struct.pack("<BBHHH", 0xFF, 0, 0, 0, 1)
    data_at = 32 + 1 + len(words) + 2
    return smb1(0x75, words, b"\0" + _unicode_strings(data_at + 1, path) + b"?????\0")


def nbss(*messages: bytes) -> bytes:
    """NetBIOS session messages (RFC 1002 §4.3.1): type 0, flags, 16-bit length."""
    return b"".join(struct.pack(">BBH", 0, 0, len(m)) + m for m in messages)


def encode_name(name: str, suffix: int) -> bytes:
    """A first-level encoded NetBIOS name (RFC 1001 §14.1) as a label, with the terminating zero."""
    raw = name.upper().ljust(15).encode()[:15] + bytes([suffix])
    return b"\x20" + bytes(b for c in raw for b in (0x41 + (c >> 4), 0x41 + (c & 0xF))) + b"\0"


def session_request(called: str, calling: str) -> bytes:
    """SESSION REQUEST (RFC 1002 §4.3.2)."""
    body = encode_name(called, 0x20) + encode_name(calling, 0x00)
    return struct.pack(">BBH", 0x81, 0, len(body)) + body
