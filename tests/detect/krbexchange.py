"""Test helper: Kerberos exchanges as the dissector reads them, each message built to RFC 4120 by the lab's
builders (lab/proto_dir.py) and dissected, one client port per exchange as Windows and the tools use them."""

from __future__ import annotations

import random

from iotwarden.dissect.kerberos import parse_message
from iotwarden.lab import proto_dir
from iotwarden.model import Observation

REALM = "CORP.EXAMPLE"
KDC = "10.20.0.10"
RNG = random.Random(88)


def _obs(ts: float, message: bytes, client: tuple[str, str], port: int, *, to_kdc: bool) -> Observation:
    kind, fields = parse_message(message)
    ip, mac = client
    if to_kdc:
        return Observation(ts=ts, proto="kerberos", kind=kind, src_ip=ip, dst_ip=KDC, src_port=port, dst_port=88,
                           src_mac=mac, fields=fields)
    return Observation(ts=ts, proto="kerberos", kind=kind, src_ip=KDC, dst_ip=ip, src_port=88, dst_port=port,
                       dst_mac=mac, fields=fields)


def exchange(ts: float, client: tuple[str, str], port: int, request: bytes, answer: bytes) -> list[Observation]:
    return [_obs(ts, request, client, port, to_kdc=True), _obs(ts + 0.002, answer, client, port, to_kdc=False)]


def windows_logon(ts: float, client: tuple[str, str], account: str, services: list[str], *,
                  port: int = 50000, rc4_tickets: frozenset[str] = frozenset()) -> list[Observation]:
    """A Windows logon: bare AS-REQ refused for pre-auth (25), again with PA-ENC-TIMESTAMP, its TGT, then a
    service ticket per SPN (AES asked first; RC4 returned for the SPNs in ``rc4_tickets``: service accounts
    without an AES key)."""
    out = exchange(ts, client, port, proto_dir.as_req(RNG, REALM, account, None, preauth=False),
                   proto_dir.preauth_required(RNG, REALM, account, ts))
    out += exchange(ts + 0.01, client, port + 1, proto_dir.as_req(RNG, REALM, account, None, preauth=True),
                    proto_dir.kdc_rep(RNG, 11, REALM, account, "krbtgt", REALM))
    for i, spn in enumerate(services):
        etype = proto_dir.RC4_HMAC if spn in rc4_tickets else proto_dir.AES256
        out += exchange(ts + 0.02 + 0.01 * i, client, port + 2 + i, proto_dir.tgs_req(RNG, REALM, account,
                                                                                       *spn.split("/")),
                        proto_dir.kdc_rep(RNG, 13, REALM, account, *spn.split("/"), ticket_etype=etype))
    return out


def guess(ts: float, client: tuple[str, str], port: int, account: str, code: int = 24) -> list[Observation]:
    """A pre-authenticated AS-REQ refused with ``code`` (24: wrong password; 6: unknown name)."""
    return exchange(ts, client, port, proto_dir.as_req(RNG, REALM, account, None, preauth=True),
                    proto_dir.krb_error(RNG, REALM, account, code, ts))


def asrep(ts: float, client: tuple[str, str], port: int, account: str) -> list[Observation]:
    """An AS-REQ without pre-authentication answered with a TGT (an account that does not require it), RC4 asked."""
    rc4 = (proto_dir.RC4_HMAC,)
    return exchange(ts, client, port, proto_dir.as_req(RNG, REALM, account, None, preauth=False, etypes=rc4),
                    proto_dir.kdc_rep(RNG, 11, REALM, account, "krbtgt", REALM, enc_etype=proto_dir.RC4_HMAC))


def roast(ts: float, client: tuple[str, str], port: int, account: str, spn: str, *,
          etypes: tuple[int, ...] = (proto_dir.RC4_HMAC,)) -> list[Observation]:
    """A TGS-REQ for ``spn`` asking ``etypes`` (RC4 alone, as Rubeus kerberoast does), an RC4 ticket back."""
    ticket_etype = proto_dir.RC4_HMAC if etypes[0] == proto_dir.RC4_HMAC else proto_dir.AES256
    return exchange(ts, client, port, proto_dir.tgs_req(RNG, REALM, account, *spn.split("/"), etypes=etypes),
                    proto_dir.kdc_rep(RNG, 13, REALM, account, *spn.split("/"), ticket_etype=ticket_etype))
