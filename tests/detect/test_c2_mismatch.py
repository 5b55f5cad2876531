"""Protocol mismatch on a web port: repeated connections whose bytes are not the port's protocol, by the
port's dissector (packets) or Zeek's analyzers (conn.log); no payload seen is never a verdict, and a
documented protocol of its own (OpenVPN, SSH on 443) is no mismatch."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.detect.c2_mismatch import MismatchDetector
from iotwarden.engine.core import Engine
from iotwarden.errors import ConfigError
from iotwarden.model import Flow
from iotwarden.sources.capfile import read_capture
from tests.detect.runner import feed, tcp_flow

C2 = "198.18.7.7"
BOT = "10.0.0.9"


def _conn(ts: float, *, port: int = 443, dst: str = C2, app: str | None = None, failed: str | None = None,
          zeek: bool = False, missed: int | None = 0, payload: tuple[int, int] = (300, 200),
          flags: tuple[int, int] = (0x1B, 0x1B)) -> Flow:
    """A completed connection that carried ``payload``; from Zeek (``zeek``) or from packets."""
    flow = tcp_flow(BOT, dst, port, ts, payload=payload, flags=flags, pkts=(5, 4), app=app)
    if failed:
        flow.extra["failed_services"] = [failed]
    if zeek:
        flow.end_reason = "zeek"
        flow.extra["conn_state"] = "SF"
        if missed is not None:
            flow.extra["missed_bytes"] = missed
    return flow


def _every(minutes: float, count: int, **kw: object) -> list[Flow]:
    return [_conn(i * minutes * 60, **kw) for i in range(count)]  # type: ignore[arg-type]


def test_repeated_non_tls_check_ins_on_443_raise_once() -> None:
    (alert,) = feed([MismatchDetector()], flows=_every(5, 12, failed="tls"))
    assert (alert.id, alert.key, alert.mitre, alert.src_ip, alert.dst_ip) == (
        "detect.c2.protocol_mismatch", f"{C2}:443", ["T1571", "T1095"], BOT, C2)
    assert alert.evidence["carried"] == "not tls" and alert.evidence["expected"] == "tls"


@pytest.mark.parametrize(("case", "kw"), [
    ("Zeek: analyzer removed (failed_service)", {"zeek": True, "failed": "tls"}),
    ("Zeek: no service on 443, every byte seen", {"zeek": True}),
    ("Zeek: plain HTTP recognised on 443", {"zeek": True, "app": "http"}),
    ("packets: telnet recognised on 443", {"app": "telnet"}),
    ("Zeek: no service on 80", {"zeek": True, "port": 80}),
    ("packets: the HTTP dissector rejected 8080", {"port": 8080, "failed": "http"}),
])
def test_mismatch_evidence(case: str, kw: dict[str, object]) -> None:
    assert [a.id for a in feed([MismatchDetector()], flows=_every(5, 3, **kw))] == ["detect.c2.protocol_mismatch"]


@pytest.mark.parametrize(("case", "kw"), [
    ("TLS recognised", {"app": "tls"}),
    ("packets: SSH recognised after TLS rejected the bytes", {"app": "ssh"}),
    ("packets: OpenVPN recognised after TLS rejected the bytes", {"app": "openvpn"}),
    ("Zeek: ssh on 443 (sslh)", {"zeek": True, "app": "ssh"}),
    ("Zeek: ssh on 443, the SSL analyzer removed", {"zeek": True, "app": "ssh", "failed": "tls"}),
    ("Zeek: zeek-spicy-openvpn on 443", {"zeek": True, "app": "spicy_openvpn_tcp_hmac_sha1"}),
    ("Zeek: rdp on 443", {"zeek": True, "app": "rdp"}),
    ("packets: TeamViewer recognised after TLS rejected the bytes", {"app": "teamviewer"}),
    ("packets: no verdict (a capture cut to headers hands the dissector nothing)", {}),
    ("Zeek: bytes missed", {"zeek": True, "missed": 12}),
    ("Zeek: missed_bytes not logged", {"zeek": True, "missed": None}),
    ("Zeek: 8443 has no SSL analyzer by port", {"zeek": True, "port": 8443}),
    ("seen mid-stream (no SYN)", {"failed": "tls", "flags": (0x18, 0x18)}),
    ("one direction only", {"failed": "tls", "payload": (300, 0)}),
    ("not a web port", {"failed": "tls", "port": 9999}),
    ("inside the site", {"failed": "tls", "dst": "10.0.0.1"}),
])
def test_no_verdict_or_no_mismatch(case: str, kw: dict[str, object]) -> None:
    assert feed([MismatchDetector()], flows=_every(5, 10, **kw)) == []


def test_two_connections_or_a_day_apart_are_not_a_channel() -> None:
    assert feed([MismatchDetector()], flows=_every(5, 2, failed="tls")) == []
    assert feed([MismatchDetector()], flows=_every(13 * 60, 3, failed="tls")) == []


def test_a_relay_the_device_also_meets_over_udp_is_a_p2p_login() -> None:
    udp = Flow(0, 17, BOT, 21943, C2, 32100, 0.0, 0.05, pkts_ab=1, pkts_ba=1, payload_ab=48, payload_ba=12)
    assert feed([MismatchDetector()], flows=[udp, *_every(30, 6, failed="tls")]) == []


def test_tracked_series_and_udp_peers_are_limited() -> None:
    det = MismatchDetector({"max_series": 3, "max_udp_peers": 2})
    flows = [_conn(float(i), dst=f"198.18.0.{i}", failed="tls") for i in range(10)]
    flows += [Flow(0, 17, BOT, 1000 + i, f"198.19.0.{i}", 32100, 20.0 + i, 20.1 + i, pkts_ab=1, pkts_ba=1)
              for i in range(10)]
    feed([det], flows=flows)
    assert len(det._series) == 3 and len(det._udp_peers) == 2


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        MismatchDetector({"min_sessions": 0})
    assert MismatchDetector({"expected": "9443:tls"}).mismatch(_conn(0, port=9443, failed="tls")) == "not tls"


def test_a_site_decides_which_protocols_are_legitimate_on_its_web_ports() -> None:
    ssh = _every(5, 3, app="ssh", failed="tls", zeek=True)
    only_openvpn = MismatchDetector({"recognised": "openvpn"})
    assert [a.evidence["carried"] for a in feed([only_openvpn], flows=ssh)] == ["not tls"]
    zeek_services = _every(5, 3, app="http", zeek=True)
    for flow in zeek_services:
        flow.extra["services"] = ["http", "spicy_openvpn_tcp"]  # conn.log service "http,spicy_openvpn_tcp"
    assert feed([MismatchDetector()], flows=zeek_services) == []


def _capture(tmp_path: Path, payload: bytes, *, snap: int | None = None,
             exchanges: list[tuple[bool, bytes]] | None = None) -> Path:
    """Three connections from BOT to C2:443 carrying ``payload`` and an answer (or ``exchanges``:
    (from_client, bytes) in order), as a pcap (cut to ``snap`` bytes a frame when given)."""
    import random
    import struct

    from iotwarden.lab.generator import PcapWriter
    from iotwarden.lab.wire import Host, TcpStream

    rng = random.Random(1)
    bot, c2 = Host("02:00:00:00:00:09", BOT), Host("02:00:00:00:00:01", C2)
    frames = []
    for i in range(3):
        conn = TcpStream(rng, bot, 40000 + i, c2, 443)
        frames += conn.session(i * 300.0, exchanges or [(True, payload), (False, payload[::-1])])
    path = tmp_path / "c.pcap"
    with path.open("wb") as fh:
        writer = PcapWriter(fh)
        writer.flush()
        for ts, frame in frames:
            micros = round(ts * 1e6)
            cut = frame[:snap] if snap else frame
            fh.write(struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(cut), len(frame)) + cut)
    return path


def _flows(path: Path) -> list[Flow]:
    engine, out = Engine(), []
    for batch in read_capture(path):
        out += engine.process(batch).flows
    return out + engine.flush().flows


def test_from_packets_non_tls_bytes_on_443_are_a_mismatch_and_a_snapped_capture_is_no_verdict(
        tmp_path: Path) -> None:
    custom = bytes([0x00, 0x30, 0x68, 0x00]) + bytes(range(60))  # a length-prefixed binary protocol
    flows = _flows(_capture(tmp_path, custom))
    assert [f.extra.get("failed_services") for f in flows] == [["tls"]] * 3
    assert [a.key for a in feed([MismatchDetector()], flows=flows)] == [f"{C2}:443"]
    snapped = _flows(_capture(tmp_path, custom, snap=54))  # Ethernet + IP + TCP headers only
    assert all(f.payload_ab and "failed_services" not in f.extra for f in snapped)
    assert feed([MismatchDetector()], flows=snapped) == []


def _openvpn_reset(opcode: int, session: bytes, body: bytes) -> bytes:
    """One OpenVPN-over-TCP packet: length prefix, opcode/key id 0 (ssl_pkt.h), session id, the rest."""
    packet = bytes([opcode << 3]) + session + body
    return len(packet).to_bytes(2, "big") + packet


CLIENT_SID, SERVER_SID = bytes.fromhex("a1b2c3d4e5f60718"), bytes.fromhex("0102030405060708")
# no tls-auth: ack array length 0, message packet id 0 / the server acks the client's packet 0 and
# names the client's session id (OpenVPN ssl.h: P_CONTROL message layout)
OPENVPN_PLAIN = [
    (True, _openvpn_reset(7, CLIENT_SID, bytes(1) + bytes(4))),
    (False, _openvpn_reset(8, SERVER_SID, b"\x01" + bytes(4) + CLIENT_SID + bytes(4))),
    (True, _openvpn_reset(5, CLIENT_SID, b"\x01" + bytes(4) + SERVER_SID)),  # P_ACK_V1
    (True, bytes(range(16, 200))),  # P_CONTROL_V1 carrying the TLS ClientHello, not parsed
]
# tls-crypt-v2: after the session id, packet id and time, a 32-byte tag, the encrypted rest and the
# client's wrapped key (WKc, with its 2-byte length) on the V3 reset
_WKC = bytes((7 * i + 3) % 256 for i in range(290))
OPENVPN_TLS_CRYPT_V2 = [
    (True, _openvpn_reset(10, CLIENT_SID, bytes(4) + bytes.fromhex("65a1b2c3") + bytes(range(37)) + _WKC
                          + (len(_WKC) + 2).to_bytes(2, "big"))),
    (False, _openvpn_reset(8, SERVER_SID, bytes(4) + bytes.fromhex("65a1b2c4") + bytes(range(60, 109)))),
]

# libprotoident's TeamViewer pattern (lpi_teamviewer.cc): 37 bytes opening with 17 24 0a 20, both ways
TEAMVIEWER = [(True, bytes.fromhex("17240a20") + bytes(33)), (False, bytes.fromhex("17240a20") + bytes(range(33)))]


def _real_ssh_banners() -> list[tuple[bool, bytes]]:
    """The first payload of each direction of the suricata-verify ssh-banner-only capture (real
    OpenSSH 7.4 server and OpenSSH for Windows client), in capture order."""
    from tests.conftest import shared
    from tests.pcaputil import iter_packets

    firsts: dict[bool, bytes] = {}
    order: list[bool] = []
    for pkt in iter_packets(shared("pcaps", "suricata_verify", "ssh-banner-only", "input.pcap")):
        if pkt.ip_proto == 6 and pkt.payload:
            from_client = pkt.dst_port == 22
            if from_client not in firsts:
                firsts[from_client] = pkt.payload
                order.append(from_client)
    assert set(order) == {True, False} and all(p.startswith(b"SSH-2.0-") for p in firsts.values())
    return [(d, firsts[d]) for d in order]


@pytest.mark.parametrize(("case", "app"), [
    ("OpenVPN over TCP, no tls-auth", "openvpn"),
    ("OpenVPN over TCP, tls-crypt-v2 (hard reset V3)", "openvpn"),
    ("SSH on 443 (sslh), real OpenSSH banners", "ssh"),
    ("TeamViewer falling back to 443", "teamviewer"),
])
def test_from_packets_openvpn_and_ssh_on_443_are_their_own_protocols_not_a_mismatch(
        tmp_path: Path, case: str, app: str) -> None:
    exchanges = {"OpenVPN over TCP, no tls-auth": OPENVPN_PLAIN,
                 "OpenVPN over TCP, tls-crypt-v2 (hard reset V3)": OPENVPN_TLS_CRYPT_V2,
                 "TeamViewer falling back to 443": TEAMVIEWER}.get(case)
    flows = _flows(_capture(tmp_path, b"", exchanges=exchanges or _real_ssh_banners()))
    assert [(f.b_port, f.app, f.extra.get("failed_services")) for f in flows] == [(443, app, None)] * 3
    assert feed([MismatchDetector()], flows=flows) == []


@pytest.mark.parametrize("answer", [
    _openvpn_reset(4, SERVER_SID, bytes(17)),  # a P_CONTROL_V1, not the server's hard reset
    bytes([0x0E]) + bytes(range(3, 90)),  # a binary protocol of its own, never a whole packet
])
def test_from_packets_bytes_that_only_open_like_openvpn_are_still_a_mismatch(tmp_path: Path, answer: bytes) -> None:
    # a client hard reset answered by bytes that are no OpenVPN server's: the probe alone names nothing
    flows = _flows(_capture(tmp_path, b"", exchanges=[OPENVPN_PLAIN[0], (False, answer)]))
    assert [(f.app, f.extra.get("failed_services")) for f in flows] == [(None, ["tls"])] * 3
    assert [a.evidence["carried"] for a in feed([MismatchDetector()], flows=flows)] == ["not tls"]


def test_one_address_on_two_vlans_checking_in_half_each_is_no_channel() -> None:
    """A trunk mirror: VLAN 10's and VLAN 20's 10.0.0.9 take turns sending non-TLS bytes to C2:443, 4 check-ins
    in all: each device's 2 are under min_sessions (3) and nothing is raised; the 4 on one VLAN raise as untagged.
    A UDP exchange with C2 by VLAN 10's device does not make VLAN 20's TCP a P2P login."""
    def check_ins(vlans: tuple[int, int]) -> list[Flow]:
        flows = _every(5, 4, failed="tls")
        for i, flow in enumerate(flows):
            flow.vlan = vlans[i % 2]
        return flows
    assert feed([MismatchDetector()], flows=check_ins((10, 20))) == []
    assert [a.src_ip for a in feed([MismatchDetector()], flows=check_ins((20, 20)))] == [BOT]
    relay = Flow(10, 17, BOT, 5000, C2, 443, 0.0, 0.1, pkts_ab=1, pkts_ba=1)
    assert [a.src_ip for a in feed([MismatchDetector()], flows=[relay, *check_ins((20, 20))])] == [BOT]
    relay.vlan = 20
    assert feed([MismatchDetector()], flows=[relay, *check_ins((20, 20))]) == []
