"""Payload builders for the directory services of the lab's Windows domain: Kerberos V5 (RFC 4120).

Messages are DER as RFC 4120 §5 lays them out, with the values a Windows client sends (the
KDC options, encryption types and NetBIOS host address of [MS-KILE] §3.1.5); everything a real
exchange encrypts is random bytes of a realistic size.
"""

from __future__ import annotations

import random
import struct
import time

from iotwarden.lab.proto_net import ber, ber_int

NT_PRINCIPAL, NT_SRV_INST = 1, 2  # name types (RFC 4120 §6.2)
AES256, AES128, RC4_HMAC, RC4_HMAC_EXP, RC4_HMAC_OLD_EXP = 18, 17, 23, 24, -135  # etypes ([MS-KILE] §3.1.5.2)
WINDOWS_ETYPES = (AES256, AES128, RC4_HMAC, RC4_HMAC_EXP, RC4_HMAC_OLD_EXP)
# padata types (RFC 4120 §7.5.2, [MS-KILE] §2.2.3)
PA_TGS_REQ, PA_ENC_TIMESTAMP, PA_ETYPE_INFO2, PA_PAC_REQUEST = 1, 2, 19, 128
# RFC 4120 §7.5.9 error codes
KDC_ERR_C_PRINCIPAL_UNKNOWN, KDC_ERR_PREAUTH_FAILED, KDC_ERR_PREAUTH_REQUIRED = 6, 24, 25
# forwardable | renewable | canonicalize | renewable-ok (RFC 4120 §5.4.1, [MS-KILE] §3.1.5.1)
AS_OPTIONS = b"\x00\x40\x81\x00\x10"
TGS_OPTIONS = b"\x00\x40\x81\x00\x00"
NEVER = b"20370913024805Z"  # the 'till' a Windows client asks for


def _ctx(n: int, content: bytes) -> bytes:
    return ber(0xA0 | n, content)


def _string(text: str) -> bytes:
    return ber(0x1B, text.encode())  # KerberosString ::= GeneralString (IA5 only, §5.2.1)


def _time(t: float) -> bytes:
    return ber(0x18, time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t)).encode())  # KerberosTime (§5.2.3)


def principal(name_type: int, *names: str) -> bytes:
    """PrincipalName (§5.2.2)."""
    return ber(0x30, _ctx(0, ber_int(name_type)) + _ctx(1, ber(0x30, b"".join(_string(n) for n in names))))


def _encrypted(rng: random.Random, size: int, kvno: int | None = None, etype: int = AES256) -> bytes:
    """EncryptedData (§5.2.9) with ``etype`` (AES256-CTS-HMAC-SHA1-96 unless told) and ``size`` bytes of cipher
    text."""
    body = _ctx(0, ber_int(etype)) + (_ctx(1, ber_int(kvno)) if kvno is not None else b"")
    return ber(0x30, body + _ctx(2, ber(0x04, rng.randbytes(size))))


def _padata(kind: int, value: bytes) -> bytes:
    return ber(0x30, _ctx(1, ber_int(kind)) + _ctx(2, ber(0x04, value)))  # PA-DATA (§5.2.7)


def ticket(rng: random.Random, realm: str, *sname: str, size: int = 1100, etype: int = AES256) -> bytes:
    """Ticket (§5.3): realm and service name in the clear, the rest (with the PAC) encrypted in the service's key
    of ``etype``."""
    body = _ctx(0, ber_int(5)) + _ctx(1, _string(realm)) + _ctx(2, principal(NT_SRV_INST, *sname))
    return ber(0x61, ber(0x30, body + _ctx(3, _encrypted(rng, size, kvno=2, etype=etype))))


def _req_body(rng: random.Random, options: bytes, realm: str, sname: tuple[str, ...], *, cname: str | None,
              netbios: str | None, etypes: tuple[int, ...] = WINDOWS_ETYPES) -> bytes:
    """KDC-REQ-BODY (§5.4.1); Windows lists its NetBIOS name as a host address (type 20, §7.5.3)."""
    body = _ctx(0, ber(0x03, options))
    if cname is not None:
        body += _ctx(1, principal(NT_PRINCIPAL, cname))
    body += _ctx(2, _string(realm)) + _ctx(3, principal(NT_SRV_INST, *sname)) + _ctx(5, ber(0x18, NEVER))
    if cname is not None:
        body += _ctx(6, ber(0x18, NEVER))
    body += _ctx(7, ber_int(rng.getrandbits(31))) + _ctx(8, ber(0x30, b"".join(ber_int(e) for e in etypes)))
    if netbios is not None:
        address = ber(0x30, _ctx(0, ber_int(20)) + _ctx(1, ber(0x04, netbios.upper()[:15].ljust(16).encode())))
        body += _ctx(9, ber(0x30, address))
    return ber(0x30, body)


