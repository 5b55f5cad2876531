"""RDP password guessing through a Remote Desktop Gateway ([MS-TSGU]): gateway requests whose credentials the
gateway refused (HTTP 401 with no next handshake leg) count as RDP guesses, from packets (a TLS-terminating sensor
or a plain-HTTP gateway); logons that succeed, NTLM's challenge 401s and Outlook Anywhere's RPC over HTTP do not.

Each session is written as mstsc and FreeRDP (libfreerdp/core/gateway/rdg.c) open the OUT channel ([MS-TSGU] §4.2.1):
RDG_OUT_DATA without credentials (401 offering Negotiate and NTLM), with an NTLM NEGOTIATE_MESSAGE (401 carrying
the CHALLENGE_MESSAGE), with the AUTHENTICATE_MESSAGE (401 again without a token: refused; 200: logged on).
tshark 4.0 reads the written captures' 401s as "HTTP/1.1 401 Unauthorized" with "WWW-Authenticate: Negotiate",
"WWW-Authenticate: NTLM" and, in the second, "NTLMSSP_CHALLENGE (0x00000002)"; the RPC_IN_DATA requests as HTTP
requests for "/rpc/rpcproxy.dll?localhost:3388"; RDG_OUT_DATA is not in its HTTP method list (a TCP segment to it).
"""

from __future__ import annotations

import base64
from pathlib import Path

from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.detect.rdp_bruteforce import RdpBruteForceDetector
from iotwarden.model import Observation
from tests.detect.runner import feed
from tests.risk.harness import T0, host, run_capture, tcp, write_pcap

GUESS, SPRAY = "detect.bruteforce.rdp", "detect.bruteforce.rdp_spray"
CLIENT, GATEWAY = host(66), host(4)
NTLM_NEGOTIATE = base64.b64encode(b"NTLMSSP\x00\x01\x00\x00\x00" + bytes(24)).decode()
NTLM_CHALLENGE = base64.b64encode(b"NTLMSSP\x00\x02\x00\x00\x00" + bytes(40)).decode()
NTLM_AUTHENTICATE = base64.b64encode(b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(80)).decode()


