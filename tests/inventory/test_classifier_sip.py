"""SIP evidence end to end (engine -> inventory -> classifier): a phone that registers is named by its own
User-Agent (vendor, type, model, firmware), its PBX by its Server header; a softphone, a scanner and a proxy
forwarding a phone's request are not made phones."""

from __future__ import annotations

from pathlib import Path

from iotwarden.lab.wire import Frame, Host
from tests.risk.harness import T0, classified_by_ip, host, udp, write_pcap

PBX_SERVER = "Asterisk PBX 18.10.0~dfsg+~cs6.10.40431411-2"


def _register(phone: Host, pbx: Host, user_agent: str, *, t: float = T0, vias: str = "") -> list[Frame]:
    """REGISTER, the registrar's 401 Digest challenge, REGISTER with credentials, 200 (RFC 3665 §2.1), over UDP 5060."""
    via = vias or f"Via: SIP/2.0/UDP {phone.ip}:5060;branch=z9hG4bK{int(t)}\r\n"

    def request(cseq: int, extra: str = "") -> bytes:
        return (f"REGISTER sip:{pbx.ip} SIP/2.0\r\n{via}Max-Forwards: 70\r\n"
                f"From: <sip:1001@{pbx.ip}>;tag=a{cseq}\r\nTo: <sip:1001@{pbx.ip}>\r\nCall-ID: reg-{int(t)}\r\n"
                f"CSeq: {cseq} REGISTER\r\nContact: <sip:1001@{phone.ip}:5060>\r\n{extra}User-Agent: {user_agent}\r\n"
                f"Expires: 3600\r\nContent-Length: 0\r\n\r\n").encode()

    def response(cseq: int, status: str, extra: str = "") -> bytes:
        return (f"SIP/2.0 {status}\r\n{via}From: <sip:1001@{pbx.ip}>;tag=a{cseq}\r\n"
                f"To: <sip:1001@{pbx.ip}>;tag=z{cseq}\r\nCall-ID: reg-{int(t)}\r\nCSeq: {cseq} REGISTER\r\n{extra}"
                f"Server: {PBX_SERVER}\r\nContent-Length: 0\r\n\r\n").encode()

    auth = ('Authorization: Digest username="1001", realm="asterisk", nonce="1709542800/5d41", '
            'uri="sip:x", response="0cc175b9c0f1b6a831c399e269772661", algorithm=MD5\r\n')
    return [*udp(phone, pbx, 5060, 5060, request(1), t=t),
            *udp(pbx, phone, 5060, 5060, response(1, "401 Unauthorized",
                 'WWW-Authenticate: Digest realm="asterisk", nonce="1709542800/5d41", algorithm=md5, qop="auth"\r\n'),
                 t=t + 0.01),
            *udp(phone, pbx, 5060, 5060, request(2, auth), t=t + 0.02),
            *udp(pbx, phone, 5060, 5060, response(2, "200 OK", f"Contact: <sip:1001@{phone.ip}:5060>;expires=3600\r\n"),
                 t=t + 0.03)]


def test_a_registering_desk_phone_and_its_pbx(tmp_path: Path) -> None:
    yealink, polycom, pbx = host(21), host(22), host(2)  # locally administered MACs: no registry vendor
    frames = _register(yealink, pbx, "Yealink SIP-T54W 96.86.0.70")
    frames += _register(polycom, pbx, "PolycomVVX-VVX_450-UA/6.4.3.5018", t=T0 + 5)
    devices = classified_by_ip(write_pcap(tmp_path / "register.pcap", frames))
    phone = devices[yealink.ip].classification
    assert devices[yealink.ip].attributes["sip.user_agent"] == {"Yealink SIP-T54W 96.86.0.70"}
    assert (phone["vendor"].value, phone["device_type"].value, phone["model"].value, phone["firmware"].value) == (
        "Yealink", "voip_phone", "T54W", "96.86.0.70")
    assert {e["rule_id"] for e in phone["device_type"].evidence} == {"sip.ua.yealink"}
    vvx = devices[polycom.ip].classification
    assert (vvx["vendor"].value, vvx["device_type"].value, vvx["model"].value, vvx["firmware"].value) == (
        "Polycom", "voip_phone", "VVX 450", "6.4.3.5018")
    server = devices[pbx.ip]
    assert server.attributes["sip.server"] == {PBX_SERVER} and server.attributes["sip.auth_realm"] == {"asterisk"}
    assert server.classification["device_type"].value == "server"
    assert "sip.user_agent" not in server.attributes  # the phones' User-Agents describe the phones only


def test_a_softphone_a_scanner_and_a_forwarding_proxy_are_no_phones(tmp_path: Path) -> None:
    pc, scanner, proxy, pbx = host(31), host(32), host(33), host(2)
    frames = _register(pc, pbx, "MicroSIP/3.21.5")
    frames += _register(scanner, pbx, "friendly-scanner", t=T0 + 5)
    # a proxy relays a Yealink's REGISTER: two Vias, the phone's User-Agent is not the proxy's own (RFC 3261 §16.6)
    relayed = (f"Via: SIP/2.0/UDP {proxy.ip}:5060;branch=z9hG4bKp1\r\n"
               f"Via: SIP/2.0/UDP 10.9.1.50:5060;branch=z9hG4bKa1;received=10.9.1.50\r\n")
    frames += _register(proxy, pbx, "Yealink SIP-T46S 66.86.0.15", t=T0 + 10, vias=relayed)
    devices = classified_by_ip(write_pcap(tmp_path / "others.pcap", frames))
    assert devices[pc.ip].attributes["sip.user_agent"] == {"MicroSIP/3.21.5"}
    assert devices[scanner.ip].attributes["sip.user_agent"] == {"friendly-scanner"}
    for ip in (pc.ip, scanner.ip, proxy.ip):
        found = devices[ip].classification.get("device_type")
        assert found is None or found.value != "voip_phone", (ip, found)
        assert "vendor" not in devices[ip].classification or devices[ip].classification["vendor"].value != "Yealink"
    assert "sip.user_agent" not in devices[proxy.ip].attributes
