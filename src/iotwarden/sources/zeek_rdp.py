"""Zeek's rdp.log -> the Observations dissect/rdp.py makes, so the RDP risk check and detector work from a Zeek
sensor as from packets.

Columns are ``RDP::Info``'s (Zeek scripts/base/protocols/rdp/main.zeek, names from consts.zeek): ``cookie`` (the
``mstshash`` value of the X.224 request), ``result`` ("Success" of the GCC answer, "encrypted" once TLS or
CredSSP began, or an RDP_NEG_FAILURE name such as "HYBRID_REQUIRED_BY_SERVER"), ``security_protocol`` (the
RDP_NEG_RSP selection: RDP, SSL, HYBRID, HYBRID_EX), the Client Core Data's ``client_name``, ``client_build``
(a release name such as "RDP 7.1", from ``RDP::builds``), ``keyboard_layout`` (a language name),
``desktop_width``/``desktop_height``, and the Server Security Data's ``encryption_method``,
``encryption_level``, ``cert_type`` ("RSA": the proprietary certificate; "X.509") and ``cert_permanent``.

One line gives the client's ``connection_request`` (``username`` from the cookie), the server's
``connection_confirm`` (``selected_protocol``, ``nla``, ``nla_required``: the fields ``risk.rdp.no_nla`` reads) or
``negotiation_failure``, the client's ``client_core`` and the server's ``server_security``. A line without
``security_protocol`` whose server sent security data, or whose client's core data Zeek read (the MCS Connect Initial
travels in cleartext only under standard RDP security, [MS-RDPBCGR] §1.3.1.1; after an SSL or HYBRID selection Zeek
hands the connection to its SSL analyzer), is standard RDP security without negotiation (a server before RDP 5.2),
as the dissector reads a confirm without RDP_NEG_RSP. A selection Zeek has no name for is logged
"security_protocol-N" (consts.zeek ``security_protocols`` &default): N is read back to the dissector's name (4
RDSTLS, 16 RDSAAD). Its release and language names stay names (``client_version``, ``keyboard_layout_name``), never
turned back into the numbers packets give.

What rdp.log cannot say: the protocols the client requested. ``rdp_connect_request`` gives Zeek the cookie alone and
``RDP::Info`` has no column for RDP_NEG_REQ's requestedProtocols, so ``requested_protocols`` is left out and
``risk.rdp.no_nla`` reports whether the client offered NLA as unknown. What can be said is said: a server selects
one of the protocols the client requested (§2.2.1.2.1 selectedProtocol, §3.3.5.3.2), so a HYBRID or HYBRID_EX
selection means the client offered it (``client_offered_nla`` True), and HYBRID_REQUIRED_BY_SERVER (§2.2.1.2.2) means
it did not (False); an SSL or RDP selection leaves it open (either a client that offered only those, or a server
that does not do NLA and chose below the client's offer).

The TLS that follows an SSL/HYBRID selection is ssl.log's and x509.log's: sources/zeek.py's join makes its
``certificate``, and for an RDP connection (conn.log service ``rdp``, an rdp.log line of the same uid, or the
server's port 3389) :func:`server_certificate` adds the ``server_certificate`` the dissector makes, whose CN names
the computer (Windows' self-signed RDP certificate). Only RDP: a web server's CN names a site, not a host.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.rdp import FAILURES, NLA_PROTOCOLS, PORT, PROTOCOL_RDP, certificate_fields, selected_name
from iotwarden.model import Observation
from iotwarden.sources.zeek_fields import ConnId, drop_none, get_bool, get_int, get_str

FAILURE_CODES = {name: code for code, name in FAILURES.items()}
CERT_TYPES = {"RSA": "proprietary", "X.509": "x509"}  # RDP::cert_types -> dissect/rdpmcs.py CERT_TYPES
UNNAMED_PROTOCOL = "security_protocol-"  # consts.zeek's name of a selectedProtocol it has no name for
CORE_COLUMNS = ("client_build", "client_name", "keyboard_layout", "client_dig_product_id", "requested_color_depth",
                "client_channels")  # from the Client Core and Network Data (rdp_client_core_data, _network_data)


def protocol_name(zeek: str) -> str:
    """The dissector's name (dissect/rdp.py selected_name) of a ``security_protocol`` value."""
    if zeek.lower().startswith(UNNAMED_PROTOCOL):
        number = zeek[len(UNNAMED_PROTOCOL):]
        if number.isdigit() and len(number) < 11:
            return selected_name(int(number))
    return zeek.upper()


def _name(value: str | None) -> str | None:
    """A consts.zeek name in the dissector's spelling: "Client compatible" -> "client_compatible"."""
    return value.strip().lower().replace(" ", "_") if value else None


def map_rdp(rec: dict[str, Any]) -> list[Observation]:
    """rdp.log -> the client's and the server's RDP Observations (module docstring)."""
    cid = ConnId.addressed(rec, 6)
    out = [cid.forward("rdp", "connection_request", {"username": get_str(rec, "cookie")})]
    result, selected = get_str(rec, "result"), get_str(rec, "security_protocol")
    method, level = _name(get_str(rec, "encryption_method")), _name(get_str(rec, "encryption_level"))
    if result in FAILURE_CODES:
        code = FAILURE_CODES[result]
        hybrid_required = result == FAILURES[5]
        out.append(cid.reverse("rdp", "negotiation_failure", {
            "failure_code": code, "failure": result, "nla_required": True if hybrid_required else None,
            "client_offered_nla": False if hybrid_required else None}))
    elif (selected is not None or method is not None or level is not None
          or any(rec.get(column) not in (None, "", "-") for column in CORE_COLUMNS)):
        name = protocol_name(selected) if selected else PROTOCOL_RDP
        nla = name in NLA_PROTOCOLS
        out.append(cid.reverse("rdp", "connection_confirm", {
            "negotiated": selected is not None, "selected_protocol": name, "nla": nla,
            "nla_required": None if nla else False, "client_offered_nla": True if nla else None}))
    core = {"client_name": get_str(rec, "client_name"), "client_version": get_str(rec, "client_build"),
            "keyboard_layout_name": get_str(rec, "keyboard_layout"),
            "desktop_width": get_int(rec, "desktop_width"), "desktop_height": get_int(rec, "desktop_height")}
    if any(v is not None for v in core.values()):
        out.append(cid.forward("rdp", "client_core", core))
    cert_type = get_str(rec, "cert_type")
    security = {"encryption_method": method, "encryption_level": level,
                "cert_type": CERT_TYPES.get(cert_type, cert_type) if cert_type else None,
                "cert_permanent": get_bool(rec, "cert_permanent") if cert_type else None}
    if any(v is not None for v in security.values()):
        out.append(cid.reverse("rdp", "server_security", security))
    return out


def server_certificate(cert: Observation, *, rdp: bool) -> Observation | None:
    """The RDP server's ``server_certificate`` beside the joined TLS ``certificate`` of its chain (module docstring):
    when the connection is known RDP (``rdp``: conn.log or rdp.log said so) or its server port is RDP's; else None."""
    if cert.src_ip is None or not (rdp or (cert.ip_proto == 6 and cert.src_port == PORT)):
        return None
    return Observation(ts=cert.ts, proto="rdp", kind="server_certificate", src_ip=cert.src_ip, dst_ip=cert.dst_ip,
                       src_port=cert.src_port, dst_port=cert.dst_port, ip_proto=cert.ip_proto,
                       fields=drop_none(certificate_fields(cert.fields.get("certs"))))