def as_req(rng: random.Random, realm: str, cname: str, netbios: str | None, *, preauth: bool,
           etypes: tuple[int, ...] = WINDOWS_ETYPES) -> bytes:
    """AS-REQ (§5.4.1, msg-type 10) for a TGT; with ``preauth`` the encrypted timestamp is included (in the first of
    ``etypes``' keys); without ``netbios`` no host address is listed (tools other than Windows)."""
    pac = _padata(PA_PAC_REQUEST, ber(0x30, _ctx(0, b"\x01\x01\xff")))  # KERB-PA-PAC-REQUEST include-pac TRUE
    padata = (_padata(PA_ENC_TIMESTAMP, _encrypted(rng, 56, etype=etypes[0])) if preauth else b"") + pac
    body = _req_body(rng, AS_OPTIONS, realm, ("krbtgt", realm), cname=cname, netbios=netbios, etypes=etypes)
    return ber(0x6A, ber(0x30, _ctx(1, ber_int(5)) + _ctx(2, ber_int(10)) + _ctx(3, ber(0x30, padata))
                         + _ctx(4, body)))


def preauth_required(rng: random.Random, realm: str, cname: str, now: float) -> bytes:
    """KRB-ERROR (§5.9.1) KDC_ERR_PREAUTH_REQUIRED, the KDC's answer to an AS-REQ without preauth."""
    # e-data: METHOD-DATA (§5.9.1) offering PA-ETYPE-INFO2 (19, §5.2.7.5) with the AES salt, and encrypted timestamp
    salt = f"{realm}host{cname.rstrip('$').lower()}.{realm.lower()}"
    info = ber(0x30, ber(0x30, _ctx(0, ber_int(AES256)) + _ctx(1, _string(salt))))
    method_data = ber(0x30, _padata(PA_ETYPE_INFO2, info) + _padata(PA_ENC_TIMESTAMP, b""))
    body = (_ctx(0, ber_int(5)) + _ctx(1, ber_int(30)) + _ctx(4, _time(now)) + _ctx(5, ber_int(rng.randint(0, 999999)))
            + _ctx(6, ber_int(KDC_ERR_PREAUTH_REQUIRED)) + _ctx(9, _string(realm))
            + _ctx(10, principal(NT_SRV_INST, "krbtgt", realm)) + _ctx(12, ber(0x04, method_data)))
    return ber(0x7E, ber(0x30, body))


def kdc_rep(rng: random.Random, msg_type: int, realm: str, cname: str, *sname: str, ticket_etype: int = AES256,
            enc_etype: int = AES256) -> bytes:
    """AS-REP (11) or TGS-REP (13) (§5.4.2): the client's name, the ticket (in the service's key of
    ``ticket_etype``), the encrypted part (in the client's key, or the TGT session key, of ``enc_etype``)."""
    body = (_ctx(0, ber_int(5)) + _ctx(1, ber_int(msg_type)) + _ctx(3, _string(realm))
            + _ctx(4, principal(NT_PRINCIPAL, cname)) + _ctx(5, ticket(rng, realm, *sname, etype=ticket_etype))
            + _ctx(6, _encrypted(rng, 300, kvno=2, etype=enc_etype)))
    return ber(0x60 | msg_type, ber(0x30, body))


def krb_error(rng: random.Random, realm: str, cname: str, code: int, now: float) -> bytes:
    """KRB-ERROR (§5.9.1) ``code`` for an AS request of ``cname``, naming the client as Windows' KDC does
    (KDC_ERR_PREAUTH_FAILED, KDC_ERR_C_PRINCIPAL_UNKNOWN, ...)."""
    body = (_ctx(0, ber_int(5)) + _ctx(1, ber_int(30)) + _ctx(4, _time(now)) + _ctx(5, ber_int(rng.randint(0, 999999)))
            + _ctx(6, ber_int(code)) + _ctx(7, _string(realm)) + _ctx(8, principal(NT_PRINCIPAL, cname))
            + _ctx(9, _string(realm)) + _ctx(10, principal(NT_SRV_INST, "krbtgt", realm)))
    return ber(0x7E, ber(0x30, body))


def tgs_req(rng: random.Random, realm: str, cname: str, *sname: str, etypes: tuple[int, ...] = WINDOWS_ETYPES) -> bytes:
    """TGS-REQ (§5.4.1, msg-type 12) for ``sname``, the TGT carried in an AP-REQ (§5.5.1) as PA-TGS-REQ."""
    ap_req = ber(0x6E, ber(0x30, _ctx(0, ber_int(5)) + _ctx(1, ber_int(14)) + _ctx(2, ber(0x03, b"\x00" * 5))
                           + _ctx(3, ticket(rng, realm, "krbtgt", realm)) + _ctx(4, _encrypted(rng, 200))))
    body = _req_body(rng, TGS_OPTIONS, realm, sname, cname=None, netbios=None, etypes=etypes)
    return ber(0x6C, ber(0x30, _ctx(1, ber_int(5)) + _ctx(2, ber_int(12))
                         + _ctx(3, ber(0x30, _padata(PA_TGS_REQ, ap_req))) + _ctx(4, body)))


def tcp_record(message: bytes) -> bytes:
    """A Kerberos message over TCP: 4-byte big-endian length first (RFC 4120 §7.2.2)."""
    return struct.pack("!I", len(message)) + message