def _request(method: str, uri: str, auth: str | None) -> bytes:
    lines = [f"{method} {uri} HTTP/1.1", "Host: gw.corp.example", "Cache-Control: no-cache",
             "RDG-Connection-Id: {958F92D8-DA20-467A-BBE3-65E7E9B4EDCF}", "Content-Length: 0"]
    if auth:
        lines.append(f"Authorization: {auth}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _response(status: int, reason: str, www: list[str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", "Server: Microsoft-HTTPAPI/2.0", "Content-Length: 0",
             *[f"WWW-Authenticate: {w}" for w in www]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _ntlm_logon(method: str, uri: str, *, accepted: bool) -> list[tuple[bool, bytes]]:
    return [(True, _request(method, uri, None)), (False, _response(401, "Unauthorized", ["Negotiate", "NTLM"])),
            (True, _request(method, uri, f"NTLM {NTLM_NEGOTIATE}")),
            (False, _response(401, "Unauthorized", [f"NTLM {NTLM_CHALLENGE}"])),
            (True, _request(method, uri, f"NTLM {NTLM_AUTHENTICATE}")),
            (False, _response(200, "OK", []) if accepted else _response(401, "Unauthorized", ["Negotiate", "NTLM"]))]


def _capture(path: Path, sessions: int, *, method: str = "RDG_OUT_DATA", uri: str = "/remoteDesktopGateway/",
             accepted: bool = False, port: int = 80) -> Path:
    frames = []
    for i in range(sessions):
        frames += tcp(CLIENT, GATEWAY, port, _ntlm_logon(method, uri, accepted=accepted), t=T0 + 20 * i, seed=i,
                      cport=50000 + i)
    return write_pcap(path, frames)


def _alerts(path: Path) -> list[tuple[str, str | None, str | None, object, object]]:
    ctx = run_capture(path, [RdpBruteForceDetector(), AlertPipeline()])
    return [(a.id, a.src_ip, a.dst_ip, a.evidence.get("via"), a.evidence.get("tries")) for a in ctx.alerts]


def test_refused_ntlm_logons_through_the_gateway_are_rdp_guessing(tmp_path: Path) -> None:
    ctx = run_capture(_capture(tmp_path / "g.pcap", 12), [RdpBruteForceDetector(), AlertPipeline()])
    (alert,) = ctx.alerts
    assert (alert.id, alert.src_ip, alert.dst_ip) == (GUESS, CLIENT.ip, GATEWAY.ip)
    assert alert.evidence | {"window_s": 0} == {
        "service": "rdp", "tries": 10, "window_s": 0, "basis": "credentials an RD Gateway refused (HTTP 401)",
        "via": "rd_gateway", "transport": "http", "gateway_host": "gw.corp.example",
        "gateway_server": "Microsoft-HTTPAPI/2.0", "method": "RDG_OUT_DATA"}


def test_through_a_tls_terminating_sensor_on_443_and_over_the_legacy_rpc_transport(tmp_path: Path) -> None:
    # cleartext on 443: the TLS dissector refuses it, the HTTP probe takes the gateway's custom method
    assert _alerts(_capture(tmp_path / "g443.pcap", 10, port=443)) == [
        (GUESS, CLIENT.ip, GATEWAY.ip, "rd_gateway", 10)]
    rpc = _capture(tmp_path / "rpc.pcap", 10, method="RPC_IN_DATA", uri="/rpc/rpcproxy.dll?localhost:3388")
    assert _alerts(rpc) == [(GUESS, CLIENT.ip, GATEWAY.ip, "rd_gateway", 10)]


def test_successful_logons_are_not_guesses(tmp_path: Path) -> None:
    # each logon also passes through two 401s (the opening challenge, NTLM's CHALLENGE_MESSAGE): neither counts
    assert _alerts(_capture(tmp_path / "ok.pcap", 15, accepted=True)) == []


def test_outlook_anywheres_rpc_over_http_is_no_gateway(tmp_path: Path) -> None:
    # the same refused NTLM logons, but to Exchange's RPC over HTTP endpoint (port 6001 in the target): a mail
    # client's password problem, not an RDP guess
    assert _alerts(_capture(tmp_path / "oa.pcap", 12, method="RPC_IN_DATA",
                            uri="/rpc/rpcproxy.dll?mail.corp.example:6001")) == []


def _basic_try(i: int, user: str) -> list[Observation]:
    common = {"src_port": 50000 + i, "dst_port": 443, "ip_proto": 6, "proto": "http"}
    request = Observation(ts=100.0 + i, kind="request", src_ip=CLIENT.ip, dst_ip=GATEWAY.ip, **common, fields={
        "method": "GET", "uri": "/remoteDesktopGateway/", "host": "gw.corp.example", "rdp_gateway": "websocket",
        "authorization_scheme": "Basic", "basic_user": user})
    response = Observation(ts=100.1 + i, kind="response", src_ip=GATEWAY.ip, dst_ip=CLIENT.ip,
                           **common | {"src_port": 443, "dst_port": 50000 + i},
                           fields={"status": 401, "www_authenticate": 'Basic realm="gw.corp.example"'})
    return [request, response]


def test_basic_user_ids_sprayed_through_the_websocket_transport() -> None:
    obs = [o for i, user in enumerate(["alice", "bob", "carol", "dave", "erin"]) for o in _basic_try(i, user)]
    alerts = feed([RdpBruteForceDetector()], observations=obs)
    assert [(a.id, a.evidence["user_count"]) for a in alerts] == [(SPRAY, 5)]


def test_a_401_without_its_request_seen_counts_nothing() -> None:
    obs = [o for i in range(12) for o in _basic_try(i, "alice")[1:]]
    assert feed([RdpBruteForceDetector()], observations=obs) == []


def test_answers_pair_with_their_requests_when_other_requests_share_the_connection() -> None:
    # on one keep-alive connection: a gateway request answered 200, an ordinary GET of a page that wants a logon
    # (answered 401), a second gateway request answered 200 (RFC 9112 §9.3.2: answers come in request order); the
    # page's 401 is not the second gateway request's answer
    obs = []
    for i in range(10):
        common = {"src_port": 50000 + i, "dst_port": 443, "ip_proto": 6, "proto": "http"}
        back = common | {"src_port": 443, "dst_port": 50000 + i}
        first, refused = _basic_try(i, "alice")
        ok = {"status": 200}
        page = {"method": "GET", "uri": "/RDWeb/Pages/en-US/Default.aspx", "host": "gw.corp.example"}
        obs += [first, Observation(ts=first.ts, kind="response", src_ip=GATEWAY.ip, dst_ip=CLIENT.ip, **back,
                                   fields=ok),
                Observation(ts=first.ts + 0.2, kind="request", src_ip=CLIENT.ip, dst_ip=GATEWAY.ip, **common,
                            fields=page),
                Observation(ts=first.ts + 0.3, kind="request", src_ip=CLIENT.ip, dst_ip=GATEWAY.ip, **common,
                            fields=first.fields),
                Observation(ts=first.ts + 0.4, kind="response", src_ip=GATEWAY.ip, dst_ip=CLIENT.ip, **back,
                            fields=refused.fields),
                Observation(ts=first.ts + 0.5, kind="response", src_ip=GATEWAY.ip, dst_ip=CLIENT.ip, **back,
                            fields=ok)]
    assert feed([RdpBruteForceDetector()], observations=obs) == []
