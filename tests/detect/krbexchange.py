"""Test helper: Kerberos exchanges as the dissector reads them, each message built to RFC 4120 by the lab's
builders (lab/proto_dir.py) and dissected, one client port per exchange as Windows and the tools use them."""

from __future__ import annotations

import random
from typing import Any

from iotwarden.dissect.base import Packet
from iotwarden.dissect.kerberos import KerberosDissector
from iotwarden.lab import proto_dir
from iotwarden.model import Observation

REALM = "CORP.EXAMPLE"
KDC = "10.20.0.10"
RNG = random.Random(88)


def exchange(ts: float, client: tuple[str, str], port: int, request: bytes, answer: bytes) -> list[Observation]:
    """The dissector's Observations of one exchange over UDP (one flow: request, answer, and the login_attempt)."""
    ip, mac = client
    dissector, state = KerberosDissector(), dict[str, Any]()
    up = Packet(ts=ts, payload=request, src_mac=mac, src_ip=ip, dst_ip=KDC, ip_proto=17, src_port=port, dst_port=88,
                to_server=True)
    down = Packet(ts=ts + 0.002, payload=answer, dst_mac=mac, src_ip=KDC, dst_ip=ip, ip_proto=17, src_port=88,
                  dst_port=port, to_server=False)
    return dissector.dissect(up, state) + dissector.dissect(down, state)


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
