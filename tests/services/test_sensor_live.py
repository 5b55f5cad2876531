"""``iotwarden sensor IFACE`` on a live interface: a veth pair joins the root network namespace (where the
sensor captures) to a namespace the test creates, where a Raspberry Pi-like host renews its DHCP lease,
announces its name over mDNS and fetches over HTTP from the peer end. Ctrl-C (SIGINT) stops the sensor
cleanly: it flushes the engine (the open TCP flow is published) and ends the run, and the worker stores
the devices seen.

Traffic stays on the veth pair: unicast goes only to the peer address (198.51.100.0/24, RFC 5737
documentation addresses), broadcast and link-local multicast never leave the link. The namespace and
the links are removed after the test whatever happens.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from iotwarden.bus.jetstream import NatsLink
from iotwarden.lab import proto_net
from iotwarden.lab.proto_app import http_request
from iotwarden.lab.wire import BROADCAST_MAC, Host, ip_bytes, multicast_mac, udp_frame
from iotwarden.services.worker import Worker
from iotwarden.store import Store
from iotwarden.store.schema import CaptureRow, DeviceRow, FlowRow
from tests.services.nats_server import NatsServer, nats_server
from tests.sources.test_live import inside

__all__ = ["nats_server"]
pytestmark = [pytest.mark.netns, pytest.mark.live]

PI_MAC = "dc:a6:32:12:34:56"  # an address of Raspberry Pi Trading's IEEE MA-L block DC:A6:32 (Raspberry Pi 4)
PI_NAME = "raspberrypi"  # Raspberry Pi OS's default host name
# what dhcpcd(8), Raspberry Pi OS's DHCP client, puts in a request: its vendor class
# "dhcpcd-<version>:<os>-<release>:<machine>:<platform>", its parameter request list, a maximum size
DHCPCD_VENDOR_CLASS = b"dhcpcd-8.1.2:Linux-5.10.103-v7l+:armv7l:BCM2711"
DHCPCD_PARAMETERS = bytes([1, 121, 33, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 119])
APT_USER_AGENT = "Debian APT-HTTP/1.3 (2.2.4)"  # apt's http method, as Raspberry Pi OS fetches its updates
_names = itertools.count()


@dataclass
class Link:
    netns: str  # the namespace of the device
    outside: str  # the veth end in the root namespace, where the sensor captures
    inside: str  # the veth end in the namespace (the device's interface)
    outside_ip: str
    inside_ip: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


def no_ipv6(dev: str) -> None:
    """IPv6 off on ``dev`` of the namespace of the calling thread (before it goes up)."""
    knob = Path(f"/proc/sys/net/ipv6/conf/{dev}/disable_ipv6")
    if knob.exists():  # absent: the kernel has no IPv6
        knob.write_text("1")


@pytest.fixture
def veth() -> Iterator[Link]:
    """A namespace joined to the root namespace by a veth pair, both ends up, on a /30 of 198.51.100.0/24
    that differs between concurrent test processes; removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the live sensor test needs root (network namespaces and packet sockets)")
    if shutil.which("ip") is None:
        pytest.skip("the live sensor test needs iproute2's ip command")
    tag = f"iws{os.getpid() % 100000}{next(_names)}"
    subnet = 4 * ((os.getpid() + next(_names)) % 64)
    link = Link(netns=f"{tag}n", outside=f"{tag}o", inside=f"{tag}i", outside_ip=f"198.51.100.{subnet + 1}",
                inside_ip=f"198.51.100.{subnet + 2}")
    try:
        _ip("netns", "add", link.netns)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot create a network namespace here (ip netns add): {exc}")
    try:
        _ip("link", "add", link.outside, "type", "veth", "peer", "name", link.inside, "netns", link.netns)
        no_ipv6(link.outside)  # no router solicitations or MLD reports: the link carries what the test sends
        with inside(link.netns):
            no_ipv6(link.inside)
        _ip("addr", "add", f"{link.outside_ip}/30", "dev", link.outside)
        _ip("link", "set", link.outside, "up")
        _ip("-n", link.netns, "link", "set", link.inside, "address", PI_MAC)
        _ip("-n", link.netns, "addr", "add", f"{link.inside_ip}/30", "dev", link.inside)
        _ip("-n", link.netns, "link", "set", link.inside, "up")
        _ip("-n", link.netns, "link", "set", "lo", "up")
        yield link
    finally:  # deleting the namespace deletes its veth end, and with it the pair
        subprocess.run(["ip", "link", "del", link.outside], capture_output=True, timeout=20, check=False)
        subprocess.run(["ip", "netns", "del", link.netns], capture_output=True, timeout=20, check=False)


