"""Per-flow budgets of TCP stream dissectors in bytes (engine/dispatch.py, dissect/base.py max_stream_bytes): what a
dissector reads of a flow does not depend on how the sender cut the stream into segments (issues #3/#4).

A session built whole (tests/risk/harness.tcp) and the same capture with every segment cut into 1-byte pieces
(tests/dissect/resegment.split, what GoodbyeDPI and zapret do to a ClientHello to hide its SNI) give the same
Observations through the default engine, its bounds kept: TLS hellos and chain, an HTTP request with a long header
block, SSH banners and KEXINITs, a Telnet login typed a character a packet. Each bound is driven to its limit: the
byte budget (exactly the flow's first bytes, both directions, whatever the cut), the packet safety net behind it (a
flow of 1-byte segments), and the datagram limit of a dissector that also reads UDP.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from iotwarden.dissect.base import MIN_MEAN_SEGMENT, Packet, StreamDissector, safety_net
from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.ssh import SshDissector
from iotwarden.dissect.telnet import MAX_ATTEMPTS, TelnetDissector
from iotwarden.dissect.tls import MAX_STREAM_BYTES as TLS_STREAM_BYTES
from iotwarden.dissect.tls import TlsDissector
from iotwarden.engine.core import Engine
from iotwarden.lab import proto_app, proto_tls
from iotwarden.lab.wire import Frame
from iotwarden.model import Observation
from tests.dissect import resegment
from tests.dissect.test_telnet import char_at_a_time
from tests.engineutil import engine_run
from tests.risk.harness import T0, host, tcp, write_pcap
from tests.sources.capbuild import ACK, PSH, SYN, batch_of, ethernet
from tests.sources.capbuild import tcp as tcp_frame
from tests.sources.capbuild import udp as udp_frame

C, S = "192.168.1.10", "192.168.1.20"
Key = tuple[Any, ...]


def _key(o: Observation) -> Key:
    return o.proto, o.kind, o.subject, o.src_ip, o.dst_ip, json.dumps(o.fields, sort_keys=True, default=repr)


def _observed(path: Path) -> Counter[Key]:
    obs, _ = engine_run(path)
    return Counter(_key(o) for o in obs)


def _whole_and_split(tmp_path: Path, frames: list[Frame]) -> tuple[Counter[Key], Counter[Key]]:
    """The Observations of ``frames`` as built and with every TCP payload cut into 1-byte segments."""
    whole = write_pcap(tmp_path / "whole.pcap", frames)
    split = resegment.rewrite(whole, tmp_path / "split.pcap", "split", sizes=(1, 1))
    return _observed(whole), _observed(split)


def _fields(seen: Counter[Key], kind: str) -> dict[str, Any]:
    [fields] = [json.loads(k[5]) for k in seen if k[1] == kind]
    return dict(fields)


def _tls_session(rng: random.Random, client_data: bytes = b"") -> list[Frame]:
    chain = proto_tls.certificate_chain("cam.example", "Acme", "Acme CA", T0, 7)
    return tcp(host(10), host(20), 443, [(True, proto_tls.client_hello(rng, "cam.example")),
                                         *([(True, client_data)] if client_data else []),
                                         (False, proto_tls.server_flight(rng, chain, "cam.example", 7))])


def test_tls_hellos_and_chain_in_1_byte_segments_read_as_whole(tmp_path: Path) -> None:
    whole, split = _whole_and_split(tmp_path, _tls_session(random.Random(1)))
    assert split == whole
    hello = _fields(whole, "client_hello")
    assert hello["sni"] == "cam.example" and hello["ja4"].startswith("t13d")
    certs = _fields(whole, "certificate")
    assert certs["cert_count"] == 2 and "cam.example" in json.dumps(certs["certs"])
    assert _fields(whole, "server_hello")["ja4s"]


def test_http_request_with_a_long_header_block_in_1_byte_segments_read_as_whole(tmp_path: Path) -> None:
    agent = "Mozilla/5.0 (Linux; Android 12; SmartTV) " + "AppleWebKit/537.36 (KHTML, like Gecko) " * 20
    frames = tcp(host(10), host(20), 80, [
        (True, proto_app.http_request("GET", "/cgi-bin/status", "cam.local", agent)),
        (False, proto_app.http_response(200, "OK", "lighttpd/1.4.59", b"<html>ok</html>"))])
    whole, split = _whole_and_split(tmp_path, frames)
    assert split == whole
    request = _fields(whole, "request")
    assert request["user_agent"] == agent.strip()  # 841 characters: past the 200 segments that used to end the flow
    assert _fields(whole, "response")["server"] == "lighttpd/1.4.59"


def test_ssh_banners_and_kexinits_in_1_byte_segments_read_as_whole(tmp_path: Path) -> None:
    rng = random.Random(3)
    frames = tcp(host(10), host(20), 22, [(False, b"SSH-2.0-dropbear_2020.81\r\n"),
                                          (True, b"SSH-2.0-OpenSSH_9.6\r\n"),
                                          (False, proto_app.ssh_kexinit(rng)), (True, proto_app.ssh_kexinit(rng))])
    whole, split = _whole_and_split(tmp_path, frames)
    assert split == whole
    kinds = Counter(k[1] for k in whole)
    assert kinds["banner"] == 2 and kinds["kexinit"] == 2, kinds


def test_telnet_login_typed_a_character_a_packet_in_1_byte_segments_read_as_whole(tmp_path: Path) -> None:
    exchanges = [(False, proto_app.TELNET_SERVER_OPEN), (True, proto_app.TELNET_CLIENT_OPEN),
                 (False, b"\r\nBusyBox v1.19 built-in shell\r\n\r\ncamera login: ")]
    for i in range(MAX_ATTEMPTS):
        exchanges += [*char_at_a_time(b"admin\r\n", echo=True), (False, b"Password: ")]
        exchanges += [*char_at_a_time(f"pass{i:04d}\r\n".encode(), echo=False),
                      (False, b"\r\nLogin incorrect\r\ncamera login: ")]
    whole, split = _whole_and_split(tmp_path, tcp(host(10), host(20), 23, exchanges))
    assert split == whole
    attempts = [json.loads(k[5]) for k in whole.elements() if k[1] == "login_attempt"]
    # 10 attempts take ~700 packets, past the 400 that used to end the flow
    assert sorted(a["password"] for a in attempts) == [f"pass{i:04d}" for i in range(MAX_ATTEMPTS)]


def test_tls_flow_past_its_byte_budget_hands_nothing_more(tmp_path: Path) -> None:
    """The client's hello and application data fill TLS's budget: the server's hello and chain after them are not
    read, however the stream was cut (a super-packet of 64 KiB, MSS segments, 1-byte pieces)."""
    rng = random.Random(5)
    filler = proto_tls.application_data(rng, TLS_STREAM_BYTES)
    whole = write_pcap(tmp_path / "whole.pcap", _tls_session(rng, filler))
    seen = _observed(whole)
    assert Counter(k[1] for k in seen) == {"client_hello": 1}
    coalesced = resegment.rewrite(whole, tmp_path / "coalesced.pcap", "coalesce")
    assert _observed(coalesced) == seen
    short = write_pcap(tmp_path / "short.pcap", _tls_session(random.Random(5), filler[: TLS_STREAM_BYTES // 2]))
    assert Counter(k[1] for k in _observed(short)) == {"client_hello": 1, "server_hello": 1, "certificate": 1}


class Budgeted(StreamDissector):
    """Records every byte it is fed; a budget of 100 bytes, a safety net of 40 packets, 3 datagrams."""

    name = "budgeted"
    tcp_ports: ClassVar[tuple[int, ...]] = (7000,)
    udp_ports: ClassVar[tuple[int, ...]] = (7000,)
    max_packets_per_flow: ClassVar[int | None] = 3
    max_stream_bytes: ClassVar[int | None] = 100
    max_stream_packets: ClassVar[int | None] = 40

    def __init__(self) -> None:
        self.fed: dict[bool, bytes] = {True: b"", False: b""}
        self.datagrams = 0

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        self.fed[pkt.to_server] += data
        return [pkt.observation(self.name, "fed", {"n": len(data)})]

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto == 17:
            self.datagrams += 1
        return super().dissect(pkt, state)


def _segments(sizes: list[tuple[bool, int]]) -> list[tuple[float, bytes]]:
    """A flow's handshake, then segments of ``sizes`` bytes (client or server), bytes counting up from 0."""
    frames = [(0.0, ethernet(tcp_frame(C, S, 50000, 7000, SYN, 999))),
              (0.01, ethernet(tcp_frame(S, C, 7000, 50000, SYN | ACK, 4999)))]
    seq = {True: 1000, False: 5000}
    for i, (to_server, n) in enumerate(sizes):
        data = bytes((seq[to_server] + k) % 256 for k in range(n))
        src, dst, sp, dp = (C, S, 50000, 7000) if to_server else (S, C, 7000, 50000)
        frames.append((0.1 + i / 1000, ethernet(tcp_frame(src, dst, sp, dp, PSH | ACK, seq[to_server], data))))
        seq[to_server] += n
    return frames


