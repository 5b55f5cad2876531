"""QUIC Initial packets, opened as any on-path observer can: long headers (RFC 9000 §17.2), the Initial
keys every endpoint derives from the client's Destination Connection ID (RFC 9001 §5.2; QUIC v2: RFC 9369
§3.3), header protection (RFC 9001 §5.4), AEAD_AES_128_GCM payload protection (§5.3) and the frames an
Initial may carry (RFC 9000 §12.4, §19). Functions only; the per-flow work is :mod:`iotwarden.dissect.quic`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from iotwarden.errors import ParseError

MAX_CID = 20  # RFC 9000 §17.2: a v1 (and v2) connection ID is at most 20 bytes
MIN_CLIENT_DCID = 8  # RFC 9000 §7.2: a client's first Destination Connection ID is at least 8 bytes
MIN_CLIENT_DATAGRAM = 1200  # RFC 9000 §14.1: a datagram holding a client Initial is expanded to 1200 bytes
SAMPLE_LEN = 16  # RFC 9001 §5.4.2: header protection samples 16 bytes of ciphertext
TAG_LEN = 16  # RFC 5116 §5.1: AEAD_AES_128_GCM tag

INITIAL, ZERO_RTT, HANDSHAKE, RETRY = "initial", "0rtt", "handshake", "retry"
VERSION_NEGOTIATION = "version_negotiation"

# frame types an Initial may carry (RFC 9000 §12.4 Table 3; encodings §19)
FRAME_PADDING, FRAME_PING, FRAME_ACK, FRAME_ACK_ECN, FRAME_CRYPTO, FRAME_CLOSE = 0x00, 0x01, 0x02, 0x03, 0x06, 0x1C
FRAME_CLOSE_APP = 0x1D  # never in an Initial (§12.4), but harmless to step over
_NOT_PADDING = re.compile(rb"[^\x00]")


@dataclass(frozen=True, slots=True)
class QuicVersion:
    """What differs between the QUIC versions whose Initial packets can be opened."""

    number: int
    name: str
    salt: bytes  # initial_salt
    label: bytes  # prefix of the packet protection labels: "quic " (v1), "quicv2 " (RFC 9369 §3.3.2)
    types: tuple[str, str, str, str]  # long packet type by its two header bits (RFC 9000 §17.2, RFC 9369 §3.2)


_V1_TYPES = (INITIAL, ZERO_RTT, HANDSHAKE, RETRY)
VERSIONS: dict[int, QuicVersion] = {
    v.number: v for v in (
        QuicVersion(0x00000001, "1", bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), b"quic ",
                    _V1_TYPES),  # RFC 9001 §5.2
        QuicVersion(0x6B3343CF, "2", bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), b"quicv2 ",
                    (RETRY, INITIAL, ZERO_RTT, HANDSHAKE)),  # RFC 9369 §3.1, §3.2, §3.3.1
        QuicVersion(0xFF00001D, "draft-29", bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899"), b"quic ",
                    _V1_TYPES),  # draft-ietf-quic-tls-29 §5.2 (h3-29 clients)
    )
}


def varint(data: bytes, pos: int) -> tuple[int, int]:
    """A variable-length integer at ``pos`` (RFC 9000 §16) and the position after it."""
    if pos >= len(data):
        raise ParseError("quic: variable-length integer past the end")
    size = 1 << (data[pos] >> 6)
    if pos + size > len(data):
        raise ParseError("quic: truncated variable-length integer")
    value = data[pos] & 0x3F
    for b in data[pos + 1 : pos + size]:
        value = (value << 8) | b
    return value, pos + size


# -- keys (RFC 9001 §5.1-5.2) ------------------------------------------------------------------------

def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract with SHA-256 (RFC 5869 §2.2): HMAC-Hash(salt, IKM)."""
    mac = hmac.HMAC(salt, hashes.SHA256())
    mac.update(ikm)
    return mac.finalize()


def hkdf_expand_label(secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1) with SHA-256: the HkdfLabel is the output length, the label
    prefixed "tls13 " and the context, each length-prefixed."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