def device_traffic(link: Link, http_port: int) -> None:
    """From inside the namespace: a DHCP request (INIT-REBOOT, RFC 2131 §4.3.2) as dhcpcd sends it after a
    reboot, an mDNS announcement of the host name (RFC 6762 §8.3), and an HTTP fetch from the peer."""
    pi = Host(PI_MAC, link.inside_ip)
    unbound = Host(PI_MAC, proto_net.UNSPECIFIED)  # a client asking for its lease has no address yet
    request = proto_net.dhcp_message(1, 0x5E1F0A2B, PI_MAC, [
        (53, bytes([proto_net.REQUEST])), (57, (1472).to_bytes(2, "big")), (60, DHCPCD_VENDOR_CLASS),
        (12, PI_NAME.encode()), (50, ip_bytes(link.inside_ip)), (55, DHCPCD_PARAMETERS)])
    announce = proto_net.dns_message(0, 0x8400, [], [
        (f"{PI_NAME}.local", proto_net.TYPE_A, proto_net.CLASS_IN | proto_net.CACHE_FLUSH, 120,
         proto_net.rdata_a(link.inside_ip))])
    frames = [udp_frame(unbound, BROADCAST_MAC, "255.255.255.255", request, sport=68, dport=67),
              udp_frame(pi, multicast_mac("224.0.0.251"), "224.0.0.251", announce, sport=5353, dport=5353, ttl=255)]
    with inside(link.netns):
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        raw.bind((link.inside, 0))
        tcp = socket.create_connection((link.outside_ip, http_port), timeout=5)
    with raw:
        for frame in frames:
            raw.send(frame)
    with tcp:  # a real connection: the kernels on both ends do the handshake
        tcp.sendall(http_request("GET", "/debian/dists/bullseye/InRelease", link.outside_ip, APT_USER_AGENT))
        assert tcp.recv(4096).startswith(b"HTTP/1.1 304")


def serve_once(sock: socket.socket) -> None:
    """Answer one HTTP request with 304 Not Modified (the mirror's copy is the one apt has)."""
    conn, _ = sock.accept()
    with conn:
        conn.settimeout(5)
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 304 Not Modified\r\nServer: nginx\r\nConnection: close\r\n\r\n")


class Stderr:
    """The lines a process writes on stderr, collected by a thread as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"no {text!r} on stderr: {self.lines}"
            time.sleep(0.05)

    def text(self) -> str:
        self._thread.join(10)
        return "\n".join(self.lines)


def test_a_live_sensor_stopped_with_sigint_publishes_what_it_saw(veth: Link, nats_server: NatsServer,
                                                                 tmp_path: Path) -> None:
    site = "branch"
    with NatsLink(nats_server.url, name="test worker").connect() as link, \
            Store(f"sqlite:///{tmp_path / 'w.db'}") as store:
        worker = Worker(link, store, site=site)
        consuming = threading.Thread(target=worker.run, daemon=True)
        consuming.start()
        server = socket.create_server((veth.outside_ip, 0))
        http_port = int(server.getsockname()[1])
        answering = threading.Thread(target=serve_once, args=(server,), daemon=True)
        answering.start()
        sensor = subprocess.Popen([sys.executable, "-m", "iotwarden.cli.main", "sensor", veth.outside,
                                   "--site", site, "--nats", nats_server.url],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        try:
            stderr = Stderr(sensor)
            stderr.wait_for(f"capturing on {veth.outside}")  # the packet socket is open
            device_traffic(veth, http_port)
            answering.join(10)
            time.sleep(0.2)  # the last packets reach the socket; the sensor's batch is still open
            sensor.send_signal(signal.SIGINT)
            code = sensor.wait(20)
            deadline = time.monotonic() + 20
            while worker.stats.runs_ended < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            sensor.kill()
            server.close()
            worker.stop()
            consuming.join(20)
        err = stderr.text()
        assert code == 0, err
        assert "stopping (Ctrl-C again to interrupt)" in err and "Traceback" not in err and "error:" not in err
        assert f"{veth.outside}: stopped, " in err  # the run's line: it ended cleanly
        assert worker.stats.runs_ended == 1 and worker.stats.malformed == 0 and worker.stats.gaps == 0

        with store.session() as session:
            devices = {row.mac: row for row in session.scalars(select(DeviceRow))}
            flows = [(r.a_ip, r.b_ip, r.b_port) for r in session.scalars(select(FlowRow))]
            [run] = session.scalars(select(CaptureRow).where(CaptureRow.format == "nats")).all()
            assert run.status == "complete" and run.stats["source"] == veth.outside
            assert run.stats["status"] == "stopped" and run.packets >= 8  # DHCP, mDNS, ARP, TCP connection
        peer_mac = Path(f"/sys/class/net/{veth.outside}/address").read_text().strip()
        assert set(devices) == {PI_MAC, peer_mac}  # exactly the two ends of the link
        pi = devices[PI_MAC]
        assert veth.inside_ip in pi.ips and PI_NAME in pi.hostnames
        assert {"dhcp", "mdns", "http"} <= set(pi.protocols)
        assert pi.vendor == "Raspberry Pi" and pi.os == "Linux"
        assert veth.outside_ip in devices[peer_mac].ips
        # the UDP flows were still open in the engine's flow table at SIGINT: only the stop's flush sends them
        assert sorted(flows) == sorted([(veth.inside_ip, veth.outside_ip, http_port),
                                        (veth.inside_ip, "224.0.0.251", 5353),
                                        (proto_net.UNSPECIFIED, "255.255.255.255", 67)])