def _fed(sizes: list[tuple[bool, int]]) -> tuple[dict[bool, bytes], int]:
    d = Budgeted()
    engine = Engine([d])
    engine.process(batch_of(_segments(sizes)))
    engine.flush()
    return d.fed, engine.stats.protocols["budgeted"]


def test_byte_budget_hands_a_flow_s_first_bytes_both_directions_whatever_the_cut() -> None:
    whole, handed = _fed([(True, 10), (False, 40), (True, 30), (False, 70)])
    assert (len(whole[True]), len(whole[False])) == (40, 60)  # 80 bytes, then 20 of the last 70: the delivery is cut
    assert whole[True] == bytes((1000 + k) % 256 for k in range(40))
    assert handed == 4  # past max_packets_per_flow (3): that bounds datagrams only
    pieces = [(True, 1)] * 10 + [(False, 5)] * 8 + [(True, 3)] * 10 + [(False, 70)]
    assert _fed(pieces)[0] == whole
    assert _fed([(True, 200), (False, 10)])[0] == {True: whole[True] + bytes((1040 + k) % 256 for k in range(60)),
                                                   False: b""}


def test_safety_net_ends_a_flow_of_1_byte_segments_before_its_budget() -> None:
    fed, handed = _fed([(True, 1)] * 45 + [(False, 10)])
    assert handed == 40 and len(fed[True]) == 40 and fed[False] == b""