@dataclass(slots=True)
class InitialKeys:
    """One direction's Initial packet protection: AEAD key and IV, header protection key (RFC 9001 §5.1)."""

    key: bytes
    iv: bytes
    hp: bytes
    aead: AESGCM = field(init=False, repr=False)
    mask_cipher: Any = field(init=False, repr=False)  # AES-ECB encryptor: stateless per 16-byte block

    def __post_init__(self) -> None:
        self.aead = AESGCM(self.key)
        # RFC 9001 §5.4.3: the header protection mask is AES-ECB of one 16-byte sample, by the spec's design
        self.mask_cipher = Cipher(algorithms.AES(self.hp), modes.ECB()).encryptor()  # noqa: S305

    def mask(self, sample: bytes) -> bytes:
        """The five mask bytes of RFC 9001 §5.4.3 for a 16-byte ciphertext sample."""
        return bytes(self.mask_cipher.update(sample)[:5])


def initial_secret(version: QuicVersion, dcid: bytes, *, server: bool) -> bytes:
    """client_initial_secret or server_initial_secret (RFC 9001 §5.2) for a client's first DCID."""
    prk = hkdf_extract(version.salt, dcid)
    return hkdf_expand_label(prk, b"server in" if server else b"client in", b"", 32)


def initial_keys(version: QuicVersion, dcid: bytes, *, server: bool) -> InitialKeys:
    """The Initial keys one side protects its packets with (RFC 9001 §5.1, §5.2; RFC 9369 §3.3.2)."""
    secret = initial_secret(version, dcid, server=server)
    return InitialKeys(
        key=hkdf_expand_label(secret, version.label + b"key", b"", 16),
        iv=hkdf_expand_label(secret, version.label + b"iv", b"", 12),
        hp=hkdf_expand_label(secret, version.label + b"hp", b"", 16),
    )


# -- headers (RFC 9000 §17.2) -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LongHeader:
    """One long-header packet of a datagram, as far as it is readable before removing protection."""

    start: int  # offset of the first byte in the datagram
    first: int
    version: int
    dcid: bytes
    scid: bytes
    kind: str  # INITIAL, ZERO_RTT, HANDSHAKE, RETRY, VERSION_NEGOTIATION, or "" (a version not opened here)
    pn_offset: int  # where the protected packet number starts (Initial, 0-RTT, Handshake)
    end: int  # where the next coalesced packet starts (RFC 9000 §12.2)


def parse_long_header(data: bytes, pos: int = 0) -> LongHeader:
    """The long header starting at ``data[pos]`` (its first bit set). ParseError when malformed."""
    n = len(data)
    if pos + 7 > n:
        raise ParseError("quic: truncated long header")
    first = data[pos]
    version = int.from_bytes(data[pos + 1 : pos + 5], "big")
    dcid_len = data[pos + 5]
    p = pos + 6
    if version not in VERSIONS and version != 0:  # RFC 8999 §5.1: only the invariants are known
        return LongHeader(pos, first, version, b"", b"", "", n, n)
    if dcid_len > MAX_CID and version != 0:
        raise ParseError(f"quic: Destination Connection ID of {dcid_len} bytes")
    dcid = data[p : p + dcid_len]
    p += dcid_len
    if p >= n:
        raise ParseError("quic: truncated connection IDs")
    scid_len = data[p]
    scid = data[p + 1 : p + 1 + scid_len]
    p += 1 + scid_len
    if len(dcid) != dcid_len or len(scid) != scid_len or (scid_len > MAX_CID and version != 0):
        raise ParseError("quic: bad Source Connection ID")
    if version == 0:  # Version Negotiation (RFC 9000 §17.2.1): the rest of the datagram
        return LongHeader(pos, first, version, dcid, scid, VERSION_NEGOTIATION, n, n)
    kind = VERSIONS[version].types[(first >> 4) & 0x03]
    if kind == RETRY:  # §17.2.5: token and integrity tag fill the datagram
        return LongHeader(pos, first, version, dcid, scid, kind, n, n)
    if kind == INITIAL:
        token_len, p = varint(data, p)
        p += token_len
    length, p = varint(data, p)
    end = p + length
    if end > n or length < 4 + SAMPLE_LEN:  # the sample needs 4 + 16 bytes after the packet number start
        raise ParseError(f"quic: packet length {length} does not fit the datagram")
    return LongHeader(pos, first, version, dcid, scid, kind, p, end)


