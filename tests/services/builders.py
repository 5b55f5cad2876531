"""Test helper: small, valid captures and Zeek logs written on the fly (dpkt), for the store/CLI tests.

The network: a camera (HOST) gets 10.0.0.20 by DHCP from the router (10.0.0.1, which ARPs), and
talks HTTP to a web server on the internet through the router; a printer announces itself over mDNS.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path

import dpkt

CAMERA_MAC = "00:40:8c:12:34:56"
ROUTER_MAC = "00:0d:b9:4a:10:01"
PRINTER_MAC = "3c:2a:f4:00:00:01"
CAMERA_IP, ROUTER_IP, PRINTER_IP, WEB_IP = "10.0.0.20", "10.0.0.1", "10.0.0.30", "93.184.216.34"
BROADCAST = "ff:ff:ff:ff:ff:ff"
UNSPECIFIED = "0.0.0.0"  # noqa: S104 - a DHCP client's source address (RFC 2131 §4.1), not a bind

Frame = tuple[float, bytes]
Ends = tuple[str, str, str, str, int, int]  # src mac, dst mac, src ip, dst ip, src port, dst port


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def ipv4(text: str) -> bytes:
    return socket.inet_aton(text)


def ether(src: str, dst: str, payload: dpkt.Packet, ethertype: int = dpkt.ethernet.ETH_TYPE_IP) -> bytes:
    return bytes(dpkt.ethernet.Ethernet(src=mac(src), dst=mac(dst), type=ethertype, data=payload))


def udp(ends: Ends, data: bytes) -> bytes:
    src_mac, dst_mac, src, dst, sport, dport = ends
    seg = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    seg.ulen = len(seg)
    pkt = dpkt.ip.IP(src=ipv4(src), dst=ipv4(dst), p=dpkt.ip.IP_PROTO_UDP, ttl=64, data=seg)
    return ether(src_mac, dst_mac, pkt)


def tcp(ends: Ends, flags: int, seq: int, ack: int, data: bytes = b"") -> bytes:
    src_mac, dst_mac, src, dst, sport, dport = ends
    seg = dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, win=65535, data=data)
    pkt = dpkt.ip.IP(src=ipv4(src), dst=ipv4(dst), p=dpkt.ip.IP_PROTO_TCP, ttl=64, data=seg)
    return ether(src_mac, dst_mac, pkt)


def dhcp(msg_type: int, *, yiaddr: str = UNSPECIFIED, opts: Iterable[tuple[int, bytes]] = ()) -> bytes:
    client = mac(CAMERA_MAC)
    msg = dpkt.dhcp.DHCP(op=dpkt.dhcp.DHCP_OP_REQUEST if msg_type in (1, 3) else dpkt.dhcp.DHCP_OP_REPLY,
                         xid=0x1234, chaddr=client, yiaddr=int.from_bytes(ipv4(yiaddr), "big"),
                         opts=[(dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([msg_type])), *opts])
    return bytes(msg)


def arp_reply(ts: float) -> Frame:
    arp = dpkt.arp.ARP(op=dpkt.arp.ARP_OP_REPLY, sha=mac(ROUTER_MAC), spa=ipv4(ROUTER_IP), tha=mac(CAMERA_MAC),
                       tpa=ipv4(CAMERA_IP))
    return ts, ether(ROUTER_MAC, CAMERA_MAC, arp, dpkt.ethernet.ETH_TYPE_ARP)


def dhcp_exchange(ts: float, hostname: bytes = b"axis-cam-01") -> list[Frame]:
    request = dhcp(3, opts=[(12, hostname), (60, b"AXIS,Network Camera,M3045-V"), (55, bytes([1, 3, 6, 15, 42])),
                            (50, ipv4(CAMERA_IP))])
    ack = dhcp(5, yiaddr=CAMERA_IP, opts=[(54, ipv4(ROUTER_IP)), (51, (3600).to_bytes(4, "big")),
                                          (1, ipv4("255.255.255.0")), (3, ipv4(ROUTER_IP))])
    return [
        (ts, udp((CAMERA_MAC, BROADCAST, UNSPECIFIED, "255.255.255.255", 68, 67), request)),
        (ts + 0.01, udp((ROUTER_MAC, CAMERA_MAC, ROUTER_IP, CAMERA_IP, 67, 68), ack)),
    ]


def http_session(ts: float, sport: int = 49152, user_agent: str = "AXIS/10.12 libcurl") -> list[Frame]:
    """A complete TCP connection: handshake, GET, 200 response, FIN both ways."""
    req = f"GET /firmware/check HTTP/1.1\r\nHost: update.example.com\r\nUser-Agent: {user_agent}\r\n\r\n".encode()
    body = b"ok"
    resp = b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Length: 2\r\n\r\n" + body
    c, s = 1000, 5000
    a: Ends = (CAMERA_MAC, ROUTER_MAC, CAMERA_IP, WEB_IP, sport, 80)
    b: Ends = (ROUTER_MAC, CAMERA_MAC, WEB_IP, CAMERA_IP, 80, sport)
    syn, ack_, psh, fin = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN
    return [
        (ts, tcp(a, syn, c, 0)),
        (ts + 0.01, tcp(b, syn | ack_, s, c + 1)),
        (ts + 0.02, tcp(a, ack_, c + 1, s + 1)),
        (ts + 0.03, tcp(a, psh | ack_, c + 1, s + 1, req)),
        (ts + 0.05, tcp(b, psh | ack_, s + 1, c + 1 + len(req), resp)),
        (ts + 0.06, tcp(a, fin | ack_, c + 1 + len(req), s + 1 + len(resp))),
        (ts + 0.07, tcp(b, fin | ack_, s + 1 + len(resp), c + 2 + len(req))),
        (ts + 0.08, tcp(a, ack_, c + 2 + len(req), s + 2 + len(resp))),
    ]


def mdns_announcement(ts: float) -> Frame:
    msg = dpkt.dns.DNS(id=0)
    msg.qr, msg.aa = dpkt.dns.DNS_R, 1  # an unsolicited authoritative response (RFC 6762 §8.3)
    a = dpkt.dns.DNS.RR(name="hp-office.local", type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN, ttl=120,
                        rdata=ipv4(PRINTER_IP))
    a.ip = ipv4(PRINTER_IP)
    ptr = dpkt.dns.DNS.RR(name="_ipp._tcp.local", type=dpkt.dns.DNS_PTR, cls=dpkt.dns.DNS_IN, ttl=4500)
    ptr.ptrname = "HP Office._ipp._tcp.local"
    msg.an = [ptr, a]
    return ts, udp((PRINTER_MAC, "01:00:5e:00:00:fb", PRINTER_IP, "224.0.0.251", 5353, 5353), bytes(msg))


def write_pcap(path: Path, frames: Iterable[Frame]) -> Path:
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh, linktype=dpkt.pcap.DLT_EN10MB)
        for ts, frame in sorted(frames, key=lambda f: f[0]):
            writer.writepkt(frame, ts=ts)
    return path


def camera_capture(path: Path, start: float = 1_700_000_000.0) -> Path:
    """The camera's DHCP lease, the router's ARP reply and one HTTP session."""
    return write_pcap(path, [*dhcp_exchange(start), arp_reply(start + 0.5), *http_session(start + 1.0)])


def second_capture(path: Path, start: float = 1_700_003_600.0) -> Path:
    """An hour later: the camera renews and checks again (new user agent); the printer announces itself."""
    return write_pcap(path, [*dhcp_exchange(start), *http_session(start + 1.0, sport=49200,
                                                                   user_agent="AXIS/10.13 libcurl"),
                             mdns_announcement(start + 2.0)])


ZEEK_CONN_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t"
    "resp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\t"
    "resp_ip_bytes\ttunnel_parents\torig_l2_addr\tresp_l2_addr\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\t"
    "count\tstring\tcount\tcount\tcount\tcount\tset[string]\tstring\tstring\n"
)


def zeek_conn_log(path: Path, flows: int, start: float = 1_700_000_000.0) -> Path:
    """A Zeek conn.log (TSV) of ``flows`` HTTP connections from 250 hosts to the web server."""
    with path.open("w") as fh:
        fh.write(ZEEK_CONN_HEADER)
        for i in range(flows):
            host = f"10.1.{i // 250 % 250}.{i % 250 + 1}"
            hmac = f"02:00:00:00:{i // 250 % 250:02x}:{i % 250 + 1:02x}"
            fh.write(f"{start + i * 0.001:.6f}\tC{i:017d}\t{host}\t{40000 + i % 20000}\t{WEB_IP}\t80\ttcp\thttp\t"
                     f"0.5\t100\t200\tSF\tT\tF\t0\tShADadFf\t5\t400\t4\t500\t(empty)\t{hmac}\t{ROUTER_MAC}\n")
        fh.write("#close\t2023-11-14-23-00-00\n")
    return path
