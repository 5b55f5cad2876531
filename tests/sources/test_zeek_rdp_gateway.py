"""Zeek's http.log of a Remote Desktop Gateway seen in cleartext: the request that opens a tunnel is named as the
HTTP dissector names it, so the lateral-movement detector sees RDP through the gateway from a Zeek sensor too; Basic
credentials refused (Zeek logs the user name) count as RDP guesses, NTLM exchanges (Zeek logs neither the
Authorization nor the WWW-Authenticate headers) are never counted."""

from __future__ import annotations

from typing import Any

from iotwarden.detect.lateral import LateralDetector
from iotwarden.detect.rdp_bruteforce import RdpBruteForceDetector
from iotwarden.model import Observation
from iotwarden.sources.zeek_map import map_http
from tests.detect.runner import feed

CLIENT, GATEWAY = "10.0.20.5", "10.0.10.4"


def _line(i: int, *, method: str = "RDG_OUT_DATA", uri: str = "/remoteDesktopGateway/", status: int = 401,
          user: str | None = None) -> dict[str, Any]:
    # HTTP::Info columns (base/protocols/http/main.zeek)
    rec: dict[str, Any] = {"ts": 100.0 + i, "uid": f"Cg{i}", "id.orig_h": CLIENT, "id.orig_p": 50000 + i,
                           "id.resp_h": GATEWAY, "id.resp_p": 443, "trans_depth": 1, "method": method, "uri": uri,
                           "host": "gw.corp.example", "version": "1.1", "status_code": status,
                           "status_msg": "Unauthorized" if status == 401 else "OK"}
    if user:
        rec["username"] = user
    return rec


def _obs(lines: list[dict[str, Any]]) -> list[Observation]:
    return [o for rec in lines for o in map_http(rec)]


def test_the_gateway_request_is_named_from_its_method_and_target() -> None:
    (request, _) = map_http(_line(0))
    assert request.fields["rdp_gateway"] == "http"
    (rpc, _) = map_http(_line(0, method="RPC_IN_DATA", uri="/rpc/rpcproxy.dll?localhost:3388"))
    assert rpc.fields["rdp_gateway"] == "rpc"
    (outlook, _) = map_http(_line(0, method="RPC_IN_DATA", uri="/rpc/rpcproxy.dll?mail.corp.example:6001"))
    assert "rdp_gateway" not in outlook.fields
    (page, _) = map_http(_line(0, method="GET", uri="/RDWeb/", status=200))
    assert "rdp_gateway" not in page.fields


def test_rdp_through_the_gateway_from_a_zeek_sensor() -> None:
    alerts = feed([LateralDetector()], observations=_obs([_line(0, status=200)]))
    assert [(a.id, a.key, a.evidence["via"]) for a in alerts] == [
        ("detect.lateral.admin_protocol", "RDP", "rd_gateway")]


def test_refused_basic_credentials_count_and_ntlm_exchanges_do_not() -> None:
    basic = _obs([_line(i, user="administrator") for i in range(10)])
    assert [a.id for a in feed([RdpBruteForceDetector()], observations=basic)] == ["detect.bruteforce.rdp"]
    # NTLM: every logon passes through 401s whose headers Zeek does not log; none is taken for a refusal
    ntlm = _obs([_line(i) for i in range(30)])
    assert feed([RdpBruteForceDetector()], observations=ntlm) == []