def decode_packet_number(largest: int, truncated: int, nbits: int) -> int:
    """The full packet number nearest the next expected one (RFC 9000 §17.1, Appendix A.3)."""
    expected = largest + 1
    win = 1 << nbits
    hwin, mask = win // 2, win - 1
    candidate = (expected & ~mask) | truncated
    if candidate <= expected - hwin and candidate < (1 << 62) - win:
        return candidate + win
    if candidate > expected + hwin and candidate >= win:
        return candidate - win
    return candidate


def open_packet(data: bytes, header: LongHeader, keys: InitialKeys, largest_pn: int = -1) -> tuple[int, bytes]:
    """(packet number, plaintext payload) of a protected long-header packet: header protection removed
    (RFC 9001 §5.4.1-5.4.3), then the payload opened with the header as associated data (§5.3).
    ParseError when the packet does not authenticate under ``keys``."""
    pn_offset = header.pn_offset
    sample = data[pn_offset + 4 : pn_offset + 4 + SAMPLE_LEN]
    if len(sample) != SAMPLE_LEN:
        raise ParseError("quic: packet too short to sample")
    mask = keys.mask(sample)
    pos = header.start
    first = data[pos] ^ (mask[0] & 0x0F)  # long header: the low four bits are protected
    pn_len = (first & 0x03) + 1
    truncated_bytes = bytes(b ^ m for b, m in zip(data[pn_offset : pn_offset + pn_len], mask[1 : 1 + pn_len],
                                                   strict=True))
    truncated = int.from_bytes(truncated_bytes, "big")
    pn = decode_packet_number(largest_pn, truncated, pn_len * 8)
    aad = bytes([first]) + data[pos + 1 : pn_offset] + truncated_bytes
    nonce = (int.from_bytes(keys.iv, "big") ^ pn).to_bytes(12, "big")
    try:
        plain = keys.aead.decrypt(nonce, data[pn_offset + pn_len : header.end], aad)
    except InvalidTag:
        raise ParseError("quic: Initial packet does not authenticate") from None
    return pn, plain


# -- frames (RFC 9000 §19) --------------------------------------------------------------------------

def crypto_fragments(payload: bytes) -> list[tuple[int, bytes]]:
    """(offset, data) of every CRYPTO frame of an Initial payload, in packet order.

    PADDING, PING, ACK and CONNECTION_CLOSE are stepped over; a frame type an Initial may not carry
    (§12.4) ends the walk with what was found before it. ParseError when a frame is truncated.
    """
    out: list[tuple[int, bytes]] = []
    n, pos = len(payload), 0
    while pos < n:
        if payload[pos] == FRAME_PADDING:  # a run of them fills most of a client's 1200 bytes: skip it at once
            found = _NOT_PADDING.search(payload, pos)
            pos = found.start() if found else n
            continue
        ftype, pos = varint(payload, pos)
        if ftype == FRAME_PING:
            continue
        if ftype in (FRAME_ACK, FRAME_ACK_ECN):  # §19.3
            _, pos = varint(payload, pos)  # largest acknowledged
            _, pos = varint(payload, pos)  # ack delay
            ranges, pos = varint(payload, pos)
            _, pos = varint(payload, pos)  # first ack range
            for _ in range(min(ranges, n)):
                _, pos = varint(payload, pos)  # gap
                _, pos = varint(payload, pos)  # ack range length
            for _ in range(3 if ftype == FRAME_ACK_ECN else 0):
                _, pos = varint(payload, pos)  # ECT0, ECT1, ECN-CE counts
        elif ftype == FRAME_CRYPTO:  # §19.6
            offset, pos = varint(payload, pos)
            length, pos = varint(payload, pos)
            if pos + length > n:
                raise ParseError("quic: truncated CRYPTO frame")
            out.append((offset, payload[pos : pos + length]))
            pos += length
        elif ftype in (FRAME_CLOSE, FRAME_CLOSE_APP):  # §19.19
            _, pos = varint(payload, pos)  # error code
            if ftype == FRAME_CLOSE:
                _, pos = varint(payload, pos)  # frame type
            reason, pos = varint(payload, pos)
            pos += reason
            if pos > n:
                raise ParseError("quic: truncated CONNECTION_CLOSE frame")
        else:
            break
    return out
