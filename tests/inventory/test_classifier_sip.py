"""SIP evidence end to end (engine -> inventory -> classifier): a phone that registers is named by its own
User-Agent (vendor, type, model, firmware), its PBX by its Server header; a softphone, a scanner and a proxy
forwarding a phone's request are not made phones."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.kb import KnowledgeBase
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


@pytest.mark.parametrize(("value", "rule", "expected"), [
    ("Yealink SIP-T46S 66.86.0.15", "sip.ua.yealink", {"vendor": "Yealink", "model": "T46S", "firmware": "66.86.0.15"}),
    ("VP59 91.283.0.35", "sip.ua.yealink_vp", {"vendor": "Yealink", "model": "VP59"}),
    ("Polycom/5.5.0.23866 PolycomVVX-VVX_501-UA/5.5.0.23866", "sip.ua.polycom_vvx", {"model": "VVX 501"}),
    ("PolycomSoundPointIP-SPIP_670-UA/4.0.7.2514", "sip.ua.polycom_soundpoint", {"model": "SoundPoint IP 670"}),
    ("PolycomSoundStationIP-SSIP_7000-UA/4.0.8.1608", "sip.ua.polycom_soundstation",
     {"model": "SoundStation IP 7000"}),
    ("PolycomRealPresenceTrio-Trio_8800-UA/5.4.0.12197", "sip.ua.polycom_trio", {"model": "RealPresence Trio 8800"}),
    ("snom720/10.1.54.13", "sip.ua.snom", {"vendor": "Snom", "model": "720", "firmware": "10.1.54.13"}),
    ("Grandstream IP200 1.1.6.16", "sip.ua.grandstream_ip", {"model": "IP200"}),
    ("Mitel-5320-SIP-Phone 06.05.00.11 010203040506", "sip.ua.mitel", {"vendor": "Mitel", "model": "5320"}),
    ("Cisco-CP8845/14.1.1", "sip.ua.cisco_cp", {"vendor": "Cisco", "model": "CP-8845", "firmware": "14.1.1"}),
    ("Cisco-CP7960G/8.0", "sip.ua.cisco_cp", {"model": "CP-7960G"}),
    ("Cisco/SPA504G-7.5.2", "sip.ua.cisco_spa_phone", {"model": "SPA504G", "device_type": "voip_phone"}),
    ("Cisco/SPA112-1.4.1SR1(002)d-hisec", "sip.ua.cisco_spa_ata", {"model": "SPA112", "device_type": "voip_gateway"}),
    ("Cisco/SPA232D-1.4.1(002_282)", "sip.ua.cisco_spa_ata", {"model": "SPA232D", "device_type": "voip_gateway"}),
    ("Linksys/SPA8000-6.1.12", "sip.ua.linksys_spa8000", {"vendor": "Linksys", "device_type": "voip_gateway"}),
    # read first by the model rule (rules/enterprise.yaml), which says the kind too
    ("Polycom HDX 7000 HD (Release - 3.0.2.1-17007)", "sip.ua.polycom_hdx_model",
     {"device_type": "video_conferencing", "model": "HDX 7000", "firmware": "3.0.2.1-17007"}),
    ("TANDBERG/4130 (X8.2.1)", "sip.server.tandberg", {"device_type": "video_conferencing"}),
    ("AVM FRITZ!Box 7312 117.05.23 TAL (Jun  1 2012)", "sip.ua.avm_fritzbox",
     {"vendor": "AVM", "device_type": "router"}),
    ("Asterisk PBX 18.10.0~dfsg+~cs6.10.40431411-2", "sip.server.asterisk", {"device_type": "server"}),
    ("FPBX-16.0.40.7(18.20.0)", "sip.server.freepbx", {"device_type": "server"}),
    ("3CXPhoneSystem 18.0.4.965 (965)", "sip.server.3cx", {"device_type": "server"}),
    ("FreeSWITCH-mod_sofia/1.10.9-release~64bit", "sip.server.freeswitch", {"device_type": "server"}),
    ("kamailio (5.6.3 (x86_64/linux))", "sip.server.kamailio_opensips", {"device_type": "server"}),
    ("OpenSIPS (3.1.2 (x86_64/linux))", "sip.server.kamailio_opensips", {"device_type": "server"}),
    ("Cisco-CUCM11.5", "sip.server.cisco_cucm", {"vendor": "Cisco", "device_type": "server"}),
])
def test_each_rule_reads_its_references_example(value: str, rule: str, expected: dict[str, str]) -> None:
    found = KnowledgeBase.load().match("sip.user_agent", value)
    assert found and found[0].rule_id == rule, [m.rule_id for m in found]
    assert expected.items() <= dict(found[0].conclusions).items()


@pytest.mark.parametrize("value", [
    "friendly-scanner", "sipvicious", "sipcli/v1.8", "VaxSIPUserAgent/3.1", "sundayddr", "pplsip", "iWar",
    "sip-scan", "MicroSIP/3.21.5", "Zoiper rev.11137", "X-Lite release 5.8.3", "Linphone Desktop/4.4.10",
    "PJSUA v2.10 Linux-5.15/x86_64/glibc-2.35", "baresip v1.0.0 (x86_64/linux)",
])
def test_scanners_and_softphones_type_nothing(value: str) -> None:
    assert KnowledgeBase.load().match("sip.user_agent", value) == []