def test_datagrams_of_a_budgeted_dissector_keep_their_packet_limit() -> None:
    d = Budgeted()
    engine = Engine([d])
    engine.process(batch_of([(i / 10, ethernet(udp_frame(C, S, 40000, 7000, b"x" * 60))) for i in range(5)]))
    assert d.datagrams == 3


def test_safety_net_is_budget_over_the_mean_segment_floor() -> None:
    for d in (TlsDissector(), HttpDissector(), SshDissector(), TelnetDissector()):
        assert d.max_stream_bytes is not None
        assert d.max_stream_packets == safety_net(d.max_stream_bytes) == d.max_stream_bytes // MIN_MEAN_SEGMENT


def test_tls_safety_net_reached_by_1_byte_segments(tmp_path: Path) -> None:
    """Application data in 1-byte segments past TLS's packet safety net, still within its byte budget: the server's
    hello and chain after them are not read; in whole segments the same bytes leave them read."""
    rng = random.Random(9)
    net = TlsDissector.max_stream_packets
    assert net is not None
    filler = proto_tls.application_data(rng, net)  # net + 5 bytes: a record header more
    whole = write_pcap(tmp_path / "whole.pcap", _tls_session(random.Random(9), filler))
    assert Counter(k[1] for k in _observed(whole)) == {"client_hello": 1, "server_hello": 1, "certificate": 1}
    linktype, frames = resegment.read_frames(whole)
    hello_end = 4  # SYN, SYN-ACK, ACK, ClientHello: the data segments after it are cut into bytes
    frames = frames[:hello_end] + resegment.split(linktype, frames[hello_end:-4], sizes=(1, 1)) + frames[-4:]
    resegment.write_frames(tmp_path / "split.pcap", linktype, frames)
    t0 = time.process_time()
    assert Counter(k[1] for k in _observed(tmp_path / "split.pcap")) == {"client_hello": 1}
    assert time.process_time() - t0 < 30  # what the safety net bounds: ~32,768 segments handed
