"""DHCP, ARP, DNS/mDNS, SSDP, NTP and SNMP payloads decode with dpkt as the RFCs lay them out."""

from __future__ import annotations

import dpkt

from iotwarden.lab import proto_net


def test_dhcp_message_has_header_cookie_options_and_bootp_size() -> None:
    msg = proto_net.dhcp_message(1, 0x1234, "ac:cc:8e:00:00:01", [(53, b"\x01"), (60, b"MSFT 5.0")])
    assert len(msg) == 300
    dhcp = dpkt.dhcp.DHCP(msg)
    assert dhcp.xid == 0x1234 and dhcp.chaddr == bytes.fromhex("accc8e000001")
    assert dict(dhcp.opts) == {53: b"\x01", 60: b"MSFT 5.0"}


def test_arp_request_layout() -> None:
    arp = dpkt.arp.ARP(proto_net.arp(1, "00:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2"))
    assert (arp.op, arp.spa, arp.tpa) == (1, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))


def test_mdns_announcement_has_ptr_srv_txt_and_address() -> None:
    raw = proto_net.mdns_announcement("Cam 1", "_axis-video._tcp", "axis-1", "10.0.0.9", port=80,
                                      txt={"macaddress": "ACCC8E000001"})
    dns = dpkt.dns.DNS(raw)
    assert dns.qr == dpkt.dns.DNS_R and dns.aa
    types = [rr.type for rr in dns.an] + [rr.type for rr in dns.ar]
    assert types == [dpkt.dns.DNS_PTR, dpkt.dns.DNS_SRV, dpkt.dns.DNS_TXT, dpkt.dns.DNS_PTR, dpkt.dns.DNS_A]
    assert dns.an[0].ptrname == "Cam 1._axis-video._tcp.local"
    assert dns.an[1].port == 80 and dns.an[1].srvname == "axis-1.local"
    assert dns.an[2].text == ["macaddress=ACCC8E000001"]


def test_dns_query_and_answer() -> None:
    q = dpkt.dns.DNS(proto_net.dns_message(7, 0x0100, [("example.com", 1, 1)]))
    assert q.id == 7 and q.qd[0].name == "example.com"


def test_ssdp_notify_is_an_http_request_line_with_server() -> None:
    raw = proto_net.ssdp_notify("http://10.0.0.9:80/d.xml", "Linux UPnP/1.0 Sonos/70", "upnp:rootdevice", "uuid:x")
    req = dpkt.http.Request(raw)
    assert req.method == "NOTIFY" and req.headers["server"] == "Linux UPnP/1.0 Sonos/70"


def test_ntp_client_and_server_modes() -> None:
    client = dpkt.ntp.NTP(proto_net.ntp_packet(3, 1_700_000_000.5))
    server = dpkt.ntp.NTP(proto_net.ntp_packet(4, 1_700_000_000.6, stratum=2, origin=1_700_000_000.5))
    assert (client.v, client.mode, server.mode, server.stratum) == (4, 3, 4, 2)
    assert client.transmit_time == server.originate_time


def test_snmp_ber_encoding_of_get_request() -> None:
    raw = proto_net.snmp_message(proto_net.SNMP_GET, "public", 300, [("1.3.6.1.2.1.1.1.0", None)])
    # SEQUENCE { INTEGER 0, OCTET STRING "public", GetRequest { INTEGER 300, 0, 0, varbinds } }
    assert raw[:2] == bytes([0x30, len(raw) - 2])
    assert raw[2:13] == b"\x02\x01\x00\x04\x06public"
    assert raw[13] == 0xA0 and b"\x02\x02\x01\x2c" in raw
    assert proto_net.ber_oid("1.3.6.1.2.1.1.1.0") == bytes.fromhex("06082b06010201010100")
    assert proto_net.ber(0x04, b"x" * 200)[:3] == b"\x04\x81\xc8"


def test_dhip_header_counts_the_body_twice() -> None:
    msg = proto_net.dhip_message({"method": "DHDiscover.search"})
    assert msg[:8] == b"\x20\x00\x00\x00DHIP" and msg[16:20] == msg[24:28] == (len(msg) - 32).to_bytes(4, "little")
    assert msg[32:].endswith(b"\r\n")
